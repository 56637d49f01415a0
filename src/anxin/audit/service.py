"""Appending to the tamper-evident audit log.

``append`` is the only way anything enters the log, and nothing in Anxin updates or deletes
an entry (the database refuses it too). Entries are chained by hash (``anxin.audit.chain``)
and numbered without gaps, so every append takes the single ``audit_head`` row lock, like
the ledger's chain head.

An entry is written when its unit of work commits (a ``before_commit`` hook), not when
``append`` is called: the head lock is then held only for the commit itself, and it is
always taken after any ledger chain-head lock of the same transaction, so code that moves
money and audits it can never deadlock with code that audits first and moves money next.
A rolled-back unit of work leaves no audit entry, exactly as it leaves no other row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, event, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction

from anxin.audit.chain import GENESIS, content_digest, entry_hash, normalise_data
from anxin.models.identity import User
from anxin.models.insider import AuditEntry, AuditHead

_PENDING = "anxin_audit_pending"
_log = cast(Table, AuditEntry.__table__)
_head = cast(Table, AuditHead.__table__)


@dataclass(frozen=True)
class _Pending:
    at: datetime
    event: str
    actor_id: uuid.UUID | None
    actor_role: str | None
    subject_id: uuid.UUID | None
    data: dict[str, Any]


def append(
    session: Session, *, event: str, actor_id: uuid.UUID | None, actor_role: str | None,
    subject_id: uuid.UUID | None, data: dict[str, Any], now: datetime,
) -> None:  # fmt: skip
    """Record a security-relevant event; it is written when the session commits.

    ``event`` is a dotted name such as ``auth.signin`` or ``privacy.reveal``; ``data`` is
    JSON (strings, integers, booleans, lists, objects; UUIDs and datetimes become strings)
    and must never hold personal data in plaintext: name fields, not their values.
    """
    if not event or len(event) > 64:
        raise ValueError("an audit event name is 1 to 64 characters")
    if actor_role is not None and len(actor_role) > 32:
        raise ValueError("an actor role is at most 32 characters")
    if now.tzinfo is None:
        raise ValueError("audit times must be aware datetimes")
    entry = _Pending(now, event, actor_id, actor_role, subject_id, normalise_data(data))
    session.info.setdefault(_PENDING, []).append(entry)
    session.connection()  # make sure a transaction is open, so its end clears the queue


def account_event(
    session: Session, user_id: uuid.UUID, event: str, *, now: datetime, **data: Any
) -> None:
    """An event a user caused on their own account (a sign-in, a factor change)."""
    user = session.get(User, user_id)
    role = (user.role or user.kind) if user is not None else None
    append(session, event=event, actor_id=user_id, actor_role=role, subject_id=user_id,
           data=data, now=now)  # fmt: skip


def flush(session: Session) -> None:
    """Write queued entries now (the head stays locked until the session commits)."""
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    if pending:
        # Everything else first: once the head is locked this transaction must only commit,
        # never wait for another row lock (whose holder may be waiting for the head).
        session.flush()
        _write(session.connection(), pending)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    flush(session)


@event.listens_for(Session, "after_transaction_end")
def _after_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_PENDING, None)


def lock_head(connection: Connection) -> tuple[int, bytes, bool]:
    """Lock the head row and return (last seq, last hash, restored). A missing head row is
    put back from the last entry (and the caller records that it had to)."""
    query = select(_head.c.last_seq, _head.c.last_hash).where(_head.c.id == 1)
    if connection.dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE already serialises
        query = query.with_for_update()
    row = connection.execute(query).one_or_none()
    if row is not None:
        return int(row.last_seq), bytes(row.last_hash), False
    last = connection.execute(
        select(_log.c.seq, _log.c.hash).order_by(_log.c.seq.desc()).limit(1)
    ).one_or_none()
    seq, digest = (int(last.seq), bytes(last.hash)) if last else (0, GENESIS)
    make = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    # Two first appends at once: one inserts, the other waits on it and inserts nothing.
    connection.execute(
        make(_head).values(id=1, last_seq=seq, last_hash=digest).on_conflict_do_nothing()
    )
    row = connection.execute(query).one()
    return int(row.last_seq), bytes(row.last_hash), last is not None


def _write(connection: Connection, pending: Sequence[_Pending]) -> None:
    seq, previous, restored = lock_head(connection)
    if restored:
        first = pending[0]
        notice = _Pending(first.at, "audit.head_restored", None, None, None, {"last_seq": seq})
        pending = [notice, *pending]
    rows = []
    for item in pending:
        seq += 1
        content = content_digest(
            at=item.at, event=item.event, actor_id=item.actor_id, actor_role=item.actor_role,
            subject_id=item.subject_id, data=item.data,
        )  # fmt: skip
        digest = entry_hash(previous, seq, content)
        rows.append(
            {
                "seq": seq, "at": item.at, "event": item.event, "actor_id": item.actor_id,
                "actor_role": item.actor_role, "subject_id": item.subject_id,
                "data": item.data, "prev_hash": previous, "hash": digest,
            }
        )  # fmt: skip
        previous = digest
    connection.execute(insert(_log), rows)
    connection.execute(
        update(_head)
        .where(_head.c.id == 1)
        .values(last_seq=seq, last_hash=previous, last_at=pending[-1].at)
    )


# -- reading (compliance) -----------------------------------------------------------------


def entries(
    session: Session, *, after_seq: int = 0, limit: int = 100, event_name: str | None = None,
    actor_id: uuid.UUID | None = None, subject_id: uuid.UUID | None = None,
    newest_first: bool = False,
) -> list[AuditEntry]:  # fmt: skip
    query = select(AuditEntry)
    if event_name is not None:
        query = query.where(AuditEntry.event == event_name)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == subject_id)
    if newest_first:
        if after_seq:
            query = query.where(AuditEntry.seq < after_seq)
        query = query.order_by(AuditEntry.seq.desc())
    else:
        query = query.where(AuditEntry.seq > after_seq).order_by(AuditEntry.seq)
    return list(session.scalars(query.limit(limit)))
