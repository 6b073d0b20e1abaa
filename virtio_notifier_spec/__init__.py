"""virtio-notifier-spec: the virtqueue ioeventfd notifier state machine,
written down once as a table, explored, proved, drawn and used as an oracle.

The table lives in ``spec/*.toml``; :func:`load_spec` reads it and
:func:`explore` checks it:

>>> from virtio_notifier_spec import explore, load_spec
>>> explore(load_spec("resolved"), queues=1).ok
True
"""

from virtio_notifier_spec.scale.search import explore
from virtio_notifier_spec.spec.load import load_spec

__all__ = ["explore", "load_spec"]
__version__ = "0.1.0"
