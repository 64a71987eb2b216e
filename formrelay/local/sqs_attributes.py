"""Make moto's queue attributes cost what the caller reads, not the whole queue.

moto builds every attribute of a queue whenever one is read, and three of them
(ApproximateNumberOfMessages, ...NotVisible, ...Delayed) walk every message. It
reads one on every SendMessage (ContentBasedDeduplication) and on every message a
ReceiveMessage hands out (MessageRetentionPeriod), so a send or a receive costs a
walk of the queue: with a backlog of thousands of delivery jobs the emulator spent
more than half its time counting messages, and the pipeline it serves slowed as the
backlog grew, which grew the backlog. SQS itself answers these in constant time.

`install()` makes `Queue.attributes` a mapping that computes an attribute when it is
read: the same names, the same values, read when moto reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from moto.core.utils import camelcase_to_underscores
from moto.sqs.models import Queue

_MARK = "__formrelay_lazy_attributes__"


class QueueAttributes(Mapping[str, Any]):
    """A queue's attributes as moto's `Queue.attributes` gives them, each computed
    on first read."""

    def __init__(self, queue: Queue) -> None:
        self._queue = queue
        names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:  # type: ignore[attr-defined]
            names += queue.KMS_ATTRIBUTES
        if queue.policy:
            names.append("Policy")
        if queue.redrive_policy:
            names.append("RedrivePolicy")
        self._names = list(dict.fromkeys(names))
        self._values: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            if name not in self._names:
                raise KeyError(name)
            self._values[name] = self._compute(name)
        return self._values[name]

    def _compute(self, name: str) -> Any:
        # As moto's property: these two, when set, win over a base attribute's value.
        if name == "Policy" and self._queue.policy:
            return self._queue.policy
        if name == "RedrivePolicy" and self._queue.redrive_policy:
            return json.dumps(self._queue.redrive_policy)
        value = getattr(self._queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


# moto's own property, kept to compare against.
_MOTO_ATTRIBUTES = Queue.__dict__["attributes"].fget


def computed_by_moto(queue: Queue) -> dict[str, Any]:
    """The attributes as moto itself computes them: all at once."""
    return dict(_MOTO_ATTRIBUTES(queue))


def _attributes(queue: Queue) -> QueueAttributes:
    return QueueAttributes(queue)


def install() -> None:
    """Give moto's queues lazily computed attributes, in this process (idempotent)."""
    if not getattr(Queue.__dict__["attributes"].fget, _MARK, False):
        setattr(_attributes, _MARK, True)
        Queue.attributes = property(_attributes)  # type: ignore[assignment,method-assign]
