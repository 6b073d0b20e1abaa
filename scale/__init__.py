"""Queue-symmetry reductions, several devices on one host, the SPIN export (see scale/README.md)."""
