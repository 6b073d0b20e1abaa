"""The oracle: trace checking and model-driven testing of other implementations (see oracle/README.md)."""
