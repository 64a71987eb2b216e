"""Make moto's DynamoDB writes atomic, as DynamoDB's are.

moto's server answers requests on many threads. Its stream shard numbers
records `len(items) + base`, read and appended without a lock, so concurrent
writes can share a sequence number and a stream reader then skips or repeats
records (measured: 8 writers x 300 puts gave duplicate sequence numbers). Its
conditional writes also check, then write, in plain Python. One lock around
every write makes both hold, at the cost of writes one at a time, which the
single-process emulator does anyway under the GIL.

Reads take the same lock: a query or scan iterates the table's partitions in plain
Python, and a write that adds a partition meanwhile fails it with "dictionary changed
size during iteration" (seen as a 500 from ingest under bench/local_throughput.py once
the functions reached moto in-process, so more calls interleave).
"""

from __future__ import annotations

import threading

from moto.dynamodb.models import DynamoDBBackend

from formrelay.local.serialised import serialise

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_READS = ("get_item", "query", "scan", "describe_table")
# PartiQL statements read or write.
_STATEMENTS = ("execute_statement", "batch_execute_statement")
_lock = threading.RLock()


def install() -> None:
    """Serialise moto's DynamoDB writes and reads in this process (idempotent)."""
    serialise(DynamoDBBackend, _WRITES + _READS + _STATEMENTS, _lock)
