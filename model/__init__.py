"""The table's semantics and the explorer (see model/README.md)."""
