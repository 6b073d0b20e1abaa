"""Drawings of the table and of explorations (Graphviz DOT, SVG, PNG, ASCII)."""
