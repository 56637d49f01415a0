"""UTCDateTime: aware UTC datetimes in, the same instants out, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

from anxin.kit.db import Database
from anxin.kit.types import UTCDateTime

metadata = MetaData()
moments = Table(
    "test_moments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=True),
    prefixes=["TEMPORARY"],
)

VALUES = [
    datetime(2030, 1, 1, tzinfo=UTC),
    datetime(2030, 6, 30, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=timezone(timedelta(hours=8))),
    datetime(2024, 3, 1, 1, 2, 3, 4, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    None,
]


def test_round_trip(database: Database) -> None:
    with database.connect() as connection, connection.begin():
        metadata.create_all(connection)
        connection.execute(insert(moments), [{"id": i, "at": v} for i, v in enumerate(VALUES)])
        rows = connection.execute(select(moments.c.at).order_by(moments.c.id)).scalars().all()
        metadata.drop_all(connection)
    assert rows == VALUES  # the same instants...
    for row in rows:
        assert row is None or row.tzinfo == UTC  # ... always read back in UTC


def test_naive_datetimes_are_refused(database: Database) -> None:
    with database.connect() as connection, connection.begin():
        metadata.create_all(connection)
        with pytest.raises(StatementError, match="naive datetime"):
            connection.execute(insert(moments), {"id": 1, "at": datetime(2030, 1, 1)})
        metadata.drop_all(connection)


def test_comparisons_use_the_instant(database: Database) -> None:
    shanghai = timezone(timedelta(hours=8))
    with database.connect() as connection, connection.begin():
        metadata.create_all(connection)
        connection.execute(
            insert(moments), {"id": 1, "at": datetime(2030, 1, 1, 8, tzinfo=shanghai)}
        )
        later = select(moments.c.id).where(moments.c.at >= datetime(2030, 1, 1, tzinfo=UTC))
        found = connection.execute(later).scalars().all()
        metadata.drop_all(connection)
    assert found == [1]
