"""The table's semantics, the exhaustive explorer, the reference implementation and the oracle."""
