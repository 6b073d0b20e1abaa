"""The flag grammar every command shares: one spelling, one meaning, one help text.

A command takes what applies to it, e.g.::

    @click.command()
    @spec_option()
    @queues_option(default="1-2")
    @run_options          # --timeout --json --quiet
    @guarded
    def check(spec_name, queues, timeout, as_json, quiet) -> int: ...

| option | meaning everywhere |
|---|---|
| ``--spec`` | a variant (proposal, resolved) or a table's TOML file |
| ``--queues`` | N queues, or every count from A to B (``A-B``) |
| ``--timeout`` | seconds for the whole command; exit 3 with what was decided |
| ``--max-states`` | stop a search after this many states; exit 3 |
| ``--depth`` | explore no further than N steps from a start; a search it cuts: exit 3 |
| ``--property`` | only the named properties (repeatable) |
| ``--traces`` | write each counterexample into a folder (oracle trace and ITF) |
| ``--json`` | one JSON document on stdout instead of text |
| ``--quiet`` | no progress lines on stderr |
| ``--scheduler`` | a Dask scheduler whose workers expand the packed search (``local``: a cluster of ``--workers``) |
| ``--junit`` | also write JUnit XML (``check``, ``verify``, ``oracle drive``) |
"""

from __future__ import annotations

from collections.abc import Callable

import click

from virtio_notifier_spec.spec.limits import MAX_QUEUES

from .params import OutputFolder, QueueRange, Seconds

SPEC_HELP = "A variant (proposal, resolved) or the path of a table's TOML file."


def spec_option(*, default: str | None = "resolved", multiple: bool = False, help: str | None = None) -> Callable:
    """``--spec``: the table (repeatable with ``multiple``)."""
    text = help or (SPEC_HELP + (" Repeatable." if multiple else ""))
    if multiple:
        return click.option("--spec", "specs", multiple=True, metavar="SPEC", help=text)
    return click.option(
        "--spec", "spec_name", default=default, show_default=default is not None, metavar="SPEC", help=text
    )


def queues_option(
    *, default: str | None = "2", single: bool = False, maximum: int | None = MAX_QUEUES, help: str | None = None
) -> Callable:
    """``--queues``: N, or a range A-B explored one count at a time."""
    text = help or (
        (
            "Queues per device: N."
            if single
            else "Queues per device: N, or every count from A to B (A-B), one at a time."
        )
        + f" At most {min(maximum or MAX_QUEUES, MAX_QUEUES)}."
    )
    return click.option(
        "--queues",
        type=QueueRange(single=single, maximum=maximum),
        default=default,
        show_default=default is not None,
        help=text,
    )


timeout_option = click.option(
    "--timeout",
    type=Seconds(),
    default=None,
    help="Stop after this many seconds in all, print what was decided, exit 3.",
)
max_states_option = click.option(
    "--max-states",
    type=click.IntRange(min=1),
    metavar="N",
    default=None,
    help="Stop a search after this many states, print what was decided, exit 3.",
)
depth_option = click.option(
    "--depth",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Explore no further than N steps from a start (SPIN's -m, TLC's -depth); a search it cuts is "
    "incomplete, exit 3.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout instead of text.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
property_option = click.option(
    "--property",
    "properties",
    multiple=True,
    metavar="NAME",
    help="Only this property (repeatable); the others are not checked. Default: every one.",
)
traces_option = click.option(
    "--traces",
    "traces_dir",
    type=OutputFolder(),
    metavar="FOLDER",
    default=None,
    help="Write each counterexample into this folder as an oracle trace (.jsonl) and in ITF (.itf.json).",
)


scheduler_option = click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Expand the packed search on this Dask scheduler's workers (tcp://host:8786); "
    "'local' starts a local cluster of --workers processes (scale/cluster.py).",
)


junit_option = click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    default=None,
    help="Also write the verdicts as JUnit XML here: a test case per property per queue count (even after Ctrl-C).",
)


def output_options(command: Callable) -> Callable:
    """``--json`` and ``--quiet``: every command has both."""
    return json_option(quiet_option(command))


def run_options(command: Callable) -> Callable:
    """``--timeout``, ``--json`` and ``--quiet``: every long command."""
    return timeout_option(output_options(command))
