"""``export``: the table as a model for another checker.

- ``--format quint``: a Quint module (``scale/quint.py``): ``quint
  typecheck`` reads it, ``quint run --invariant NAME`` checks it, and the
  ITF trace of ``quint run --mbt --out-itf`` replays through ``replay``;
- ``--format promela``: the safety model for SPIN (``scale/promela.py``):
  every invariant and step property an assertion;
- ``--format promela-ltl``: the liveness model: the properties of infinite
  runs as LTL claims under the events' fairness (``pan -a -f``).

Each names at its head what it leaves out (history freedom, for one).
"""

from __future__ import annotations

from pathlib import Path

import click

from virtio_notifier_spec.scale.promela import to_promela, to_promela_liveness
from virtio_notifier_spec.scale.quint import quint_module
from virtio_notifier_spec.spec.load import load_spec

from .document import print_document
from .env import env_option
from .exitcodes import ExitCode
from .guard import guarded
from .options import output_options, queues_option, spec_option

FORMATS = ("quint", "promela", "promela-ltl")


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="The model's language.")
@spec_option()
@queues_option(default="2", single=True)
@click.option(
    "--out",
    default="-",
    show_default=True,
    metavar="FILE",
    help="Write the model here ('-': stdout).",
)
@click.option(
    "--fairness/--no-fairness",
    default=True,
    show_default=True,
    help="promela-ltl: assume the fairness the events declare.",
)
@output_options
@env_option
@guarded
def export(
    fmt: str, spec_name: str, queues: range, out: str, fairness: bool, as_json: bool, quiet: bool, env: str
) -> int:
    """Write the table as a Quint module or a Promela model for SPIN (--json:
    the model in a document, or the file written).

    Example: virtio-notifier-spec export --format quint --queues 2 --out resolved.qnt
    """
    spec = load_spec(spec_name, env=env)
    n = queues[0]
    if fmt == "quint":
        text = quint_module(spec, n, table=spec_name)
    elif fmt == "promela":
        text = to_promela(spec, n)
    else:
        text = to_promela_liveness(spec, n, fair=fairness)
    if out != "-":
        Path(out).write_text(text, encoding="utf-8")
    if as_json:
        where = {"model": text} if out == "-" else {"path": out}
        print_document("export", [{"format": fmt, "variant": spec.name, "env": spec.env, "queues": n, **where}])
    elif out == "-":
        click.echo(text, nl=False)
    return ExitCode.HOLDS
