"""Which fields an implementation observes, which the oracle judges, and
what that leaves unjudged.

An implementation may **declare** the fields it observes (the protocol's
hello in version 3, a trace header's ``observes``, or ``--observe``). Then
only those are judged, and every reply or line must carry each of them
(``handled`` from the first event on): a declared field that goes missing
is a failure at that step, not a silent gap. Without a declaration the
oracle judges what each reply gives.

Either way the oracle counts, **at each step**, which fields were observed
on every queue: a field observed at every step is *observed*; one seen at
some steps only is *partly observed* (a drive that never declared its
fields fails for it, unless told that is intended: the oracle cannot tell
a field the implementation stopped observing from one it never had); one
never seen is *never observed*. A property of the table can be judged by
observation only when every variable it reads is observed at every step;
the others stand unjudged, and the report lists them with what they need.

A variable the environment profile fixes and nothing in that environment
reads (``vhost_serves`` in ``adversarial``, which only the whole-device
events it removes read) is **not judged**: its value there is the
profile's convenience, not a claim an implementation can contradict.

>>> from virtio_notifier_spec.spec.load import load_spec
>>> spec = load_spec("resolved")
>>> fixed_fields(spec)["vhost_serves"][:60]
'the adversarial environment fixes it and nothing it issues r'
>>> declared_fields(spec, "state, pending", "--observe")
('state', 'pending')
>>> [p.name for p in property_coverage(spec, {"state", "our_fd"}) if p.judged]
['limited_host_no_userspace_ioeventfd', 'no_leaked_ioeventfd']
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from virtio_notifier_spec.spec.errors import SpecError
from virtio_notifier_spec.spec.expr import Var, walk
from virtio_notifier_spec.spec.fragment import sites
from virtio_notifier_spec.spec.schema import PropertyKind, Spec

HANDLED = "handled"
PENDING = "pending"
LIMITED = "limited"  # the host fact every start names (spec/PROTOCOL.md)
_LISTED = 5  # unjudged properties shown with what each needs; more are only named


def checkable_fields(spec: Spec) -> tuple[str, ...]:
    """Every field an observation can hold, in the table's order.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> checkable_fields(load_spec("resolved"))[-2:]
    ('pending', 'handled')
    """
    names = [v.name for v in spec.device_variables] + [v.name for v in spec.queue_variables]
    return (*names, HANDLED) if PENDING in names else tuple(names)


def declared_fields(spec: Spec, raw: object, where: str) -> tuple[str, ...]:
    """A declaration of observed fields (a comma-separated string or a list
    of names), checked against the table; raises :class:`SpecError` naming
    ``where`` for an unknown or repeated name."""
    known = checkable_fields(spec)
    if isinstance(raw, str):
        names = [n.strip() for n in raw.split(",") if n.strip()]
    elif isinstance(raw, list) and all(isinstance(n, str) for n in raw):
        names = list(raw)
    else:
        raise SpecError(f"expected a list of field names, found {raw!r}", field=where)
    for name in names:
        if name not in known:
            raise SpecError(f"unknown field {name!r} (known: {', '.join(known)})", field=where)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SpecError(f"field {repeated[0]!r} is named twice", field=where)
    return tuple(n for n in known if n in names)


def variables_read(spec: Spec) -> frozenset[str]:
    """The variables the environment's events and the rows read."""
    return frozenset(
        node.name
        for site in sites(spec)
        if site.section != "properties"
        for node in walk(site.expr)
        if isinstance(node, Var)
    )


def fixed_fields(spec: Spec) -> dict[str, str]:
    """Variables not judged in ``spec``'s environment, with the reason: the
    profile narrowed their initial values and nothing it issues reads them."""
    profile = next((p for p in spec.profiles if p.name == spec.env), None)
    if profile is None:
        return {}
    read = variables_read(spec)
    return {
        rule.variable: f"the {spec.env} environment fixes it and nothing it issues reads it ({rule.why})"
        for rule in profile.variables
        if rule.variable not in read
    }


def judged_fields(spec: Spec, declared: Collection[str] | None) -> frozenset[str]:
    """The fields the oracle judges: those declared (every field when none
    is), less those the environment fixes."""
    fields = set(checkable_fields(spec) if declared is None else declared)
    return frozenset(fields - set(fixed_fields(spec)))


@dataclass(frozen=True, slots=True)
class PropertyCoverage:
    """One property of the table, and whether observation can judge it:
    ``missing`` are the variables it reads that were not observed at every step."""

    name: str
    reads: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def judged(self) -> bool:
        return not self.missing

    def to_json(self) -> dict:
        return {"property": self.name, "judged": self.judged, "reads": list(self.reads), "missing": list(self.missing)}


def _reads(spec: Spec, exprs: Iterable, extra: Iterable[str] = ()) -> tuple[str, ...]:
    names = {n.name for e in exprs if e is not None for n in walk(e) if isinstance(n, Var)} | set(extra)
    order = [v.name for v in spec.variables]
    return tuple(n for n in order if n in names)


def property_reads(spec: Spec) -> dict[str, tuple[str, ...]]:
    """Each property (lemmas aside) and the variables it reads; a deadlock
    check reads what the events' conditions read."""
    found = {}
    for prop in spec.properties:
        if not prop.lemma:
            found[prop.name] = _reads(spec, [prop.expr], prop.inputs)
    for live in spec.liveness:
        exprs = [live.premise, live.goal]
        if live.kind is PropertyKind.DEADLOCK_FREE:
            exprs = [e.when for e in spec.events]
        found[live.name] = _reads(spec, exprs)
    return found


def environment_facts(spec: Spec) -> frozenset[str]:
    """Host facts the oracle knows without being told: no row writes them,
    and the oracle chooses them (``limited``, in every ``start``) or the
    table starts them at one value; only the events it sends change them
    (``running``, ``vhost_on``). Which queues vhost serves, when the
    environment allows several, is the implementation's to say.

    >>> from virtio_notifier_spec.spec.load import load_spec
    >>> sorted(environment_facts(load_spec("resolved", env="qemu")))
    ['limited', 'running', 'vhost_on']
    """
    written = {e.target.name for row in spec.transitions for e in row.effects}
    return frozenset(
        v.name for v in spec.variables if v.host and v.name not in written and (v.name == LIMITED or len(v.init) == 1)
    )


def property_coverage(spec: Spec, observed: Collection[str]) -> tuple[PropertyCoverage, ...]:
    """Every property, judged when every variable it reads is in ``observed``,
    fixed by the environment or one of its facts (:func:`environment_facts`)."""
    known = set(observed) | set(fixed_fields(spec)) | environment_facts(spec)
    return tuple(
        PropertyCoverage(name, reads, tuple(v for v in reads if v not in known))
        for name, reads in property_reads(spec).items()
    )


@dataclass
class FieldTally:
    """Steps counted by the fields observed at them: ``full`` on every
    queue, ``seen`` on at least one. The start is counted apart (``handled``
    has no meaning there)."""

    counts: dict[tuple[bool, frozenset[str], frozenset[str]], int] = field(default_factory=dict)

    def add(self, start: bool, full: frozenset[str], seen: frozenset[str], times: int = 1) -> None:
        if start and HANDLED in seen:  # not asked of the start
            full, seen = full - {HANDLED}, seen - {HANDLED}
        key = (start, full, seen)
        self.counts[key] = self.counts.get(key, 0) + times

    def merge(self, other: FieldTally) -> None:
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n

    def coverage(
        self, spec: Spec, declared: Collection[str] | None = None, *, judged: Collection[str] | None = None
    ) -> ObservationCoverage:
        """What was observed, step by step; ``judged``: the fields judged
        (default: what :func:`judged_fields` says)."""
        checkable = checkable_fields(spec)
        judged = judged_fields(spec, declared) if judged is None else frozenset(judged)
        fixed = fixed_fields(spec)
        steps = {True: 0, False: 0}
        full: dict[str, int] = dict.fromkeys(checkable, 0)
        seen: dict[str, int] = dict.fromkeys(checkable, 0)
        for (start, f, s), n in self.counts.items():
            steps[start] += n
            for name in f:
                full[name] += n
            for name in s:
                seen[name] += n
        observed, partly, never = [], [], []
        for name in checkable:
            if name not in judged:
                continue
            total = steps[False] if name == HANDLED else steps[True] + steps[False]
            if total and full[name] == total:
                observed.append(name)
            elif seen[name]:
                partly.append((name, full[name], total))
            else:
                never.append(name)
        not_judged = [(n, fixed.get(n, "not declared")) for n in checkable if n not in judged]
        return ObservationCoverage(
            tuple(observed),
            checkable,
            tuple(partly),
            steps[True] + steps[False],
            None if declared is None else tuple(declared),
            tuple(not_judged),
            property_coverage(spec, observed),
        )


@dataclass(frozen=True)
class ObservationCoverage:
    """Which fields the implementation reported, step by step.

    ``observed``: on every queue at every step (``every_step`` in JSON,
    whose ``observed`` lists those ever seen, as :attr:`ever`); ``partly``:
    (field, steps with it on every queue, steps) for one seen at some steps only;
    ``declared``: what the implementation declared (None: nothing);
    ``not_judged``: (field, why); ``properties``: which can be judged.
    """

    observed: tuple[str, ...]
    checkable: tuple[str, ...]
    partly: tuple[tuple[str, int, int], ...] = ()
    steps: int = 0
    declared: tuple[str, ...] | None = None
    not_judged: tuple[tuple[str, str], ...] = ()
    properties: tuple[PropertyCoverage, ...] = ()

    @property
    def nothing(self) -> bool:
        return not self.observed and not self.partly

    @property
    def never(self) -> tuple[str, ...]:
        skipped = {n for n, _ in self.not_judged} | {n for n, _, _ in self.partly}
        return tuple(f for f in self.checkable if f not in self.observed and f not in skipped)

    @property
    def unjudged(self) -> tuple[PropertyCoverage, ...]:
        return tuple(p for p in self.properties if not p.judged)

    @property
    def ever(self) -> tuple[str, ...]:
        """The fields observed at some step at least."""
        partly = {f for f, _, _ in self.partly}
        return tuple(f for f in self.checkable if f in self.observed or f in partly)

    def to_json(self) -> dict:
        return {
            "observed": list(self.ever),
            "every_step": list(self.observed),
            "never": list(self.never),
            "partly": [{"field": f, "steps_observed": k, "steps": n} for f, k, n in self.partly],
            "steps": self.steps,
            "declared": None if self.declared is None else list(self.declared),
            "not_judged": [{"field": f, "why": why} for f, why in self.not_judged],
            "properties": [p.to_json() for p in self.properties],
            "properties_unjudged": [p.name for p in self.unjudged],
        }

    def text(self) -> str:
        judged = len(self.checkable) - len(self.not_judged)
        shown = ", ".join(self.observed) or "nothing"
        head = "declared and observed" if self.declared is not None else "observed"
        out = f"{head} at every step: {shown} ({len(self.observed)}/{judged} fields judged)"
        if self.partly:
            out += "; partly (not in full at every step): " + ", ".join(f"{f} ({k} of {n})" for f, k, n in self.partly)
        if self.never and not self.nothing:
            out += f"; never observed: {', '.join(self.never)}"
        fixed = [f for f, why in self.not_judged if why != "not declared"]
        if fixed:
            out += f"; not judged in this environment: {', '.join(fixed)}"
        return out

    def properties_text(self) -> str | None:
        """The properties observation cannot judge, and what each needs."""
        if not self.properties or self.nothing:
            return None
        unjudged = self.unjudged
        if not unjudged:
            return f"properties judged by observation: all {len(self.properties)}"
        head = f"properties judged by observation: {len(self.properties) - len(unjudged)} of {len(self.properties)}"
        if len(unjudged) > _LISTED:
            names = ", ".join(p.name for p in unjudged)
            return f"{head}; unjudged (each reads a field not observed at every step): {names}"
        needs = "; ".join(f"{p.name} (needs {', '.join(p.missing)})" for p in unjudged)
        return f"{head}; unjudged: {needs}"
