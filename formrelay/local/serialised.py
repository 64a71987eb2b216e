"""One lock around chosen methods of a moto backend: what makes its calls atomic.

moto serves requests on many threads and checks, then writes, in plain
Python; DynamoDB and Secrets Manager do each call atomically. The modules
`dynamodb_atomicity` and `secretsmanager_atomicity` say which calls need it.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from typing import Any

_MARK = "__formrelay_serialised__"


def serialise(backend: type, names: Iterable[str], lock: threading.RLock) -> None:
    """Run each named method of backend under lock, in this process (idempotent)."""
    for name in names:
        method = getattr(backend, name)
        if not getattr(method, _MARK, False):
            setattr(backend, name, _locked(method, lock))


def _locked(method: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    setattr(locked, _MARK, True)
    return locked
