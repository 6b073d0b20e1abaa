"""Read a variant's TOML into a validated :class:`Spec`.

:mod:`.compose` gathers the entries of the table's files (its includes, the
variant it extends); this module validates them as a whole before anything
runs: unknown fields, names that name nothing, expressions that do not parse
or type-check, a variable written twice, and two rows that can fire together.
Each problem raises a :class:`SpecError` that names the file, the line and
the field.

>>> spec = load_spec("resolved")
>>> spec.name, [t.letter for t in spec.transitions if t.letter][:3]
('resolved', ['b', 'g', 'g'])
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .compose import SPEC_DIR, VARIANTS, At, Composed, compose, spec_path
from .errors import ExpressionError, SchemaError, SpecError, TableError
from .expr import BOOL, QUEUE, Expr, Kind, Type, Var, walk
from .overlap import first_overlap
from .parse import KEYWORDS, parse_expr
from .profile import ADVERSARIAL, apply_profile, read_profiles
from .resolve import Context, resolve_bool, resolve_effect
from .schema import (
    LIVENESS_KINDS,
    Effect,
    Event,
    Fairness,
    Liveness,
    Parameter,
    Property,
    PropertyKind,
    Scope,
    Spec,
    Transition,
    Variable,
)
from .slots import read_slots

__all__ = ["SPEC_DIR", "VARIANTS", "load_spec", "spec_path"]

STATE_TYPE = "notifier_state"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_At = At  # where an entry was written (compose.At)


# -- small typed readers ----------------------------------------------------


def _keys(entry: Any, at: _At, required: set[str], optional: set[str]) -> dict:
    if not isinstance(entry, dict):
        raise at.error(SchemaError, f"expected a table, found {type(entry).__name__}")
    for key in entry:
        if key not in required | optional:
            raise at.error(SchemaError, f"unknown field; expected one of {sorted(required | optional)}", key)
    for key in sorted(required):
        if key not in entry:
            error = at.error(SchemaError, f"missing required field {key!r}", "name" if "name" in entry else None)
            error.field = at.section
            raise error
    return entry


def _text(entry: dict, key: str, at: _At, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise at.error(SchemaError, f"expected a non-empty string, found {value!r}", key)
    return value


def _ident(entry: dict, key: str, at: _At) -> str:
    value = _text(entry, key, at)
    if not _IDENT.match(value) or value in KEYWORDS:
        raise at.error(SchemaError, f"expected a name (letters, digits, _), found {value!r}", key)
    return value


def _names(entry: dict, key: str, at: _At, default: list | None = None) -> tuple[str, ...]:
    value = entry.get(key, default)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise at.error(SchemaError, f"expected a name or a list of names, found {value!r}", key)
    return tuple(value)


def _located(exc: ExpressionError, at: _At, key: str) -> SpecError:
    return at.error(ExpressionError, exc.message, key)


def _effects(entry: dict, at: _At, ctx: Context, *, per_queue: bool) -> tuple[Effect, ...]:
    """``effects = ["x := ...", ...]``: a list, each variable written once,
    never ``state`` (a row says where the queue goes in ``to``)."""
    texts = entry.get("effects", [])
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise at.error(SchemaError, f'expected a list of effects, e.g. ["our_fd := true"], found {texts!r}', "effects")
    effects: dict[str, tuple[Effect, str]] = {}
    for text in texts:
        try:
            effect = resolve_effect(text, ctx, per_queue=per_queue)
        except ExpressionError as exc:
            raise _located(exc, at, "effects") from None
        name = effect.target.name
        if name == "state":
            raise at.error(SchemaError, "write the new state in 'to', not as an effect", "effects")
        if name in effects:
            where = "row" if per_queue else "event"
            raise at.error(
                SchemaError, f"{name} is written twice in one {where}: {effects[name][1]!r} and {text!r}", "effects"
            )
        effects[name] = (effect, text)
    return tuple(effect for effect, _ in effects.values())


# -- the loader ---------------------------------------------------------------


class _Loader:
    """Validates the entries :func:`.compose.compose` gathered, section by
    section, into the records of :mod:`.schema`."""

    def __init__(self, path: Path) -> None:
        self.composed: Composed = compose(path)
        self.main = self.composed.main
        self.docs = self.composed.docs

    def entries(self, section: str):
        """(entry, where) for every entry of an array of tables, in table order."""
        return self.composed.entries(section)

    def table(self, section: str) -> list[tuple[dict, _At]]:
        found = []
        for value, at in self.composed.table(section):
            if not isinstance(value, dict):
                raise at.error(SchemaError, f"expected a [{section}] table")
            found.append((value, at))
        return found

    # -- sections -------------------------------------------------------------
    def load(self) -> Spec:
        name, summary = self.variant()
        machines = self.table("machine")
        if len(machines) != 1:
            raise _At(self.main, None).error(
                SchemaError, f"expected exactly one [machine] table, found {len(machines)}"
            )
        states, start = self.machine(*machines[0])
        types = self.types(states)
        variables = self.variables(types, start)
        literals = {value: t for t in types.values() if t.kind is Kind.ENUM for value in t.values}
        events = self.events(types, variables, literals)
        transitions = self.transitions(states, events, variables, literals)
        self.liveness: list[Liveness] = []
        properties = self.properties(events, variables, literals)
        profiles = read_profiles(self.entries("profiles"), variables, events, literals)
        spec = Spec(
            name=name,
            summary=summary,
            files=tuple(doc.path for doc in self.docs),
            states=states,
            start=start,
            types=tuple(types.values()),
            variables=tuple(variables.values()),
            events=tuple(events.values()),
            transitions=transitions,
            properties=properties,
            liveness=tuple(self.liveness),
            base=self.composed.base.main.path if self.composed.base else None,
            profiles=profiles,
            slots=read_slots(self.table("slots"), variables, events),
        )
        _check_determinism(spec)
        return spec

    def variant(self) -> tuple[str, str]:
        """The table's name and summary; a variant that extends another must
        name itself anew, and may leave its summary to say what it extends."""
        at = _At(self.main, "variant")
        entry = self.main.data.get("variant")
        base = self.composed.base
        if entry is None:
            raise _At(self.main, None).error(SchemaError, "missing [variant] table: give its name and summary")
        if base is None:
            _keys(entry, at, {"name", "summary"}, set())
            return _ident(entry, "name", at), _text(entry, "summary", at)
        _keys(entry, at, {"name"}, {"summary"})
        name = _ident(entry, "name", at)
        base_variant = base.main.data.get("variant")
        base_name = base_variant.get("name") if isinstance(base_variant, dict) else None
        shipped = name in VARIANTS and Path(self.main.path).resolve() != spec_path(name).resolve()
        if name == base_name or shipped:
            raise at.error(
                SchemaError,
                f"a variant that extends {base_name!r} needs a name of its own, "
                f"not {name!r} (nor one of the shipped {list(VARIANTS)})",
                "name",
            )
        default = f"{base_name}, changed by {Path(self.main.path).name}"
        return name, _text(entry, "summary", at, default=default)

    def machine(self, entry: dict, at: _At) -> tuple[Type, str]:
        _keys(entry, at, {"states", "start"}, set())
        names = _names(entry, "states", at)
        for name in names:
            if not _IDENT.match(name):
                raise at.error(SchemaError, f"a state must be a name, found {name!r}", "states")
        if len(set(names)) != len(names) or not names:
            raise at.error(SchemaError, "expected distinct state names", "states")
        start = _text(entry, "start", at)
        if start not in names:
            raise at.error(SchemaError, f"unknown start state {start!r}; expected one of {list(names)}", "start")
        return Type(Kind.ENUM, STATE_TYPE, names), start

    def types(self, states: Type) -> dict[str, Type]:
        types: dict[str, Type] = {"bool": BOOL, STATE_TYPE: states}
        seen = {value: STATE_TYPE for value in states.values}
        for entry, at in self.table("types"):
            for name, values in entry.items():
                if not _IDENT.match(name) or name in types or name == "queue":
                    raise at.error(SchemaError, "expected a new type name", name)
                if (
                    not isinstance(values, list)
                    or not values
                    or not all(isinstance(v, str) and _IDENT.match(v) for v in values)
                ):
                    raise at.error(SchemaError, "expected a non-empty list of value names", name)
                for value in values:
                    if value in seen or value in KEYWORDS:
                        raise at.error(
                            SchemaError,
                            f"value {value!r} is already a value of {seen.get(value, 'the language')}",
                            name,
                        )
                    seen[value] = name
                types[name] = Type(Kind.ENUM, name, tuple(values))
        return types

    def variables(self, types: dict[str, Type], start: str) -> dict[str, Variable]:
        literals = {v for t in types.values() for v in t.values}
        state = Variable(
            "state",
            types[STATE_TYPE],
            Scope.QUEUE,
            (start,),
            "The queue's notifier state (transition a: it starts here).",
        )
        variables: dict[str, Variable] = {"state": state}
        for entry, at in self.entries("variables"):
            _keys(entry, at, {"name", "scope", "type", "init", "doc"}, {"host"})
            name = _ident(entry, "name", at)
            if name in variables or name in literals:
                raise at.error(SchemaError, f"{name!r} is already declared", "name")
            scope_name = _text(entry, "scope", at)
            if scope_name not in ("device", "queue"):
                raise at.error(SchemaError, f"expected 'device' or 'queue', found {scope_name!r}", "scope")
            type_name = _text(entry, "type", at)
            if type_name not in types:
                raise at.error(SchemaError, f"unknown type {type_name!r}; expected one of {sorted(types)}", "type")
            vtype = types[type_name]
            init = entry["init"]
            if init == "any":
                values = vtype.values
            else:
                values = tuple(init) if isinstance(init, list) else (init,)
                if not values:
                    raise at.error(SchemaError, "expected at least one initial value, or 'any'", "init")
                for value in values:
                    if value not in vtype.values or type(value) is not type(vtype.values[0]):
                        raise at.error(
                            SchemaError,
                            f"initial value {value!r} is not a {type_name}; "
                            f"expected one of {list(vtype.values)} or 'any'",
                            "init",
                        )
            host = entry.get("host", False)
            if not isinstance(host, bool):
                raise at.error(SchemaError, f"expected true or false, found {host!r}", "host")
            variables[name] = Variable(
                name, vtype, Scope(scope_name), values, _text(entry, "doc", at), host, at.source()
            )
        return variables

    def events(self, types, variables, literals) -> dict[str, Event]:
        events: dict[str, Event] = {}
        for entry, at in self.entries("events"):
            _keys(entry, at, {"name", "doc"}, {"params", "target", "when", "effects", "fairness"})
            name = _ident(entry, "name", at)
            if name in events:
                raise at.error(SchemaError, f"event {name!r} is declared twice", "name")
            raw = entry.get("params", {})
            if not isinstance(raw, dict):
                raise at.error(SchemaError, "expected a table of parameter = type", "params")
            params = []
            for pname, tname in raw.items():
                if not _IDENT.match(pname) or pname in variables or pname in literals or pname in KEYWORDS:
                    raise at.error(SchemaError, f"parameter {pname!r} must be a new name", "params")
                ptype = QUEUE if tname == "queue" else types.get(tname) if isinstance(tname, str) else None
                if ptype is None:
                    raise at.error(
                        SchemaError,
                        f"parameter {pname!r} has unknown type {tname!r}; expected queue or one of {sorted(types)}",
                        "params",
                    )
                params.append(Parameter(pname, ptype))
            queue_params = [p.name for p in params if p.type == QUEUE]
            target = entry.get("target")
            if target is not None and target not in queue_params:
                raise at.error(SchemaError, f"target must name a queue parameter, one of {queue_params}", "target")
            if (queue_params and target != queue_params[0]) or len(queue_params) > 1:
                raise at.error(SchemaError, "an event may have one queue parameter, named as its target", "target")
            ptypes = {p.name: p.type for p in params}
            ctx = Context(variables, literals, ptypes)
            when = None
            if "when" in entry:
                try:
                    when = resolve_bool(parse_expr(entry["when"]), ctx)
                except ExpressionError as exc:
                    raise _located(exc, at, "when") from None
            effects = _effects(entry, at, ctx, per_queue=False)
            events[name] = Event(
                name, tuple(params), target, when, effects, _text(entry, "doc", at), at.source(), _fairness(entry, at)
            )
        if not events:
            raise _At(self.main, None).error(SchemaError, "the table declares no [[events]]")
        return events

    def transitions(self, states: Type, events, variables, literals) -> tuple[Transition, ...]:
        rows: list[Transition] = []
        names: set[str] = set()
        for entry, at in self.entries("transitions"):
            _keys(entry, at, {"name", "event", "from", "why"}, {"letter", "to", "guard", "otherwise", "effects"})
            name = _ident(entry, "name", at)
            if name in names:
                raise at.error(SchemaError, f"transition {name!r} is declared twice", "name")
            names.add(name)
            letter = entry.get("letter")
            if letter is not None and (not isinstance(letter, str) or not re.fullmatch(r"[a-z]", letter)):
                raise at.error(SchemaError, f"expected one lower-case letter, found {letter!r}", "letter")
            event_name = _text(entry, "event", at)
            if event_name not in events:
                raise at.error(SchemaError, f"unknown event {event_name!r}; expected one of {sorted(events)}", "event")
            event = events[event_name]
            sources = _names(entry, "from", at)
            if not sources:
                raise at.error(SchemaError, "expected a state or a non-empty list of states", "from")
            for state in sources:
                if state not in states.values:
                    raise at.error(
                        SchemaError, f"unknown state {state!r}; expected one of {list(states.values)}", "from"
                    )
            target = entry.get("to")
            if target is not None and target not in states.values:
                raise at.error(
                    SchemaError,
                    f"transition to nowhere: unknown state {target!r}; expected one of {list(states.values)}",
                    "to",
                )
            otherwise = entry.get("otherwise", False)
            if not isinstance(otherwise, bool):
                raise at.error(SchemaError, f"expected true or false, found {otherwise!r}", "otherwise")
            if otherwise and "guard" in entry:
                raise at.error(SchemaError, "a row is either 'otherwise' or guarded, not both", "guard")
            ctx = Context(variables, literals, {p.name: p.type for p in event.params}, in_queue=True)
            guard = None
            if "guard" in entry:
                try:
                    guard = resolve_bool(parse_expr(entry["guard"]), ctx)
                except ExpressionError as exc:
                    raise _located(exc, at, "guard") from None
            effects = _effects(entry, at, ctx, per_queue=True)
            rows.append(
                Transition(
                    name,
                    letter,
                    event_name,
                    sources,
                    target,
                    guard,
                    otherwise,
                    effects,
                    _text(entry, "why", at),
                    at.source(entry),
                )
            )
        return tuple(rows)

    def properties(self, events, variables, literals) -> tuple[Property, ...]:
        props: list[Property] = []
        for entry, at in self.entries("properties"):
            if isinstance(entry, dict) and isinstance(entry.get("kind"), str) and entry["kind"] in _LIVENESS_NAMES:
                self.liveness.append(_liveness(entry, at, events, variables, literals, {p.name for p in props}))
                continue
            _keys(entry, at, {"name", "kind", "rationale"}, {"expr", "events", "inputs", "lemma"})
            name = _ident(entry, "name", at)
            if any(p.name == name for p in (*props, *self.liveness)):
                raise at.error(SchemaError, f"property {name!r} is declared twice", "name")
            kind_name = _text(entry, "kind", at)
            try:
                kind = PropertyKind(kind_name)
            except ValueError:
                raise at.error(
                    SchemaError,
                    f"unknown kind {kind_name!r}; expected one of {[k.value for k in PropertyKind]}",
                    "kind",
                ) from None
            lemma = entry.get("lemma", False)
            if not isinstance(lemma, bool) or (lemma and kind is not PropertyKind.INVARIANT):
                raise at.error(SchemaError, "lemma is true or false, and only invariants are lemmas", "lemma")
            event_names = _names(entry, "events", at, default=[])
            for event_name in event_names:
                if event_name not in events:
                    raise at.error(
                        SchemaError, f"unknown event {event_name!r}; expected one of {sorted(events)}", "events"
                    )
            inputs = _names(entry, "inputs", at, default=[])
            for var_name in inputs:
                if var_name not in variables:
                    raise at.error(SchemaError, f"unknown variable {var_name!r}", "inputs")
            expr, per_queue = None, False
            if kind is PropertyKind.HISTORY_FREE:
                if not event_names or "expr" in entry:
                    raise at.error(
                        SchemaError, "a history_free property names its events and inputs, no expr", "events"
                    )
            else:
                if "expr" not in entry:
                    raise at.error(SchemaError, "missing required field 'expr'")
                if kind is PropertyKind.STEP and not event_names:
                    raise at.error(SchemaError, "a step property names the events it is about", "events")
                params = _common_params(events, event_names, at)
                ctx = Context(
                    variables,
                    literals,
                    params,
                    in_queue=kind is PropertyKind.INVARIANT,
                    primes=kind is PropertyKind.STEP,
                )
                try:
                    expr = resolve_bool(parse_expr(entry["expr"]), ctx)
                except ExpressionError as exc:
                    raise _located(exc, at, "expr") from None
                per_queue = any(isinstance(n, Var) and n.per_queue and n.index is None for n in walk(expr))
            props.append(
                Property(
                    name, kind, expr, per_queue, event_names, inputs, _text(entry, "rationale", at), lemma, at.source()
                )
            )
        return tuple(props)


def _common_params(events, names, at: _At) -> dict[str, Type]:
    """The parameters a step property may read: those all its events share."""
    if not names:
        return {}
    shared = {p.name: p.type for p in events[names[0]].params}
    for name in names[1:]:
        theirs = {p.name: p.type for p in events[name].params}
        shared = {k: t for k, t in shared.items() if theirs.get(k) == t}
    return shared


# -- liveness: fairness of events, and the properties of infinite runs ---------

_LIVENESS_NAMES = {kind.value for kind in LIVENESS_KINDS}


def _fairness(entry: dict, at: _At) -> Fairness:
    value = entry.get("fairness", "none")
    try:
        return Fairness(value) if isinstance(value, str) else Fairness(None)
    except ValueError:
        choices = [f.value for f in Fairness]
        raise at.error(SchemaError, f"expected one of {choices}, found {value!r}", "fairness") from None


def _liveness(entry: dict, at: _At, events, variables, literals, taken: set[str]) -> Liveness:
    """A ``leads_to``, ``recoverable`` or ``deadlock_free`` entry of [[properties]].

    ``from`` is the premise (a state predicate; with ``events``, a step of
    those events, read as a step property: primed names, the events' shared
    parameters), ``to`` the goal (a state predicate; with ``events`` it may
    name their queue parameter). Bare per-queue names mean one queue, the
    same in ``from`` and ``to``.
    """
    kind = PropertyKind(entry["kind"])
    optional = {"deadlock_free": set(), "recoverable": {"from"}, "leads_to": {"events"}}[kind.value]
    required = {"name", "kind", "rationale"} | ({"from", "to"} - optional if kind.value != "deadlock_free" else set())
    _keys(entry, at, required, optional)
    name = _ident(entry, "name", at)
    if name in taken:
        raise at.error(SchemaError, f"property {name!r} is declared twice", "name")
    event_names = _names(entry, "events", at, default=[])
    for event_name in event_names:
        if event_name not in events:
            raise at.error(SchemaError, f"unknown event {event_name!r}; expected one of {sorted(events)}", "events")
    params = _common_params(events, event_names, at)
    queue_params = {k: t for k, t in params.items() if t == QUEUE}

    def read(key: str, ctx: Context) -> Expr | None:
        if key not in entry:
            return None
        if not isinstance(entry[key], str):
            raise at.error(SchemaError, f"expected an expression, found {entry[key]!r}", key)
        try:
            return resolve_bool(parse_expr(entry[key]), ctx)
        except ExpressionError as exc:
            raise _located(exc, at, key) from None

    if event_names:  # the premise is a step; the goal may name the step's queue
        premise = read("from", Context(variables, literals, params, in_queue=True, primes=True))
        goal = read("to", Context(variables, literals, queue_params, in_queue=True))
    else:
        premise = read("from", Context(variables, literals, {}, in_queue=True))
        goal = read("to", Context(variables, literals, {}, in_queue=True))
    bare = any(
        isinstance(n, Var) and n.per_queue and n.index is None
        for e in (premise, goal)
        if e is not None
        for n in walk(e)
    )
    return Liveness(name, kind, premise, goal, bare, event_names, _text(entry, "rationale", at), at.source(entry))


# -- rows that can fire together ------------------------------------------------


def _check_determinism(spec: Spec) -> None:
    """Refuse two rows of one event and source whose guards can both hold.

    Guards that read only their own queue and the device are decided by Z3
    over every valuation of what they read, reachable or not (:mod:`.overlap`);
    guards with quantifiers are left to the explorer and the proofs.
    """
    for event in spec.events:
        for state in spec.states.values:
            rows = spec.rows(event.name, state)
            fallbacks = [r for r in rows if r.otherwise]
            if len(fallbacks) > 1:
                raise TableError(
                    f"event {event.name!r} from {state!r} has two 'otherwise' rows: "
                    f"{fallbacks[0].name} and {fallbacks[1].name}",
                    file=fallbacks[1].source.file_of("otherwise"),
                    line=fallbacks[1].source.line_of("otherwise"),
                    field="transitions.otherwise",
                )
            overlap = first_overlap(spec, event, state, rows)
            if overlap is not None:
                first, second = overlap.first.source, overlap.second.source
                where = f"line {first.line_of('guard')}"
                if first.file_of("guard") != second.file_of("guard"):
                    where = f"{first.file_of('guard')}:{first.line_of('guard')}"
                raise TableError(
                    f"two transitions enabled for one event in one state: {overlap.first.name} "
                    f"({where}) and {overlap.second.name} both fire on "
                    f"{event.name} from {state} when {overlap.when}",
                    file=second.file_of("guard"),
                    line=second.line_of("guard"),
                    field="transitions.guard",
                )


def load_spec(name_or_path: str | Path, env: str = ADVERSARIAL) -> Spec:
    """Load and validate a variant by name (``proposal``, ``resolved``) or path,
    in the environment profile ``env`` (``spec/profile.py``)."""
    return apply_profile(_Loader(spec_path(name_or_path)).load(), env)
