"""Make moto's DynamoDB writes atomic, as DynamoDB's are.

moto's server answers requests on many threads. Its stream shard numbers
records `len(items) + base`, read and appended without a lock, so concurrent
writes can share a sequence number and a stream reader then skips or repeats
records (measured: 8 writers x 300 puts gave duplicate sequence numbers). Its
conditional writes also check, then write, in plain Python. One lock around
every write makes both hold, at the cost of writes one at a time, which the
single-process emulator does anyway under the GIL.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_lock = threading.RLock()


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return method(*args, **kwargs)

    locked.__formrelay_serialised__ = True  # type: ignore[attr-defined]
    return locked


def install() -> None:
    """Serialise moto's DynamoDB writes in this process (idempotent)."""
    for name in _WRITES:
        method = getattr(DynamoDBBackend, name)
        if not getattr(method, "__formrelay_serialised__", False):
            setattr(DynamoDBBackend, name, _serialised(method))
