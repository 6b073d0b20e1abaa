"""Errors for people: each names the file, the line and the field at fault.

The command line turns any :class:`SpecError` into one readable line and
exit code 2; nothing here is ever shown as a traceback.
"""

from __future__ import annotations


class SpecError(Exception):
    """Bad input: a table, a trace or an argument that cannot be used.

    >>> str(SpecError("expected a list", file="spec/x.toml", line=3, field="from"))
    'spec/x.toml:3: from: expected a list'
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.field = field

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class TomlSyntaxError(SpecError):
    """The file is not valid TOML."""


class SchemaError(SpecError):
    """A table entry is missing, misspelt, of the wrong kind or names nothing."""


class ExpressionError(SpecError):
    """A guard, effect or property does not parse or does not type-check."""


class TableError(SpecError):
    """The table is well formed but cannot define a machine (e.g. overlapping guards)."""
