"""A small, deterministic writer of Graphviz DOT text.

The drawings are compared byte for byte with the checked-in ones, so the
text must depend on nothing but the table: statements come out in the order
they were added, attributes sorted by name, strings quoted one way. (The
``graphviz`` package would do too; owning the forty lines keeps the output
independent of its version.)

>>> g = Graph("demo")
>>> g.node("a", label="one\\ntwo")
>>> g.edge("a", "b", label='say "hi"')
>>> print(g.text())
digraph "demo" {
  "a" [label="one\\ntwo"];
  "a" -> "b" [label="say \\"hi\\""];
}
<BLANKLINE>
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Html:
    """An HTML-like label, written between ``<`` and ``>`` unquoted."""

    markup: str


def html_escape(text: str) -> str:
    """Text for inside an :class:`Html` label."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def quote(value: object) -> str:
    """A DOT value: a quoted string (newlines become ``\\n``) or HTML markup."""
    if isinstance(value, Html):
        return f"<{value.markup}>"
    if isinstance(value, bool):
        value = str(value).lower()
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    # a line that ends in "\l" is left-justified; keep that escape intact
    text = text.replace("\\\\l", "\\l").replace("\n", "\\n")
    return f'"{text}"'


def _attrs(attrs: dict[str, object]) -> str:
    if not attrs:
        return ""
    return " [" + ", ".join(f"{k}={quote(v)}" for k, v in sorted(attrs.items())) + "]"


@dataclass
class Graph:
    """A directed graph under construction; :meth:`text` writes it."""

    name: str
    attrs: dict[str, object] = field(default_factory=dict)
    node_defaults: dict[str, object] = field(default_factory=dict)
    edge_defaults: dict[str, object] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    indent: int = 1

    def node(self, name: str, **attrs: object) -> None:
        self.lines.append("  " * self.indent + quote(name) + _attrs(attrs) + ";")

    def edge(self, tail: str, head: str, **attrs: object) -> None:
        self.lines.append("  " * self.indent + f"{quote(tail)} -> {quote(head)}" + _attrs(attrs) + ";")

    def raw(self, statement: str) -> None:
        """A statement written as given, e.g. ``{rank=same; "a"; "b"}``."""
        self.lines.append("  " * self.indent + statement)

    def subgraph(self, name: str, **attrs: object) -> Graph:
        """A subgraph (a cluster when ``name`` starts with ``cluster``); add
        to it, then :meth:`close` it into this graph."""
        return Graph(name, dict(attrs), indent=self.indent + 1)

    def close(self, sub: Graph) -> None:
        pad = "  " * self.indent
        self.lines.append(f"{pad}subgraph {quote(sub.name)} {{")
        self.lines.extend(sub._header())
        self.lines.extend(sub.lines)
        self.lines.append(pad + "}")

    def _header(self) -> list[str]:
        pad = "  " * self.indent
        out = [f"{pad}{k}={quote(v)};" for k, v in sorted(self.attrs.items())]
        if self.node_defaults:
            out.append(pad + "node" + _attrs(self.node_defaults) + ";")
        if self.edge_defaults:
            out.append(pad + "edge" + _attrs(self.edge_defaults) + ";")
        return out

    def text(self) -> str:
        return "\n".join([f"digraph {quote(self.name)} {{", *self._header(), *self.lines, "}"]) + "\n"
