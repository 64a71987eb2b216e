"""DynamoDB on-demand capacity units, worked out from item sizes as DynamoDB bills them.

moto answers ReturnConsumedCapacity with constants, so the cost bench (bench/cost.py)
computes the units itself from the items each call really wrote or read, with the rules
of AWS's documentation:

- Item size (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
  the sum of the UTF-8 lengths of the attribute names plus the sizes of the values. A
  string is its UTF-8 bytes, a binary its raw bytes, a number 1 byte per two significant
  digits plus 1, a Boolean or null 1 byte; a list or map 3 bytes plus its elements, each
  element 1 byte more (a map element also its name); a set the sum of its elements.
- Reads and writes (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html,
  on-demand: https://aws.amazon.com/dynamodb/pricing/on-demand/): a write request unit
  writes up to 1 KB, rounded up per item; PutItem and UpdateItem are billed on the larger
  of the item before and after, DeleteItem on the item deleted; a write whose condition
  fails still consumes units for the existing item's size (at least 1). A read request
  unit reads up to 4 KB strongly consistent, half a unit eventually consistent, rounded
  up per item (GetItem, each item of a BatchGetItem); a Query or Scan adds up the sizes
  of the items it evaluated and rounds up once; a read that finds nothing still costs
  the minimum. Transactional reads and writes cost twice as much.
- Global secondary indexes (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations.Writes):
  a write also costs units in every index the item is in before or after it: one write of
  the index entry (its projected attributes) when it enters, leaves or changes there, two
  (delete, put) when its index key changes, none when its entry is the same as before.
  Reads of an index are eventually consistent and count the index entries' sizes.

Assumptions where the documentation says nothing exact: a transactional write doubles
its index writes too (an upper bound), and a condition check inside a transaction costs
a transactional write of the checked item's size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096

Item = Mapping[str, Mapping[str, Any]]  # an item in DynamoDB's wire format


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def number_size(text: str) -> int:
    """Bytes of a number: 1 per two significant digits (leading, trailing zeros trimmed) + 1."""
    digits = Decimal(text).normalize().as_tuple().digits
    significant = len(digits) if any(digits) else 1
    return math.ceil(significant / 2) + 1


def _binary_size(value: Any) -> int:
    return len(value) if isinstance(value, (bytes, bytearray)) else len(str(value))


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value (without its name)."""
    ((kind, body),) = value.items()
    if kind == "S":
        return _utf8(body)
    if kind == "N":
        return number_size(body)
    if kind == "B":
        return _binary_size(body)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(_utf8(element) for element in body)
    if kind == "NS":
        return sum(number_size(element) for element in body)
    if kind == "BS":
        return sum(_binary_size(element) for element in body)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in body)
    if kind == "M":
        return 3 + sum(1 + _utf8(name) + value_size(element) for name, element in body.items())
    raise ValueError(f"unknown attribute type {kind!r}")


def item_size(item: Item) -> int:
    """Bytes of an item as DynamoDB counts them: attribute names plus values."""
    return sum(_utf8(name) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    """Write request units for writing one item of `size` bytes (at least 1)."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units(size: int, *, consistent: bool) -> float:
    """Read request units for reading `size` bytes as one read (at least the minimum)."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


@dataclass(frozen=True)
class Index:
    """One global secondary index: its key attributes and what it projects."""

    name: str
    keys: tuple[str, ...]
    projection: str = "ALL"  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """A table's primary key attributes and its global secondary indexes."""

    name: str
    keys: tuple[str, ...]
    indexes: tuple[Index, ...] = field(default_factory=tuple)

    @classmethod
    def from_description(cls, description: Mapping[str, Any]) -> Table:
        """From DescribeTable's Table."""

        def key_names(schema: Sequence[Mapping[str, str]]) -> tuple[str, ...]:
            return tuple(element["AttributeName"] for element in schema)

        indexes = tuple(
            Index(
                index["IndexName"],
                key_names(index["KeySchema"]),
                index["Projection"]["ProjectionType"],
                tuple(index["Projection"].get("NonKeyAttributes", ())),
            )
            for index in description.get("GlobalSecondaryIndexes", [])
        )
        return cls(description["TableName"], key_names(description["KeySchema"]), indexes)

    def index(self, name: str) -> Index:
        """The index called name."""
        return next(index for index in self.indexes if index.name == name)

    def entry(self, index: Index, item: Item | None) -> dict[str, Any] | None:
        """The item as the index holds it, or None if the item is not in the index."""
        if item is None or any(key not in item for key in index.keys):
            return None
        if index.projection == "ALL":
            return dict(item)
        kept = {*self.keys, *index.keys, *index.included}
        return {name: value for name, value in item.items() if name in kept}


def index_write_units(table: Table, before: Item | None, after: Item | None) -> int:
    """Write units the table's indexes consume when `before` becomes `after` (None: absent)."""
    units = 0
    for index in table.indexes:
        old, new = table.entry(index, before), table.entry(index, after)
        if old == new:  # absent before and after, or the same entry
            continue
        if old is None or new is None:
            units += write_units(item_size(old or new or {}))
        elif any(old[key] != new[key] for key in index.keys):
            units += write_units(item_size(old)) + write_units(item_size(new))
        else:
            units += write_units(max(item_size(old), item_size(new)))
    return units


def item_write_units(
    table: Table,
    before: Item | None,
    after: Item | None,
    *,
    condition_failed: bool = False,
    transactional: bool = False,
) -> int:
    """Write units of one item's write: table plus indexes, doubled in a transaction.

    before/after: the item before and after the write (None: absent), so a put or an
    update is `before -> after`, a delete `before -> None`. A failed condition writes
    nothing: it costs the existing item's size in the table, no index write.
    """
    if condition_failed:
        units = write_units(item_size(before) if before is not None else 0)
    else:
        sizes = [item_size(item) for item in (before, after) if item is not None]
        units = write_units(max(sizes, default=0)) + index_write_units(table, before, after)
    return 2 * units if transactional else units


def query_read_units(
    sizes: Sequence[int], *, consistent: bool, transactional: bool = False
) -> float:
    """Read units of a Query or Scan over items of these sizes: summed, then rounded up."""
    units = read_units(sum(sizes), consistent=consistent)
    return 2 * units if transactional else units


def items_read_units(
    sizes: Sequence[int], *, consistent: bool, transactional: bool = False
) -> float:
    """Read units of GetItem / BatchGetItem / TransactGetItems: each item rounded up alone.

    A key that found nothing counts as size 0 (the minimum read).
    """
    units = sum(read_units(size, consistent=consistent) for size in sizes)
    return 2 * units if transactional else units
