"""Set-based reads and writes for the ledger's hot path, straight through the driver.

A batch reads and writes thousands of rows. Going through SQLAlchemy's per-row type
processing (UUID objects, datetimes, row objects) costs more than the database work itself,
so these statements go to the driver, with values in the form SQLAlchemy would have stored
(so ORM reads see the same data):
- SQLite: ``executemany`` of tuples; UUIDs as 32-digit hex, datetimes as
  ``YYYY-MM-DD HH:MM:SS.ffffff`` text in UTC, JSON as text.
- PostgreSQL: ``= ANY(array)`` reads, ``COPY ... FROM STDIN`` for inserts, one
  ``UPDATE ... FROM unnest(...)`` per table for changed rows.
Driver errors are raised as SQLAlchemy's ``DBAPIError`` family, like every other statement,
so the engine's retry rules see one kind of error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from anxin.ledger.views import ENTRY_COLUMNS, TRANSFER_COLUMNS, json_text

KEY_COLUMNS = ("scope", "key", "fingerprint", "result", "created_at")

# Rows arrive in the driver's form: ids as 32-digit hex (SQLite stores exactly that, and
# PostgreSQL's uuid input accepts it), times rendered by ``render_time``, JSON as text.
# Loaded rows come back the same way: ids as hex, times as aware UTC datetimes.
# accounts: (id, asset, allow_negative, status, dp, cp, dpend, cpend)
# transfers: (id, action, status, source_id, destination_id, asset, amount, settled, expires)
_SQLITE_ACCOUNTS = (
    "SELECT id, asset, allow_negative, status, debits_posted, credits_posted, "
    "debits_pending, credits_pending FROM ledger_accounts WHERE id IN ({marks})"
)
_SQLITE_TRANSFERS = (
    "SELECT id, action, status, source_id, destination_id, asset, amount, settled_amount, "
    "expires_at FROM ledger_transfers WHERE id IN ({marks})"
)
# Status changes (freeze, close) lock the account row; so do we, in id order.
_PG_ACCOUNTS = (
    "SELECT replace(id::text, '-', ''), asset, allow_negative, status, debits_posted, "
    "credits_posted, debits_pending, credits_pending FROM ledger_accounts "
    "WHERE id = ANY(%s::uuid[]) ORDER BY id FOR UPDATE"
)
_PG_TRANSFERS = (
    "SELECT replace(id::text, '-', ''), action, status, replace(source_id::text, '-', ''), "
    "replace(destination_id::text, '-', ''), asset, amount, settled_amount, expires_at "
    "FROM ledger_transfers WHERE id = ANY(%s::uuid[])"
)
_SQLITE_HEAD = "SELECT last_seq, last_hash, last_at FROM ledger_head WHERE id = 1"
# Every ledger writer, in any process, locks this row first (see batch.py).
_PG_HEAD = _SQLITE_HEAD + " FOR UPDATE"
# A join, not ``WHERE (scope, key) IN (VALUES ...)``: SQLite (3.40) runs that as a scan of
# every stored key per statement, so keyed batches slowed down as keys accumulated.
_SQLITE_KEYS = (
    "SELECT k.scope, k.key, k.fingerprint, k.result FROM (VALUES {marks}) AS v "
    "JOIN ledger_idempotency_keys AS k ON k.scope = v.column1 AND k.key = v.column2"
)
_PG_KEYS = (
    "SELECT scope, key, fingerprint, result FROM ledger_idempotency_keys "
    "WHERE (scope, key) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
)
_HEAD_UPDATE = "UPDATE ledger_head SET last_seq = {p}, last_hash = {p}, last_at = {p} WHERE id = 1"

# Bound parameters per statement stay well under SQLite's limit (999 in old builds).
_CHUNK = 900


Rows = list[tuple[Any, ...]]


class RowStream(Protocol):
    def pump(self, done: int) -> None:
        """``done`` commands of the batch are applied: every row made so far is final."""


Head = tuple[int, bytes, datetime | None]
StoredKey = tuple[str, str, str, dict[str, Any]]  # scope, key, fingerprint, result


class BulkWriter(Protocol):
    def render_time(self, moment: datetime) -> str: ...
    def data_version(self) -> int | None:
        """A number that changes whenever another connection commits to the database, or
        None where there is no such number (PostgreSQL)."""

    def lock_head(self) -> Head: ...
    def load_keys(self, claims: Sequence[tuple[str, str]]) -> list[StoredKey]: ...
    def load_accounts(self, hexes: Sequence[str]) -> list[tuple[Any, ...]]: ...
    def load_transfers(self, hexes: Sequence[str]) -> list[tuple[Any, ...]]: ...
    def insert_transfers(self, rows: Sequence[tuple[Any, ...]]) -> None: ...
    def insert_entries(self, rows: Sequence[tuple[Any, ...]]) -> None: ...
    def stream_rows(
        self, transfers: Rows, entries: Rows, commands: int
    ) -> AbstractContextManager[RowStream]: ...
    def insert_keys(self, rows: Sequence[tuple[Any, ...]]) -> None: ...
    def update_accounts(self, rows: Sequence[tuple[Any, ...]], now: datetime) -> None: ...
    def update_transfers(self, rows: Sequence[tuple[Any, ...]]) -> None: ...
    def update_head(self, seq: int, digest: bytes, now: datetime) -> None: ...


class _DriverAccess:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        raw = connection.connection.driver_connection
        assert raw is not None
        self._raw: Any = raw

    @contextmanager
    def _statement(self, sql: str) -> Iterator[None]:
        dialect = self._connection.dialect
        base = dialect.loaded_dbapi.Error
        try:
            yield
        except base as error:
            raise DBAPIError.instance(sql, None, error, base, dialect=dialect) from error


class SQLiteBulkWriter(_DriverAccess):
    def render_time(self, moment: datetime) -> str:
        # SQLAlchemy's storage format for SQLite DATETIME, in UTC (see kit.types.UTCDateTime).
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def data_version(self) -> int | None:
        # Unchanged by this connection's own commits and by checkpoints (short of TRUNCATE).
        version: int = self._raw.execute("PRAGMA data_version").fetchone()[0]
        return version

    def lock_head(self) -> Head:
        # BEGIN IMMEDIATE already took the database's write lock: a plain read will do.
        with self._statement(_SQLITE_HEAD):
            seq, digest, at = self._raw.execute(_SQLITE_HEAD).fetchone()
        return int(seq), bytes(digest), None if at is None else _sqlite_time(at)

    def load_keys(self, claims: Sequence[tuple[str, str]]) -> list[StoredKey]:
        rows: list[StoredKey] = []
        for start in range(0, len(claims), _CHUNK // 2):
            chunk = claims[start : start + _CHUNK // 2]
            statement = _SQLITE_KEYS.format(marks=", ".join(["(?, ?)"] * len(chunk)))
            with self._statement(statement):
                found = self._raw.execute(statement, [v for c in chunk for v in c]).fetchall()
            rows += [(scope, key, fp, json.loads(result)) for scope, key, fp, result in found]
        return rows

    def _select_in(self, sql: str, hexes: Sequence[str]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(hexes), _CHUNK):
            chunk = hexes[start : start + _CHUNK]
            statement = sql.format(marks=", ".join("?" * len(chunk)))
            with self._statement(statement):
                rows += self._raw.execute(statement, chunk).fetchall()
        return rows

    def load_accounts(self, hexes: Sequence[str]) -> list[tuple[Any, ...]]:
        return self._select_in(_SQLITE_ACCOUNTS, hexes)

    def load_transfers(self, hexes: Sequence[str]) -> list[tuple[Any, ...]]:
        rows = self._select_in(_SQLITE_TRANSFERS, hexes)
        return [(*row[:8], None if row[8] is None else _sqlite_time(row[8])) for row in rows]

    def _insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * len(columns))
        names = ", ".join(f'"{c}"' for c in columns)
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - fixed names
        with self._statement(sql):
            self._raw.executemany(sql, rows)

    def insert_transfers(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._insert("ledger_transfers", TRANSFER_COLUMNS, rows)

    def insert_entries(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._insert("ledger_entries", ENTRY_COLUMNS, rows)

    @contextmanager
    def stream_rows(self, transfers: Rows, entries: Rows, commands: int) -> Iterator[RowStream]:
        # SQLite works in this thread anyway: nothing to overlap, so all goes at the end.
        yield _NOTHING_TO_PUMP
        self.insert_transfers(transfers)
        self.insert_entries(entries)

    def insert_keys(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._insert(
            "ledger_idempotency_keys",
            KEY_COLUMNS,
            [(r[0], r[1], r[2], json_text(r[3]), self.render_time(r[4])) for r in rows],
        )

    def update_accounts(self, rows: Sequence[tuple[Any, ...]], now: datetime) -> None:
        stamp = self.render_time(now)
        sql = (
            "UPDATE ledger_accounts SET debits_posted = ?, credits_posted = ?, "
            "debits_pending = ?, credits_pending = ?, updated_at = ? WHERE id = ?"
        )
        # In id order, each update finds its row next to the previous one's (pages already
        # at hand) instead of anywhere in the table: about a third faster than batch order.
        values = [(r[1], r[2], r[3], r[4], stamp, r[0]) for r in rows]
        values.sort(key=itemgetter(5))
        with self._statement(sql):
            self._raw.executemany(sql, values)

    def update_transfers(self, rows: Sequence[tuple[Any, ...]]) -> None:
        sql = "UPDATE ledger_transfers SET status = ?, settled_amount = ? WHERE id = ?"
        with self._statement(sql):
            self._raw.executemany(sql, [(r[1], r[2], r[0]) for r in rows])

    def update_head(self, seq: int, digest: bytes, now: datetime) -> None:
        sql = _HEAD_UPDATE.format(p="?")
        with self._statement(sql):
            self._raw.execute(sql, (seq, digest, self.render_time(now)))


def _sqlite_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class PostgresBulkWriter(_DriverAccess):
    def render_time(self, moment: datetime) -> str:
        return moment.isoformat()  # carries its +00:00 offset: no session time zone involved

    def data_version(self) -> int | None:
        return None  # rows are locked FOR UPDATE instead, and read afresh every batch

    def _select(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._statement(sql), self._raw.cursor() as cursor:
            cursor.execute(sql, params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows

    def lock_head(self) -> Head:
        [(seq, digest, at)] = self._select(_PG_HEAD, ())
        return int(seq), bytes(digest), None if at is None else at.astimezone(UTC)

    def load_keys(self, claims: Sequence[tuple[str, str]]) -> list[StoredKey]:
        # Keys may hold any printable character: psycopg quotes these arrays itself.
        scopes, keys = [c[0] for c in claims], [c[1] for c in claims]
        return [(s, k, fp, result) for s, k, fp, result in self._select(_PG_KEYS, (scopes, keys))]

    def load_accounts(self, hexes: Sequence[str]) -> list[tuple[Any, ...]]:
        return self._select(_PG_ACCOUNTS, (_pg_array(hexes),))

    def load_transfers(self, hexes: Sequence[str]) -> list[tuple[Any, ...]]:
        rows = self._select(_PG_TRANSFERS, (_pg_array(hexes),))
        return [(*row[:8], None if row[8] is None else row[8].astimezone(UTC)) for row in rows]

    @contextmanager
    def copying(self, table: str, columns: Sequence[str]) -> Iterator[Any]:
        names = ", ".join(f'"{c}"' for c in columns)
        statement = f"COPY {table} ({names}) FROM STDIN"
        with (
            self._statement(statement),
            self._raw.cursor() as cursor,
            cursor.copy(statement) as copy,
        ):
            yield copy

    def _copy(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        with self.copying(table, columns) as copy:
            for row in rows:
                copy.write_row(row)

    def insert_transfers(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._copy("ledger_transfers", TRANSFER_COLUMNS, rows)

    def insert_entries(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._copy("ledger_entries", ENTRY_COLUMNS, rows)

    def stream_rows(self, transfers: Rows, entries: Rows, commands: int) -> _PostgresRowStream:
        return _PostgresRowStream(self, transfers, entries, commands)

    def insert_keys(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._copy(
            "ledger_idempotency_keys",
            KEY_COLUMNS,
            [(r[0], r[1], r[2], json_text(r[3]), self.render_time(r[4])) for r in rows],
        )

    def _execute(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._statement(sql), self._raw.cursor() as cursor:
            cursor.execute(sql, params)

    def update_accounts(self, rows: Sequence[tuple[Any, ...]], now: datetime) -> None:
        ids, dp, cp, dpend, cpend = (_pg_array(c) for c in zip(*rows, strict=True))
        self._execute(
            "UPDATE ledger_accounts AS a SET debits_posted = v.dp, credits_posted = v.cp, "
            "debits_pending = v.dpend, credits_pending = v.cpend, updated_at = %s "
            "FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) "
            "AS v(id, dp, cp, dpend, cpend) WHERE a.id = v.id::uuid",
            (now, ids, dp, cp, dpend, cpend),
        )

    def update_transfers(self, rows: Sequence[tuple[Any, ...]]) -> None:
        ids, statuses, settled = (_pg_array(c) for c in zip(*rows, strict=True))
        self._execute(
            "UPDATE ledger_transfers AS t SET status = v.status, settled_amount = v.settled "
            "FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS v(id, status, settled) "
            "WHERE t.id = v.id::uuid",
            (ids, statuses, settled),
        )

    def update_head(self, seq: int, digest: bytes, now: datetime) -> None:
        self._execute(_HEAD_UPDATE.format(p="%s"), (seq, digest, now))


class _NothingToPump:
    def pump(self, done: int) -> None:
        pass


_NOTHING_TO_PUMP = _NothingToPump()

# Batches smaller than this write after applying: streaming costs an extra COPY round.
_STREAM_MIN_COMMANDS = 64
# Rows go out in slices of at least this many (psycopg sends in 32 KiB buffers anyway).
_STREAM_ROWS = 256


class _PostgresRowStream:
    """Sends a batch's new rows while it is still being applied, so the server inserts and
    indexes them on its own core while Python computes the rest, instead of afterwards.

    One COPY can be open at a time. The entries of the first half of the commands go
    first, then the transfers (those made so far at once, the rest as they come), and the
    remaining entries after the batch: what the server has left to do once Python is done
    is about half of the entries, instead of all of the rows.
    """

    def __init__(
        self, writer: PostgresBulkWriter, transfers: Rows, entries: Rows, commands: int
    ) -> None:
        self._writer = writer
        self._rows = {"ledger_entries": entries, "ledger_transfers": transfers}
        self._sent = {"ledger_entries": 0, "ledger_transfers": 0}
        self._switch_at = commands // 2
        self._streaming = commands >= _STREAM_MIN_COMMANDS
        self._copy = ExitStack()
        self._table = "ledger_entries"
        self._write_row: Callable[[tuple[Any, ...]], None] = _no_row

    def __enter__(self) -> _PostgresRowStream:
        if self._streaming:
            self._open("ledger_entries")
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is not None:
            self._copy.__exit__(*exc)  # the COPY is abandoned with the batch
            return
        if self._streaming:
            self._send(1)
            self._copy.close()
        for table, rows in self._rows.items():
            if len(rows) > self._sent[table]:
                self._writer._copy(table, _COLUMNS[table], rows[self._sent[table] :])

    def pump(self, done: int) -> None:
        if not self._streaming:
            return
        self._send(_STREAM_ROWS)
        if self._table == "ledger_entries" and done >= self._switch_at:
            self._send(1)
            self._copy.close()  # ends the COPY once the server has taken it all
            self._open("ledger_transfers")
            self._send(1)

    def _open(self, table: str) -> None:
        self._copy = ExitStack()
        copy = self._copy.enter_context(self._writer.copying(table, _COLUMNS[table]))
        self._table, self._write_row = table, copy.write_row

    def _send(self, at_least: int) -> None:
        rows, sent = self._rows[self._table], self._sent[self._table]
        if len(rows) - sent >= at_least:
            write_row = self._write_row
            for row in rows[sent:]:
                write_row(row)
            self._sent[self._table] = len(rows)


def _no_row(row: tuple[Any, ...]) -> None:
    raise AssertionError("no COPY is open")


_COLUMNS = {"ledger_entries": ENTRY_COLUMNS, "ledger_transfers": TRANSFER_COLUMNS}


def _pg_array(values: Sequence[str | int]) -> str:
    """An array literal for values that need no quoting (hex ids, integers, status words).

    psycopg adapts a Python list element by element in Python, with a regex check per
    element for characters to escape; for thousands of ids that was a visible share of a
    batch. The SQL casts the literal to the array type it needs.
    """
    return "{" + ",".join(map(str, values)) + "}"


def bulk_writer(connection: Connection) -> BulkWriter:
    if connection.dialect.name == "sqlite":
        return SQLiteBulkWriter(connection)
    return PostgresBulkWriter(connection)
