from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from anxin import migrations
from anxin.kit.db import Database
from anxin.models import Base
from tests.migrations.databases import empty_db_url
from tests.migrations.revisions import all_revisions, behind_target, stamp

__all__ = ["empty_db_url"]


@pytest.fixture
def database(empty_db_url: str) -> Iterator[Database]:
    db = Database(empty_db_url)
    yield db
    db.dispose()


def _tables(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def _diff(database: Database) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": False}
        )
        return list(compare_metadata(context, Base.metadata))


def test_head_matches_the_models(database: Database) -> None:
    migrations.upgrade(database.engine)
    assert _diff(database) == []
    assert _tables(database) == set(Base.metadata.tables) | {"alembic_version"}


def test_upgrade_twice_is_harmless(database: Database) -> None:
    migrations.upgrade(database.engine)
    migrations.upgrade(database.engine)
    assert migrations.schema_status(database.engine).up_to_date


def test_down_to_base_and_up_again(database: Database) -> None:
    migrations.upgrade(database.engine)
    migrations.downgrade(database.engine, "base")
    assert _tables(database) <= {"alembic_version"}
    assert migrations.schema_status(database.engine).current is None
    migrations.upgrade(database.engine)
    assert _diff(database) == []
    # The journal is append-only again: the triggers came back with the tables.
    with database.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO ledger_entries (seq, transfer_id, account_id, side, posted, pending, "
            "debits_posted, credits_posted, debits_pending, credits_pending, created_at, hash) "
            "VALUES (1, :t, :a, 'D', 1, 0, 1, 0, 0, 0, :at, :h)"
        ), {"t": "0" * 32, "a": "0" * 32, "at": "2030-01-01 00:00:00", "h": bytes(32)})  # fmt: skip
    for statement in ("UPDATE ledger_entries SET posted = 2", "DELETE FROM ledger_entries"):
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as connection:
            connection.execute(text(statement))


def test_every_revision_steps_up_and_down(database: Database) -> None:
    revisions = all_revisions()
    for revision in revisions:
        migrations.upgrade(database.engine, revision)
        assert migrations.schema_status(database.engine).current == revision
    for previous in [*reversed(revisions[:-1]), "base"]:
        migrations.downgrade(database.engine, "-1")
        expected = None if previous == "base" else previous
        assert migrations.schema_status(database.engine).current == expected
    assert _tables(database) <= {"alembic_version"}


def test_schema_status_of_an_empty_database(database: Database) -> None:
    status = migrations.schema_status(database.engine)
    assert (status.current, status.empty, status.up_to_date) == (None, True, False)
    assert status.head == migrations.head_revision()
    assert not status.ahead
    assert status.problem() is None  # brand new: `serve` may create the schema


def test_schema_status_when_current(database: Database) -> None:
    migrations.upgrade(database.engine)
    status = migrations.schema_status(database.engine)
    assert status.up_to_date
    assert status.current == migrations.head_revision()
    assert not status.empty
    assert not status.ahead
    assert status.problem() is None


def test_schema_status_when_behind(database: Database) -> None:
    migrations.upgrade(database.engine)
    migrations.downgrade(database.engine, behind_target())
    status = migrations.schema_status(database.engine)
    assert not status.up_to_date
    assert not status.ahead
    problem = status.problem()
    assert problem is not None
    if behind_target() != "base":
        assert "behind" in problem
        assert "anxin migrate" in problem


def test_schema_status_when_ahead(database: Database) -> None:
    migrations.upgrade(database.engine)
    stamp(database.engine, "ffffffffffff")
    status = migrations.schema_status(database.engine)
    assert status.ahead
    assert not status.up_to_date
    assert "newer than this version of Anxin" in (status.problem() or "")


def test_schema_status_of_someone_elses_database(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    status = migrations.schema_status(database.engine)
    assert (status.current, status.empty) == (None, False)
    assert "no Anxin schema version" in (status.problem() or "")


def test_schema_status_logic() -> None:
    head = migrations.head_revision()
    older = behind_target()
    cases = [
        (migrations.SchemaStatus(current=head, head=head, empty=False), None),
        (migrations.SchemaStatus(current=None, head=head, empty=True), None),
        (migrations.SchemaStatus(current=None, head=head, empty=False), "no Anxin schema"),
        (migrations.SchemaStatus(current="ffff", head=head, empty=False), "upgrade Anxin"),
    ]
    if older != "base":
        cases.append(
            (migrations.SchemaStatus(current=older, head=head, empty=False), "anxin migrate")
        )
    for status, says in cases:
        problem = status.problem()
        if says is None:
            assert problem is None, status
        else:
            assert problem is not None
            assert says in problem, status
            assert "\n" not in problem
    assert set(all_revisions()) == migrations.known_revisions()
    assert all_revisions()[-1] == head
