"""``verify_audit`` catches each kind of tampering and says which entry, on both databases."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, insert, select, text, update

from anxin.audit import checkpoints
from anxin.audit import service as audit
from anxin.audit.chain import content_digest, entry_hash
from anxin.audit.checkpoints import Signer
from anxin.audit.verify import AuditReport, verify_audit
from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import AuditCheckpoint, AuditEntry, AuditHead
from tests.audit.helpers import tampering

START = SystemClock().now().replace(microsecond=0)
SIGNER = Signer(Ed25519PrivateKey.generate())
KEYS = {SIGNER.key_id: SIGNER.public_key}


def build(database: Database, count: int = 10) -> None:
    """``count`` entries over several commits."""
    for batch in range(0, count, 4):
        with UnitOfWork(database) as uow:
            for i in range(batch, min(batch + 4, count)):
                audit.append(
                    uow.session, event="auth.signin", actor_id=new_id(), actor_role="agent",
                    subject_id=None, data={"n": i + 1}, now=START + timedelta(seconds=i),
                )  # fmt: skip
            uow.commit()


def report_of(database: Database) -> AuditReport:
    with database.connect(write=False) as connection:
        return verify_audit(connection, KEYS)


def problems_after(database: Database, tamper: Callable[[Connection], None]) -> str:
    with tampering(database) as connection:
        tamper(connection)
    report = report_of(database)
    assert not report.ok
    return "\n".join(report.problems)


def sql(*statements: str) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        for statement in statements:
            connection.execute(text(statement))

    return run


def forged(connection: Connection, seq: int, prev: bytes, **data: Any) -> dict[str, Any]:
    """An entry computed exactly as ``append`` would, at position ``seq`` after ``prev``."""
    at = START + timedelta(minutes=5)
    content = content_digest(at=at, event="privacy.reveal", actor_id=None, actor_role=None,
                             subject_id=None, data=data)  # fmt: skip
    row = {"seq": seq, "at": at, "event": "privacy.reveal", "actor_id": None,
           "actor_role": None, "subject_id": None, "data": data, "prev_hash": prev,
           "hash": entry_hash(prev, seq, content)}  # fmt: skip
    connection.execute(insert(AuditEntry.__table__), [row])
    return row


def hash_of(connection: Connection, seq: int) -> bytes:
    return bytes(connection.execute(select(AuditEntry.hash).where(AuditEntry.seq == seq)).one()[0])


def test_an_intact_log_verifies(database: Database) -> None:
    assert report_of(database).ok  # empty
    build(database)
    report = report_of(database)
    assert report.ok, report.problems
    assert report.entries_checked == 10


def test_altered_entry(database: Database) -> None:
    build(database)
    found = problems_after(
        database, sql("""UPDATE audit_log SET data = '{"n": 99}' WHERE seq = 4""")
    )
    assert found == "entry #4 was altered: its content no longer matches its hash"


def test_altered_actor_or_time(database: Database) -> None:
    build(database)
    with database.connect(write=False) as connection:
        at = connection.execute(select(AuditEntry.at).where(AuditEntry.seq == 7)).one()[0]
    found = problems_after(
        database,
        lambda c: c.execute(
            update(AuditEntry.__table__)
            .where(AuditEntry.seq == 7)
            .values(at=at - timedelta(days=1))
        ),
    )
    assert found == "entry #7 was altered: its content no longer matches its hash"


def test_altered_entry_with_recomputed_hash(database: Database) -> None:
    build(database)

    def rehash(connection: Connection) -> None:
        prev = hash_of(connection, 4)
        connection.execute(text("DELETE FROM audit_log WHERE seq = 5"))
        forged(connection, 5, prev, n=5, note="nothing to see")

    assert problems_after(database, rehash) == (
        "entry #5 was altered and its hash recomputed: entry #6 links to a different hash"
    )


def test_deleted_entry(database: Database) -> None:
    build(database)
    assert problems_after(database, sql("DELETE FROM audit_log WHERE seq = 3")) == (
        "entry #3 was deleted"
    )


def test_deleted_entries_hidden_by_renumbering(database: Database) -> None:
    build(database)
    found = problems_after(database, sql(
        "DELETE FROM audit_log WHERE seq IN (3, 4)",
        "UPDATE audit_log SET seq = seq + 1000 WHERE seq > 4",
        "UPDATE audit_log SET seq = seq - 1002 WHERE seq > 1000",
        "UPDATE audit_head SET last_seq = 8",
    ))  # fmt: skip
    assert found == "entries #3-#4 were deleted (later entries were renumbered to hide it)"


def test_deleted_first_entry_hidden_by_renumbering(database: Database) -> None:
    build(database)
    found = problems_after(database, sql(
        "DELETE FROM audit_log WHERE seq = 1",
        "UPDATE audit_log SET seq = seq + 1000",
        "UPDATE audit_log SET seq = seq - 1001",
    ))  # fmt: skip
    assert found == "entry #1 was deleted (later entries were renumbered to hide it)"


def test_cut_off_tail(database: Database) -> None:
    build(database)
    assert problems_after(database, sql("DELETE FROM audit_log WHERE seq >= 9")) == (
        "entries #9-#10 were deleted"
    )


def test_inserted_entry(database: Database) -> None:
    build(database)

    def insert_at_3(connection: Connection) -> None:
        prev = hash_of(connection, 2)
        connection.execute(text("UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3"))
        connection.execute(text("UPDATE audit_log SET seq = seq - 999 WHERE seq > 1000"))
        forged(connection, 3, prev, fields=["id_number"])

    found = problems_after(database, insert_at_3)
    assert found == (
        "entry #3 was inserted: it is not in the hash chain (the genuine entry #3 is still "
        "there, now stored as #4)\n"
        "entries after #10 were added behind the head's back (inserted), or the head row was "
        "rolled back"
    )


def test_inserted_entry_after_the_head(database: Database) -> None:
    build(database)
    found = problems_after(database, lambda c: forged(c, 11, hash_of(c, 10), n=11))
    assert "entries after #10 were added behind the head's back" in found


def test_reordered_entries(database: Database) -> None:
    build(database)
    found = problems_after(database, sql(
        "UPDATE audit_log SET seq = -3 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = -3",
    ))  # fmt: skip
    assert found == "entries #3 and #4 were reordered: #4 is stored before #3"


def test_missing_head_row(database: Database) -> None:
    build(database)
    assert "the audit head row is missing" in problems_after(
        database, sql("DELETE FROM audit_head")
    )


def _checkpoint(database: Database, signer: Signer = SIGNER) -> AuditCheckpoint:
    with UnitOfWork(database) as uow:
        row = checkpoints.create(uow.session, signer, START + timedelta(hours=1))
        uow.commit()
        uow.session.expunge(row)
    return row


def test_checkpoints_sign_the_head_and_are_recorded(database: Database) -> None:
    build(database)
    row = _checkpoint(database)
    assert (row.seq, row.key_id) == (10, SIGNER.key_id)
    doc = checkpoints.published(row, SIGNER.public_key)
    assert doc["seq"] == 10 and base64.b64decode(doc["public_key"]) == SIGNER.public_key
    with UnitOfWork(database, write=False) as uow:
        [entry] = audit.entries(uow.session, event_name="audit.checkpoint")
        assert entry.seq == 11 and entry.data["hash"] == row.hash.hex()
        head = uow.session.get(AuditHead, 1)
        assert head is not None and head.last_seq == 11
    report = report_of(database)
    assert report.ok and report.checkpoints_checked == 1


def test_an_empty_log_has_nothing_to_checkpoint(database: Database) -> None:
    with pytest.raises(checkpoints.NothingToCheckpoint), UnitOfWork(database) as uow:
        checkpoints.create(uow.session, SIGNER, START)


def test_rewriting_the_whole_chain_is_caught_by_a_checkpoint(database: Database) -> None:
    build(database)
    _checkpoint(database)

    def rewrite(connection: Connection) -> None:
        # Alter entry 2, then recompute every hash after it and the head: the chain alone
        # looks perfect now.
        rows = connection.execute(select(AuditEntry.__table__).order_by(AuditEntry.seq)).all()
        connection.execute(text("DELETE FROM audit_log WHERE seq >= 2"))
        prev = bytes(rows[0].hash)
        for row in rows[1:]:
            data = {"n": 999} if row.seq == 2 else row.data
            content = content_digest(at=row.at, event=row.event, actor_id=row.actor_id,
                                     actor_role=row.actor_role, subject_id=row.subject_id,
                                     data=data)  # fmt: skip
            digest = entry_hash(prev, row.seq, content)
            connection.execute(insert(AuditEntry.__table__), [{
                **row._asdict(), "data": data, "prev_hash": prev, "hash": digest,
            }])  # fmt: skip
            prev = digest
        connection.execute(update(AuditHead.__table__).values(last_hash=prev))

    found = problems_after(database, rewrite)
    assert found.endswith(
        "entry #10 no longer has the signed hash, so the log up to it was rewritten"
    )
    assert found.count("\n") == 0


def test_forged_checkpoint(database: Database) -> None:
    build(database)
    row = _checkpoint(database)
    forged_signature = bytes(64)

    def forge(connection: Connection) -> None:
        connection.execute(insert(AuditCheckpoint.__table__), [{
            "id": new_id(), "seq": 5, "hash": hash_of(connection, 5), "at": row.at,
            "key_id": SIGNER.key_id, "signature": forged_signature,
        }])  # fmt: skip

    found = problems_after(database, forge)
    assert found.startswith("checkpoint of entry #5") and "has an invalid signature" in found


def test_checkpoint_signed_by_another_key(database: Database) -> None:
    build(database)
    _checkpoint(database, Signer(Ed25519PrivateKey.generate()))
    assert "is signed by unknown key" in "\n".join(report_of(database).problems)


def test_altered_checkpoint(database: Database) -> None:
    build(database)
    _checkpoint(database)
    found = problems_after(database, sql("UPDATE audit_checkpoints SET seq = 9"))
    assert "checkpoint of entry #9" in found and "invalid signature" in found


def test_deleted_checkpoint(database: Database) -> None:
    build(database)
    _checkpoint(database)
    found = problems_after(database, sql("DELETE FROM audit_checkpoints"))
    assert found.startswith("the checkpoint recorded in entry #11") and "was deleted" in found
