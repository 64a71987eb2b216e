"""Make a query of moto's DynamoDB read the partition it names, not the whole table.

moto answers every Query by sorting every item of the table and then keeping those
with the asked partition key: on the table and on an index alike. A query costs the
table's size, so the local pipeline slowed as its tables grew (on the 1,000-submission
soak, once the queues were fixed, queries took over half the emulator's time, mostly
in that sort), and DynamoDB's own promise, a query reads its partition, did not hold.

`install()` hands moto's query, in place of every item, only those that can match:
- a query of the table: the items of its partition, in moto's order;
- a query of an index whose partition key is asked equal to a string: the items whose
  attribute holds that string (moto still checks every condition itself, and sorts the
  result by the index's keys as it does).
Anything else (a scan, a number or binary index key) gets every item as before.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

_MARK = "__formrelay_partitioned__"
# moto's own methods, kept to compare against.
MOTO_QUERY: Callable[..., Any] = Table.query
MOTO_ALL_ITEMS: Callable[..., Any] = Table.all_items
_SIGNATURE = inspect.signature(MOTO_QUERY)


class _Asked(threading.local):
    """What the query running on this thread asks: its table and what narrows it."""

    table: Table | None = None
    narrow: Callable[[Table], list[Item]] | None = None


_asked = _Asked()


def _sort_key(item: Item) -> Any:
    return (item.hash_key, item.range_key) if item.range_key else item.hash_key


def _partition(hash_key: DynamoType) -> Callable[[Table], list[Item]]:
    def items(table: Table) -> list[Item]:
        found = table.items.get(hash_key)  # .get: items is a defaultdict
        if found is None:
            return []
        if not table.range_key_attr:
            return [found]  # type: ignore[list-item]
        return sorted(found.values(), key=_sort_key)

    return items


def _holding(conditions: list[tuple[str, DynamoType]]) -> Callable[[Table], list[Item]]:
    wanted = [(name, value.value) for name, value in conditions]

    def items(table: Table) -> list[Item]:
        found = [
            item
            for item in _every_item(table)
            if all(_string_of(item.attrs.get(name)) == value for name, value in wanted)
        ]
        return sorted(found, key=_sort_key)

    return items


def _every_item(table: Table) -> list[Item]:
    if not table.range_key_attr:
        return list(table.items.values())  # type: ignore[arg-type]
    return [item for partition in table.items.values() for item in partition.values()]


def _string_of(value: DynamoType | None) -> str | None:
    return value.value if value is not None and value.type == "S" else None


def _narrowing(arguments: dict[str, Any]) -> Callable[[Table], list[Item]] | None:
    hash_key = arguments.get("hash_key")
    if not arguments.get("index_name"):
        return _partition(hash_key) if hash_key is not None else None
    conditions = arguments.get("hash_key_conditions") or []
    if conditions and all(value.type == "S" for _, value in conditions):
        return _holding(conditions)
    return None


def _query(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def query(self: Table, *args: Any, **kwargs: Any) -> Any:
        bound = _SIGNATURE.bind(self, *args, **kwargs)
        narrow = _narrowing(bound.arguments)
        outer = (_asked.table, _asked.narrow)
        _asked.table, _asked.narrow = (self, narrow) if narrow else (None, None)
        try:
            return method(self, *args, **kwargs)
        finally:
            _asked.table, _asked.narrow = outer

    setattr(query, _MARK, True)
    return query


def _all_items(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def all_items(self: Table) -> Any:
        if _asked.table is self and _asked.narrow is not None:
            return _asked.narrow(self)
        return method(self)

    setattr(all_items, _MARK, True)
    return all_items


def install() -> None:
    """Let moto's queries read their partition, in this process (idempotent)."""
    if not getattr(Table.query, _MARK, False):
        Table.query = _query(MOTO_QUERY)  # type: ignore[method-assign]
        Table.all_items = _all_items(MOTO_ALL_ITEMS)  # type: ignore[method-assign]
