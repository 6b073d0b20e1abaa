"""The reference implementation, its simulated host and its mutants (see reference/README.md)."""
