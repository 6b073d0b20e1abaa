"""The JSON Schemas of the command line's ``--json`` outputs (README.md)."""
