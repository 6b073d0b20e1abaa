"""The table as data, its loader and validator, and the expression language."""
