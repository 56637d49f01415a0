"""``append``: entries are written at commit, chained by hash, numbered without gaps, and
nothing (not even the database's owner, short of dropping triggers) changes them."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from anxin.audit import service as audit
from anxin.audit.chain import GENESIS, content_digest, entry_hash
from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import AuditEntry, AuditHead, User

NOW = SystemClock().now().replace(microsecond=123456)


def _all(database: Database) -> list[AuditEntry]:
    with UnitOfWork(database, write=False) as uow:
        rows = list(uow.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
        uow.session.expunge_all()
        return rows


def _append(uow: UnitOfWork, event: str, **data: object) -> None:
    audit.append(uow.session, event=event, actor_id=None, actor_role=None, subject_id=None,
                 data=dict(data), now=NOW)  # fmt: skip


def test_entries_are_chained_and_written_at_commit(database: Database) -> None:
    actor, subject = uuid.uuid4(), uuid.uuid4()
    with UnitOfWork(database) as uow:
        audit.append(
            uow.session, event="auth.signin", actor_id=actor, actor_role="agent",
            subject_id=subject, data={"methods": ["password", "totp"], "n": 3, "id": actor},
            now=NOW,
        )  # fmt: skip
        _append(uow, "privacy.reveal", fields=["phone"])
        assert uow.session.scalar(select(AuditEntry.seq)) is None  # not yet: at commit
        uow.commit()
    first, second = _all(database)
    assert (first.seq, second.seq) == (1, 2)
    assert first.data == {"methods": ["password", "totp"], "n": 3, "id": str(actor)}
    assert (first.actor_id, first.actor_role, first.subject_id) == (actor, "agent", subject)
    assert first.at == NOW
    content = content_digest(at=first.at, event=first.event, actor_id=actor,
                             actor_role="agent", subject_id=subject, data=first.data)  # fmt: skip
    assert first.prev_hash == GENESIS and first.hash == entry_hash(GENESIS, 1, content)
    assert second.prev_hash == first.hash
    with UnitOfWork(database, write=False) as uow:
        head = uow.session.get(AuditHead, 1)
        assert head is not None and (head.last_seq, head.last_hash) == (2, second.hash)


def test_a_rolled_back_unit_of_work_leaves_no_entry(database: Database) -> None:
    with UnitOfWork(database) as uow:
        _append(uow, "auth.signin")
    with UnitOfWork(database) as uow:
        _append(uow, "auth.signin")
        uow.session.rollback()
        uow.commit()  # a new transaction with nothing queued
    with UnitOfWork(database) as uow:
        _append(uow, "kept")
        uow.commit()
    assert [e.event for e in _all(database)] == ["kept"]


def test_bad_input_is_refused() -> None:
    class Fake:
        info: dict[str, object] = {}

    for data in ({"amount": 1.5}, {1: "x"}, {"x": object()}, {"x": "a\x00b"}):
        with pytest.raises((TypeError, ValueError)):
            audit.append(Fake(), event="x", actor_id=None, actor_role=None,  # type: ignore[arg-type]
                         subject_id=None, data=data, now=NOW)  # fmt: skip
    with pytest.raises(ValueError, match="aware"):
        audit.append(Fake(), event="x", actor_id=None, actor_role=None,  # type: ignore[arg-type]
                     subject_id=None, data={}, now=NOW.replace(tzinfo=None))  # fmt: skip
    with pytest.raises(ValueError, match="64"):
        audit.append(Fake(), event="x" * 65, actor_id=None, actor_role=None,  # type: ignore[arg-type]
                     subject_id=None, data={}, now=NOW)  # fmt: skip


def test_the_log_refuses_update_and_delete(database: Database) -> None:
    with UnitOfWork(database) as uow:
        _append(uow, "auth.signin")
        uow.commit()
    for statement in ("UPDATE audit_log SET event = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as c:
            c.execute(text(statement))
    if not database.is_sqlite:
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as c:
            c.execute(text("TRUNCATE audit_log"))
    assert len(_all(database)) == 1


def test_a_missing_head_is_restored_from_the_last_entry_and_says_so(database: Database) -> None:
    with UnitOfWork(database) as uow:
        _append(uow, "one")
        uow.commit()
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_head"))
    with UnitOfWork(database) as uow:
        _append(uow, "two")
        uow.commit()
    assert [(e.seq, e.event) for e in _all(database)] == [
        (1, "one"), (2, "audit.head_restored"), (3, "two"),
    ]  # fmt: skip


def test_concurrent_appends_form_one_gapless_chain(database: Database) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(10):
                with UnitOfWork(database) as uow:
                    _append(uow, "work", worker=worker, i=i)
                    uow.commit()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    rows = _all(database)
    assert [e.seq for e in rows] == list(range(1, 41))
    previous = GENESIS
    for entry in rows:
        assert entry.prev_hash == previous
        previous = entry.hash


def test_the_head_is_locked_only_after_every_other_write(database: Database) -> None:
    """A transaction holding the head lock never waits for another row lock: the holder of
    that row might be waiting for the head (a deadlock). PostgreSQL only: SQLite has one
    writer at a time anyway."""
    if database.is_sqlite:
        pytest.skip("SQLite serialises writers with BEGIN IMMEDIATE")
    import time as clock_time

    from tests.audit.helpers import add_user

    with UnitOfWork(database) as uow:
        user_id = add_user(uow.session, NOW).id
        uow.commit()
    errors: list[BaseException] = []
    with UnitOfWork(database) as holder:  # B: holds the user's row lock
        row = holder.session.get(User, user_id)
        assert row is not None
        row.failed_passwords += 1
        holder.session.flush()

        def writer() -> None:  # A: changes the same row and audits it
            try:
                with UnitOfWork(database) as uow:
                    mine = uow.session.get(User, user_id)
                    assert mine is not None
                    mine.failed_factors += 1
                    _append(uow, "a")
                    uow.commit()
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        thread = threading.Thread(target=writer)
        thread.start()
        for _ in range(500):  # until A waits for B's row lock
            with database.engine.connect() as probe:
                waiting = probe.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )).scalar()  # fmt: skip
            if waiting:
                break
            clock_time.sleep(0.01)
        _append(holder, "b")
        holder.commit()  # B needs the head: free, because A waits before taking it
    thread.join()
    assert not errors
    assert sorted(e.event for e in _all(database)) == ["a", "b"]
