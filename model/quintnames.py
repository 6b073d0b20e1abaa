"""The table's names in Quint (and in the ITF traces Quint writes): a
reversible renaming.

A table may name a variable, an event, a parameter or a value with a word
Quint keeps for itself (``assign`` is a builtin operator, ``all`` a
keyword). Such a name, and any name that already ends with ``_``, gets one
``_`` appended; every other name is kept. The renaming is one-to-one, and
:func:`from_quint` undoes it: a name ending with ``_`` lost its last ``_``
only if what is left is reserved or ends with ``_`` itself. A name the
export makes up for itself ends with ``_`` after a stem that is neither
(``Queues_``, ``post_status_``), so it is never the image of a table's name.

>>> to_quint("assign"), to_quint("queue"), to_quint("x_")
('assign_', 'queue', 'x__')
>>> from_quint("assign_"), from_quint("queue"), from_quint("x__")
('assign', 'queue', 'x_')
>>> all(from_quint(to_quint(n)) == n for n in ("all", "all_", "all__", "none", "q"))
True
>>> is_made_up("Queues_"), is_made_up("assign_")
(True, False)
"""

from __future__ import annotations

#: Quint's keywords and builtin operators (names/base.js and the lexer of
#: @informalsystems/quint 0.33), and the literals.
_WORDS = """
action all and any as assume bool const def else export false from if iff implies import int match module
nondet or pure run str temporal true type val var
not exists forall in union contains fold intersect exclude subseteq map applyTo filter powerset flatten
allLists allListsUpTo getOnlyElement chooseSome oneOf isFinite size get put keys mapBy setToMap setOfMaps
set setBy fields with tuples append concat head tail length nth indices replaceAt slice select foldl foldr
to always eventually next then expect reps fail assert orKeep mustChange enabled weakFair strongFair
leadsTo Bool Int Nat Set Map List Tup Rec range igt ilt igte ilte iadd isub iuminus imul idiv imod ipow
actionAll actionAny field fieldNames item assign of eq neq ite cross difference matchVariant variant
init step
"""
RESERVED = frozenset(_WORDS.split())


def to_quint(name: str) -> str:
    """The table's ``name`` as Quint may read it."""
    return name + "_" if name in RESERVED or name.endswith("_") else name


def from_quint(name: str) -> str:
    """The table's name behind a name :func:`to_quint` gave (a name it would
    keep is returned as it is)."""
    if name.endswith("_"):
        stem = name[:-1]
        if stem in RESERVED or stem.endswith("_"):
            return stem
    return name


def is_made_up(name: str) -> bool:
    """True for a name no table's name becomes: the export's own."""
    return to_quint(from_quint(name)) != name
