"""The command line, one module per command group (see cli/README.md)."""
