"""Environment profiles: the table's environment as a real hypervisor's callers drive it.

A profile is data next to the table (``[[profiles]]`` in ``common.toml``). It
restricts the environment and never the machine: rows are untouched. Each
of its rules, with the reason next to it, does one of three things:

- ``remove = true``: the callers never issue this event (its rows go too);
- ``when = "..."``: the event is offered only when this also holds (the
  event's own ``when`` is kept: the two are conjoined);
- ``init = [...]``: a variable starts only with these of its initial values.

A profile marked ``exhaustive = true`` promises that its environment fires
every row of the events it keeps (``adversarial`` does: it only removes the
whole-device events, which it issues one queue at a time); in any other a
row may be unreachable without being dead, and the dead-row checks report
such rows instead of failing (``Spec.restricted``).

The loader applies a profile (``load_spec(name, env=...)``), so the explorer,
the proofs, the symmetry reductions, the SPIN export, the oracle's test
generation and the drawings all see the restricted environment without
knowing that profiles exist. ``adversarial`` is the default; in a table
that declares no profiles it restricts nothing, and ``unrestricted`` always
names the table exactly as written.

>>> from .load import load_spec
>>> spec = load_spec("resolved", env="qemu")
>>> spec.env, "set_host_notifier" in [e.name for e in spec.events]
('qemu', False)
>>> from .text import to_text
>>> to_text(spec.event("vm_stop").when)
'running and (not vhost_on or status == driver_ok)'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ExpressionError, SchemaError, SpecError
from .expr import BoolOp, Expr, Type
from .parse import parse_expr
from .resolve import Context, resolve_bool
from .schema import Event, Liveness, Property, PropertyKind, Source, Spec, Variable

ADVERSARIAL = "adversarial"
"""The default profile's name (declared in ``common.toml``)."""

UNRESTRICTED = "unrestricted"
"""Built in: the table exactly as written, every event, every initial value."""

UNRESTRICTED_DOC = "Every event of the table, with every initial value: no restriction."

_PROFILE_KEYS = {"name", "doc", "exhaustive", "events", "variables"}
_RULE_SECTION = "profiles.events"
_INIT_SECTION = "profiles.variables"


class ProfileError(SpecError):
    """An environment profile that names nothing, or a profile that does not exist."""


@dataclass(frozen=True, slots=True)
class EventRule:
    """One event restricted: removed, or offered only when ``when`` also holds."""

    event: str
    remove: bool
    when: Expr | None
    why: str
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class InitRule:
    """One variable's initial values narrowed to ``init``."""

    variable: str
    init: tuple
    why: str
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Profile:
    """An environment: the callers of a real design, as restrictions of the table's."""

    name: str
    doc: str
    events: tuple[EventRule, ...] = ()
    variables: tuple[InitRule, ...] = ()
    exhaustive: bool = False
    source: Source | None = field(default=None, compare=False)

    @property
    def removed(self) -> tuple[str, ...]:
        return tuple(rule.event for rule in self.events if rule.remove)


# -- reading [[profiles]] --------------------------------------------------------


def read_profiles(
    entries: Iterable[tuple[dict, Any]],
    variables: Mapping[str, Variable],
    events: Mapping[str, Event],
    literals: Mapping[str, Type],
) -> tuple[Profile, ...]:
    """The ``[[profiles]]`` entries as records, every rule checked against the table.

    ``entries`` yields ``(entry, at)`` as the loader does; ``at.error(kind,
    message, key)`` locates a problem, and ``type(at)(at.doc, section, n)``
    locates the n-th nested ``[[profiles.events]]`` (or ``.variables``) block.
    """
    profiles: dict[str, Profile] = {}
    counts = {_RULE_SECTION: 0, _INIT_SECTION: 0}
    for entry, at in entries:
        if not isinstance(entry, dict):
            raise at.error(SchemaError, "expected a [[profiles]] table")
        unknown = set(entry) - _PROFILE_KEYS
        if unknown:
            raise at.error(SchemaError, f"unknown field; expected one of {sorted(_PROFILE_KEYS)}", sorted(unknown)[0])
        name = _string(entry, "name", at)
        if name in profiles:
            raise at.error(ProfileError, f"profile {name!r} is declared twice", "name")
        rules = []
        for raw in _list(entry, "events", at):
            sub = type(at)(at.doc, _RULE_SECTION, counts[_RULE_SECTION])
            counts[_RULE_SECTION] += 1
            rules.append(_event_rule(raw, sub, variables, events, literals))
        inits = []
        for raw in _list(entry, "variables", at):
            sub = type(at)(at.doc, _INIT_SECTION, counts[_INIT_SECTION])
            counts[_INIT_SECTION] += 1
            inits.append(_init_rule(raw, sub, variables))
        _no_duplicates([r.event for r in rules], "event", at)
        _no_duplicates([r.variable for r in inits], "variable", at)
        exhaustive = entry.get("exhaustive", False)
        if not isinstance(exhaustive, bool):
            raise at.error(SchemaError, f"expected true or false, found {exhaustive!r}", "exhaustive")
        profiles[name] = Profile(
            name, _string(entry, "doc", at), tuple(rules), tuple(inits), exhaustive, at.source(entry)
        )
    return tuple(profiles.values())


def _string(entry: dict, key: str, at) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise at.error(SchemaError, f"expected a non-empty string, found {value!r}", key)
    return value


def _list(entry: dict, key: str, at) -> list:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise at.error(SchemaError, f"expected [[profiles.{key}]] entries", key)
    return value


def _no_duplicates(names: list[str], what: str, at) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise at.error(ProfileError, f"the profile restricts {what} {name!r} twice; say it in one rule", "name")
        seen.add(name)


def _event_rule(raw: dict, at, variables, events, literals) -> EventRule:
    allowed = {"event", "remove", "when", "why"}
    for key in raw:
        if key not in allowed:
            raise at.error(SchemaError, f"unknown field; expected one of {sorted(allowed)}", key)
    name = _string(raw, "event", at)
    if name not in events:
        raise at.error(ProfileError, f"unknown event {name!r}; expected one of {sorted(events)}", "event")
    remove = raw.get("remove", False)
    if not isinstance(remove, bool):
        raise at.error(SchemaError, f"expected true or false, found {remove!r}", "remove")
    if remove == ("when" in raw):
        raise at.error(SchemaError, "a rule removes the event (remove = true) or gives a when: one of the two", "event")
    when = None
    if not remove:
        params = {p.name: p.type for p in events[name].params}
        try:
            when = resolve_bool(parse_expr(_string(raw, "when", at)), Context(variables, literals, params))
        except ExpressionError as exc:
            raise at.error(ExpressionError, exc.message, "when") from None
    return EventRule(name, remove, when, _string(raw, "why", at), at.source(raw))


def _init_rule(raw: dict, at, variables) -> InitRule:
    allowed = {"variable", "init", "why"}
    for key in raw:
        if key not in allowed:
            raise at.error(SchemaError, f"unknown field; expected one of {sorted(allowed)}", key)
    name = _string(raw, "variable", at)
    var = variables.get(name)
    if var is None or name == "state":
        known = sorted(set(variables) - {"state"})
        raise at.error(ProfileError, f"unknown variable {name!r}; expected one of {known}", "variable")
    values = raw.get("init")
    values = tuple(values) if isinstance(values, list) else (values,)
    kept = tuple(v for v in var.init if any(v == w and type(v) is type(w) for w in values))
    if not values or len(kept) != len(values):
        raise at.error(
            ProfileError,
            f"init must be a non-empty list of {name}'s initial values {list(var.init)}, found {raw.get('init')!r}",
            "init",
        )
    return InitRule(name, kept, _string(raw, "why", at), at.source(raw))


# -- applying a profile -------------------------------------------------------------


def profile(spec: Spec, name: str) -> Profile:
    """The profile ``name`` of ``spec``: a declared one, ``unrestricted``
    (the table as written), or ``adversarial`` when the table declares none."""
    for found in spec.profiles:
        if found.name == name:
            return found
    if name == UNRESTRICTED or (name == ADVERSARIAL and not spec.profiles):
        return Profile(name, UNRESTRICTED_DOC, exhaustive=True)
    known = sorted({UNRESTRICTED, *(p.name for p in spec.profiles)})
    raise ProfileError(
        f"unknown environment {name!r}; this table declares {', '.join(known)}",
        file=spec.files[-1] if spec.files else None,  # the table that does not declare it
        field="--env",
    )


def apply_profile(spec: Spec, name: str) -> Spec:
    """``spec`` in the environment ``name``: events removed or restricted,
    initial values narrowed. The rows of a removed event go with it; a step
    or history property keeps only the events that remain (none: it is then
    vacuous, and :func:`inapplicable` says so)."""
    env = profile(spec, name)
    removed = set(env.removed)
    extra = {rule.event: rule.when for rule in env.events if rule.when is not None}
    events = tuple(
        dataclasses.replace(e, when=_conjoin(e.when, extra.get(e.name))) for e in spec.events if e.name not in removed
    )
    narrowed = {rule.variable: rule.init for rule in env.variables}
    variables = tuple(
        dataclasses.replace(v, init=narrowed[v.name]) if v.name in narrowed else v for v in spec.variables
    )
    rows = tuple(t for t in spec.transitions if t.event not in removed)
    properties = tuple(_without(p, removed) for p in spec.properties)
    applied = dataclasses.replace(
        spec,
        events=events,
        variables=variables,
        transitions=rows,
        properties=properties,
        env=env.name,
        unissued_events=(*spec.unissued_events, *(e for e in spec.events if e.name in removed)),
        unissued_rows=(*spec.unissued_rows, *(t for t in spec.transitions if t.event in removed)),
    )
    return dataclasses.replace(applied, restricted=not env.exhaustive)


def _conjoin(first: Expr | None, second: Expr | None) -> Expr | None:
    if first is None or second is None:
        return first or second
    return BoolOp("and", first, second)


def _without(prop: Property, removed: set[str]) -> Property:
    if prop.kind is PropertyKind.INVARIANT or not removed & set(prop.events):
        return prop
    return dataclasses.replace(prop, events=tuple(e for e in prop.events if e not in removed))


def vacuous(spec: Spec, prop: Property | Liveness) -> str | None:
    """Why ``prop`` is vacuous in ``spec``'s environment, or None: it is about
    steps (a step or history property, a ``leads_to`` whose premise is a
    step) and the environment issues none of its events. Nothing can break
    it, so nothing was checked: a vacuous verdict is not a pass (exit 3).

    >>> from .load import load_spec
    >>> spec = load_spec("resolved", env="rust_vmm")
    >>> vacuous(spec, next(p for p in spec.liveness if p.name == "fast_path_after_release"))
    'its premise is a step of set_host_notifier or vhost_stop, which the rust_vmm environment does not issue'
    """
    if isinstance(prop, Liveness):
        issued = {e.name for e in spec.events}
        if prop.events and not issued & set(prop.events):
            events = " or ".join(prop.events)
            return f"its premise is a step of {events}, which the {spec.env} environment does not issue"
        return None
    if prop.kind is not PropertyKind.INVARIANT and not prop.events:
        return f"the {spec.env} environment issues none of its events"
    return None


def inapplicable(spec: Spec, prop: Property) -> str | None:
    """Why ``prop`` says nothing in ``spec``'s environment, or None.

    A vacuous property (:func:`vacuous`); an invariant that names the events
    it guards (``events``) when the environment issues none of them.
    """
    if (why := vacuous(spec, prop)) is not None:
        return why
    issued = {e.name for e in spec.events}
    if prop.kind is PropertyKind.INVARIANT and prop.events and not issued & set(prop.events):
        return f"it guards {', '.join(prop.events)}, which the {spec.env} environment never issues"
    return None


def not_issued_note(spec: Spec) -> str | None:
    """What ``spec``'s environment leaves out, as one sentence every verdict
    carries; None when it issues every event of the table.

    >>> from .load import load_spec
    >>> not_issued_note(load_spec("resolved"))
    'the adversarial environment does not issue vhost_start, vhost_stop: their 9 rows never run'
    """
    if not spec.unissued_events:
        return None
    names = ", ".join(e.name for e in spec.unissued_events)
    rows, one = len(spec.unissued_rows), len(spec.unissued_events) == 1
    whose = "its" if one else "their"
    runs = (
        f"{whose} {rows} row{'s' if rows != 1 else ''} never run"
        if rows
        else f"{'it has' if one else 'they have'} no rows"
    )
    return f"the {spec.env} environment does not issue {names}: {runs}"


def unissued_premise_events(spec: Spec, prop: Liveness) -> tuple[str, ...]:
    """The events of a step premise that the environment does not issue,
    when it issues some others (the property is then judged on those)."""
    issued = {e.name for e in spec.events}
    missing = tuple(e for e in prop.events if e not in issued)
    return missing if len(missing) < len(prop.events) else ()
