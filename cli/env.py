"""``--env NAME``: the environment a command explores or tests the table in.

One small shared option, so that every command spells it the same way. The
profiles are declared in ``spec/common.toml`` and applied by the loader
(``spec/profile.py``); an unknown name is bad input (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable

import click

from virtio_notifier_spec.spec.profile import ADVERSARIAL

ENV_HELP = (
    "The environment: an environment profile of the table (adversarial, qemu, kvmtool, rust_vmm; "
    "spec/common.toml), or unrestricted for the table exactly as written."
)


def env_option(command: Callable) -> Callable:
    """Add ``--env NAME`` (default: adversarial) to a click command."""
    return click.option("--env", "env", default=ADVERSARIAL, show_default=True, metavar="NAME", help=ENV_HELP)(command)
