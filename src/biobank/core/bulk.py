"""Writing many rows at the database driver's bulk rate, for imports of a million rows.

The ORM builds a model instance per row and, on SQLite, cannot return ids from a bulk insert
of that size quickly; a bulk import instead gives its rows as tuples of database values and
lets ``BulkInsert`` send them in batches: ``executemany`` on SQLite, ``COPY`` on PostgreSQL
(the same mechanisms the benchmark measures as the physical limit). Values must already be in
the database's form: see ``db_datetime``, ``db_json`` and ``db_uuid``.

Inside ``BulkSession`` the batches are sent by a second thread on the same database
connection (so in the same transaction) while the first goes on reading and checking rows: the
drivers release the interpreter lock while the database works, so the two overlap on a machine
with two cores.

``allocate_ids`` hands out a contiguous block of primary keys, so that rows can refer to rows
of the same import before any of them is written. Call everything here inside one
``transaction.atomic()``: the import is all-or-nothing, and the id block is only safe while the
transaction holds the table (SQLite's write lock; a PostgreSQL table lock).
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from types import TracebackType
from typing import Any

from django.db import connection, models

BATCH_SIZE = 5000


@cache
def _naive_text_datetimes() -> bool:
    """Whether the database keeps datetimes as text (SQLite); asked once, because
    ``connection.vendor`` goes through a thread-local lookup on every call."""
    return bool(connection.vendor == "sqlite")


def db_datetime(value: datetime | None) -> Any:
    """An aware datetime as the database column takes it."""
    if value is None:
        return None
    if _naive_text_datetimes():
        # Django keeps datetimes on SQLite as naive UTC text with microseconds
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return value


def db_json(value: Any) -> str | None:
    """A JSON value as text (both databases parse text into their JSON columns)."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def db_uuid(value: uuid.UUID) -> Any:
    return value if connection.features.has_native_uuid_field else value.hex


Batch = tuple[str, list[tuple[Any, ...]]]


def _send(raw_connection: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """One batch through the driver's own cursor (not Django's, which is bound to its thread)."""
    cursor = raw_connection.cursor()
    try:
        if sql.startswith("COPY"):
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(sql, rows)
    finally:
        cursor.close()


class BulkSession:
    """A writer thread for the batches of several ``BulkInsert``s, on the caller's connection.

    Leaving the ``with`` block waits until every batch is written and raises the writer's error
    if it had one, so nothing is written behind the caller's back once the block is left (for
    example while its transaction rolls back).
    """

    def __init__(self, depth: int = 4) -> None:
        self._queue: queue.Queue[Batch | None] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._raw: Any = None
        self._cache_size: int | None = None

    def __enter__(self) -> BulkSession:
        connection.ensure_connection()
        self._raw = connection.connection
        if connection.vendor == "sqlite":
            # a larger page cache for this connection: a million rows touch every index
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size")
                self._cache_size = cursor.fetchone()[0]
                cursor.execute("PRAGMA cache_size = -131072")  # KiB: 128 MiB
        self._thread = threading.Thread(target=self._run, name="bulk-writer", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self._error is None:
                try:
                    _send(self._raw, *batch)
                except BaseException as error:  # handed to the caller in submit/__exit__
                    self._error = error

    def submit(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if self._error is not None:
            raise self._error
        if self._thread is None:
            raise RuntimeError("the bulk session has finished writing")
        self._queue.put((sql, rows))

    def drain(self) -> None:
        """Wait until every batch submitted so far is written; the session then takes no more.
        Call it before using the connection from this thread again."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
            if self._cache_size is not None:
                with connection.cursor() as cursor:
                    cursor.execute(f"PRAGMA cache_size = {int(self._cache_size)}")
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None:
            self.drain()
            return
        # the error being raised already says what failed; the writer's own is secondary
        with contextlib.suppress(BaseException):
            self.drain()


class BulkInsert:
    """Rows of ``fields`` (model field names, in order) for ``model``'s table, in batches;
    sent by ``session``'s writer thread when given, otherwise at once."""

    def __init__(
        self,
        model: type[models.Model],
        fields: Sequence[str],
        *,
        batch_size: int = BATCH_SIZE,
        session: BulkSession | None = None,
    ) -> None:
        meta = model._meta
        quote = connection.ops.quote_name
        self.table = meta.db_table
        columns = ", ".join(quote(str(meta.get_field(name).column)) for name in fields)  # type: ignore[union-attr]
        self.width = len(fields)
        self.batch_size = batch_size
        self.rows: list[tuple[Any, ...]] = []
        self.written = 0
        self.session = session
        if connection.vendor == "postgresql":
            self._sql = f"COPY {quote(self.table)} ({columns}) FROM STDIN"
        else:
            marks = ", ".join(["?"] * self.width)
            self._sql = f"INSERT INTO {quote(self.table)} ({columns}) VALUES ({marks})"  # noqa: S608 (names from models)

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if self.session is not None:
            self.session.submit(self._sql, self.rows)
        else:
            connection.ensure_connection()
            _send(connection.connection, self._sql, self.rows)
        self.written += len(self.rows)
        self.rows = []

    def close(self) -> int:
        self.flush()
        return self.written


def allocate_ids(model: type[models.Model], count: int) -> int:
    """The first of ``count`` consecutive primary keys nobody else will use; the caller inserts
    rows with them explicitly. Must run inside the import's transaction."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Inserts into the table wait for this lock (they take ROW EXCLUSIVE before they
            # draw from the sequence), so the block below stays ours until commit.
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
            sequence = cursor.fetchone()[0]
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
            highest = cursor.fetchone()[0]
            cursor.execute("SELECT last_value, is_called FROM " + sequence)  # noqa: S608
            last_value, is_called = cursor.fetchone()
            first = max(highest, last_value if is_called else last_value - 1) + 1
            if count:
                cursor.execute("SELECT setval(%s, %s, true)", [sequence, first + count - 1])
            return int(first)
        # SQLite: the transaction already holds the database's write lock (IMMEDIATE).
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        highest = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [model._meta.db_table])
        found = cursor.fetchone()
        return int(max(highest, found[0] if found else 0)) + 1
