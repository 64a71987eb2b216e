"""The cost bench's DynamoDB capacity-unit arithmetic (bench/capacity_units.py), against the
examples AWS's documentation works through (read-write-operations.html, the on-demand
pricing page, CapacityUnitCalculations.html, GSI.html "Write activity")."""

from __future__ import annotations

import pytest

from bench.capacity_units import (
    Index,
    Table,
    item_size,
    item_write_units,
    items_read_units,
    number_size,
    query_read_units,
    read_units,
    write_units,
)

KB = 1024
PLAIN = Table("plain", ("pk", "sk"))
INDEXED = Table(
    "views",
    ("pk", "sk"),
    (
        Index("all", ("status", "at"), "ALL"),
        Index("keys", ("form", "at"), "KEYS_ONLY"),
    ),
)


def sized(total: int, **extra: dict[str, str]) -> dict[str, dict[str, str]]:
    """An item of exactly `total` bytes: keys pk, sk plus a string padding it out."""
    item = {"pk": {"S": "p"}, "sk": {"S": "s"}, **extra}
    used = item_size(item) + len("pad")
    return {**item, "pad": {"S": "x" * (total - used)}}


# -- item size -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "size"),
    [
        ({"pk": {"S": "T#a"}}, 2 + 3),  # name + UTF-8 bytes
        ({"name": {"S": "é"}}, 4 + 2),  # UTF-8, not characters
        ({"n": {"N": "123.45"}}, 1 + 3 + 1),  # five significant digits: 3 bytes + 1
        ({"n": {"N": "100"}}, 1 + 1 + 1),  # trailing zeros trimmed
        ({"n": {"N": "0.0012"}}, 1 + 1 + 1),  # leading zeros trimmed
        ({"b": {"B": b"\x00\x01\x02"}}, 1 + 3),  # raw bytes, not base64
        ({"t": {"BOOL": True}, "z": {"NULL": True}}, 2 + 2),
        ({"m": {"M": {}}}, 1 + 3),  # an empty map: 3 bytes
        ({"m": {"M": {"a": {"S": "x"}}}}, 1 + 3 + (1 + 1 + 1)),  # element: 1 + name + value
        ({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}, 1 + 3 + (1 + 2) + (1 + 2)),
        ({"s": {"SS": ["ab", "c"]}}, 1 + 3),
    ],
)
def test_an_item_is_as_big_as_its_names_and_values(item: dict, size: int) -> None:
    assert item_size(item) == size


def test_a_number_takes_a_byte_per_two_significant_digits_and_one_more() -> None:
    assert number_size("1") == 2
    assert number_size("12") == 2
    assert number_size("123") == 3
    assert number_size("-1.5E+10") == 2


# -- reads -----------------------------------------------------------------------------------


def test_reads_round_up_to_4_kb_and_eventual_consistency_halves_them() -> None:
    # "reading a 3,500-byte item consumes the same throughput as reading a 4 KB item"
    assert read_units(3500, consistent=True) == 1
    assert read_units(3500, consistent=False) == 0.5
    # "a 10 KB item ... rounds the item size up to 12 KB"
    assert read_units(10 * KB, consistent=True) == 3


def test_an_8_kb_item_costs_two_one_or_four_read_units() -> None:
    # the on-demand pricing page: strongly consistent 2, eventually consistent 1,
    # transactional 4
    assert items_read_units([8 * KB], consistent=True) == 2
    assert items_read_units([8 * KB], consistent=False) == 1
    assert items_read_units([8 * KB], consistent=True, transactional=True) == 4


def test_batch_get_rounds_each_item_where_query_rounds_the_sum() -> None:
    # "BatchGetItem reads two items of 1.5 KB and 6.5 KB: 12 KB (4 KB + 8 KB)"
    sizes = [1536, 6656]
    assert items_read_units(sizes, consistent=True) == 3
    # Query: "the total size of all items ... rounded up to the next 4 KB boundary": 8 KB
    assert query_read_units(sizes, consistent=True) == 2


def test_a_read_that_finds_nothing_still_costs_the_minimum() -> None:
    assert items_read_units([0], consistent=False) == 0.5
    assert query_read_units([], consistent=True) == 1


# -- writes ----------------------------------------------------------------------------------


def test_writes_round_up_to_1_kb_per_item() -> None:
    assert write_units(1) == 1
    assert write_units(KB) == 1
    assert write_units(KB + 1) == 2


def test_a_3_kb_write_costs_three_units_and_six_in_a_transaction() -> None:
    # the on-demand pricing page's example
    item = sized(3 * KB)
    assert item_write_units(PLAIN, None, item) == 3
    assert item_write_units(PLAIN, None, item, transactional=True) == 6


def test_a_put_or_update_costs_the_larger_of_the_item_before_and_after() -> None:
    assert item_write_units(PLAIN, sized(3 * KB), sized(500)) == 3
    assert item_write_units(PLAIN, sized(500), sized(2 * KB)) == 2


def test_a_delete_costs_the_deleted_item() -> None:
    assert item_write_units(PLAIN, sized(2 * KB), None) == 2


def test_a_failed_condition_costs_the_existing_item_and_writes_no_index() -> None:
    existing = sized(2 * KB, status={"S": "received"}, at={"S": "1"})
    assert item_write_units(INDEXED, existing, None, condition_failed=True) == 2
    assert item_write_units(INDEXED, None, None, condition_failed=True) == 1


# -- global secondary indexes ----------------------------------------------------------------


def test_a_new_item_is_written_to_each_index_it_has_the_keys_of() -> None:
    # in "all" (its status and at): the whole item, 2 KB -> 2; not in "keys" (no form)
    item = sized(2 * KB, status={"S": "received"}, at={"S": "1"})
    assert item_write_units(INDEXED, None, item) == 2 + 2


def test_a_keys_only_index_costs_its_small_entry_and_nothing_when_its_keys_stay() -> None:
    before = sized(2 * KB, form={"S": "f"}, at={"S": "1"})
    after = {**before, "pad": {"S": "y" * len(before["pad"]["S"])}}
    # entering: the entry (keys only) is far under 1 KB
    assert item_write_units(INDEXED, None, before) == 2 + 1
    # rewritten with the same keys: the table only
    assert item_write_units(INDEXED, before, after) == 2


def test_a_changed_projected_attribute_costs_one_index_write() -> None:
    before = sized(900, status={"S": "received"}, at={"S": "1"})
    after = {**before, "pad": {"S": "z" * len(before["pad"]["S"])}}
    assert item_write_units(INDEXED, before, after) == 1 + 1


def test_a_changed_index_key_costs_a_delete_and_a_put_in_the_index() -> None:
    before = sized(900, status={"S": "received"}, at={"S": "1"})
    after = {**before, "status": {"S": "delivered"}}
    assert item_write_units(INDEXED, before, after) == 1 + 2


def test_losing_an_index_key_costs_one_index_write() -> None:
    before = sized(900, status={"S": "received"}, at={"S": "1"})
    after = {name: value for name, value in before.items() if name != "status"}
    assert item_write_units(INDEXED, before, after) == 1 + 1


def test_a_transaction_doubles_the_index_writes_too() -> None:
    item = sized(900, status={"S": "received"}, at={"S": "1"})
    assert item_write_units(INDEXED, None, item, transactional=True) == 2 * (1 + 1)


def test_a_table_is_read_from_its_description() -> None:
    described = {
        "TableName": "views",
        "KeySchema": [{"AttributeName": "pk"}, {"AttributeName": "sk"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "keys",
                "KeySchema": [{"AttributeName": "form"}, {"AttributeName": "at"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    }
    table = Table.from_description(described)
    assert table.keys == ("pk", "sk")
    assert table.index("keys") == Index("keys", ("form", "at"), "KEYS_ONLY")
