"""Set-based writes for the ledger's hot path.

A batch writes thousands of rows. Going through SQLAlchemy's per-row type processing costs
more than the database work itself, so these statements go straight to the driver, with
values already in the form SQLAlchemy would have stored (so ORM reads see the same data):
- SQLite: ``executemany`` of tuples; UUIDs as 32-digit hex, datetimes as
  ``YYYY-MM-DD HH:MM:SS.ffffff`` text in UTC, JSON as text.
- PostgreSQL: ``COPY ... FROM STDIN`` for inserts, one ``UPDATE ... FROM unnest(...)``
  per table for changed rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from anxin.ledger.views import ENTRY_COLUMNS, TRANSFER_COLUMNS, json_text

KEY_COLUMNS = ("scope", "key", "fingerprint", "result", "created_at")

# Rows arrive in the driver's form: ids as 32-digit hex (SQLite stores exactly that, and
# PostgreSQL's uuid input accepts it), times rendered by ``render_time``, JSON as text.


class BulkWriter(Protocol):
    def render_time(self, moment: datetime) -> str: ...
    def insert_transfers(self, rows: Sequence[tuple[Any, ...]]) -> None: ...
    def insert_entries(self, rows: Sequence[tuple[Any, ...]]) -> None: ...
    def insert_keys(self, rows: Sequence[tuple[Any, ...]]) -> None: ...
    def update_accounts(self, rows: Sequence[tuple[Any, ...]], now: datetime) -> None: ...
    def update_transfers(self, rows: Sequence[tuple[Any, ...]]) -> None: ...


class SQLiteBulkWriter:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def render_time(self, moment: datetime) -> str:
        # SQLAlchemy's storage format for SQLite DATETIME, in UTC (see kit.types.UTCDateTime).
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def _insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * len(columns))
        names = ", ".join(f'"{c}"' for c in columns)
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - fixed names
        self._connection.exec_driver_sql(sql, list(rows))

    def insert_transfers(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._insert("ledger_transfers", TRANSFER_COLUMNS, rows)

    def insert_entries(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._insert("ledger_entries", ENTRY_COLUMNS, rows)

    def insert_keys(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._insert(
            "ledger_idempotency_keys",
            KEY_COLUMNS,
            [(r[0], r[1], r[2], json_text(r[3]), self.render_time(r[4])) for r in rows],
        )

    def update_accounts(self, rows: Sequence[tuple[Any, ...]], now: datetime) -> None:
        stamp = self.render_time(now)
        self._connection.exec_driver_sql(
            "UPDATE ledger_accounts SET debits_posted = ?, credits_posted = ?, "
            "debits_pending = ?, credits_pending = ?, updated_at = ? WHERE id = ?",
            [(r[1], r[2], r[3], r[4], stamp, r[0]) for r in rows],
        )

    def update_transfers(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._connection.exec_driver_sql(
            "UPDATE ledger_transfers SET status = ?, settled_amount = ? WHERE id = ?",
            [(r[1], r[2], r[0]) for r in rows],
        )


class PostgresBulkWriter:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def render_time(self, moment: datetime) -> str:
        return moment.isoformat()  # carries its +00:00 offset: no session time zone involved

    def _copy(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        names = ", ".join(f'"{c}"' for c in columns)
        raw = self._connection.connection.driver_connection
        assert raw is not None
        statement = f"COPY {table} ({names}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def insert_transfers(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._copy("ledger_transfers", TRANSFER_COLUMNS, rows)

    def insert_entries(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._copy("ledger_entries", ENTRY_COLUMNS, rows)

    def insert_keys(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._copy(
            "ledger_idempotency_keys",
            KEY_COLUMNS,
            [(r[0], r[1], r[2], json_text(r[3]), self.render_time(r[4])) for r in rows],
        )

    def update_accounts(self, rows: Sequence[tuple[Any, ...]], now: datetime) -> None:
        ids, dp, cp, dpend, cpend = (list(c) for c in zip(*rows, strict=True))
        self._connection.exec_driver_sql(
            "UPDATE ledger_accounts AS a SET debits_posted = v.dp, credits_posted = v.cp, "
            "debits_pending = v.dpend, credits_pending = v.cpend, updated_at = %s "
            "FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) "
            "AS v(id, dp, cp, dpend, cpend) WHERE a.id = v.id::uuid",
            (now, ids, dp, cp, dpend, cpend),
        )

    def update_transfers(self, rows: Sequence[tuple[Any, ...]]) -> None:
        ids, statuses, settled = (list(c) for c in zip(*rows, strict=True))
        self._connection.exec_driver_sql(
            "UPDATE ledger_transfers AS t SET status = v.status, settled_amount = v.settled "
            "FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS v(id, status, settled) "
            "WHERE t.id = v.id::uuid",
            (ids, statuses, settled),
        )


def bulk_writer(connection: Connection) -> BulkWriter:
    if connection.dialect.name == "sqlite":
        return SQLiteBulkWriter(connection)
    return PostgresBulkWriter(connection)
