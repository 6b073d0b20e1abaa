"""The exit codes of every command, defined once.

>>> int(ExitCode.INCOMPLETE), int(ExitCode.INTERRUPTED), int(ExitCode.TERMINATED)
(3, 130, 143)
>>> int(outcome(failed=True, partial="stopped at --timeout"))
1
>>> int(outcome(failed=False, partial="stopped at --timeout")), int(outcome(failed=True, partial="interrupted"))
(3, 130)
"""

from __future__ import annotations

from enum import IntEnum

from virtio_notifier_spec.model.explore import INTERRUPTED


class ExitCode(IntEnum):
    """What a command's exit status means; the same for every command."""

    HOLDS = 0  # every property holds, proved, conforms
    FAILS = 1  # a property fails, a proof finds a violation, an implementation diverges
    BAD_INPUT = 2  # bad input or usage (one line: file, line, field, what was expected), or a refusal
    INCOMPLETE = 3  # stopped before it could tell (--max-states, --timeout), undecided (unknown) or vacuous
    INTERNAL = 4  # an internal error (I/O failure, a bug of ours): not a verdict
    MACHINE = 5  # the machine under test failed: a real QEMU crashed, hung or never booted its guest
    INTERRUPTED = 130  # Ctrl-C (SIGINT): what was decided so far is printed
    TERMINATED = 143  # SIGTERM: as Ctrl-C


def outcome(*, failed: bool, partial: str | None = None, vacuous: bool = False) -> ExitCode:
    """The exit code of a run: Ctrl-C first (130), then a failure found
    (1, even in a run that stopped early: the trace shows it), then a run
    that stopped before it could tell, or with a vacuous property (its
    events are not issued by the environment: nothing was checked, which is
    not a pass) (3), else 0.

    >>> int(outcome(failed=False, vacuous=True)), int(outcome(failed=True, vacuous=True))
    (3, 1)
    """
    if partial == INTERRUPTED:
        return ExitCode.INTERRUPTED
    if failed:
        return ExitCode.FAILS
    return ExitCode.INCOMPLETE if partial or vacuous else ExitCode.HOLDS
