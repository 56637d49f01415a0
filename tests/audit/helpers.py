"""Helpers for audit tests: users without the identity machinery, and tampering."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from anxin.kit.db import Database
from anxin.kit.ids import new_id
from anxin.models import User


def add_user(
    session: Session, now: datetime, *, kind: str = "holder", role: str | None = None
) -> User:
    user_id = new_id()
    user = User(
        id=user_id, kind=kind, role=role, status="active",
        pseudonym=f"staff-{user_id.hex[-8:]}" if kind == "staff" else None,
        display_name_enc=None, locale="zh-CN", tier="unverified", password_hash="x",
        password_changed_at=now, failed_passwords=0, failed_factors=0, locked_until=None,
        daily_limit=None, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(user)
    session.flush()
    return user


@contextmanager
def tampering(database: Database) -> Iterator[Connection]:
    """A committed transaction in which the audit tables' append-only triggers are off."""
    with database.connect(write=True) as connection, connection.begin():
        if database.is_sqlite:
            for table in ("audit_log", "audit_checkpoints"):
                for verb in ("update", "delete"):
                    connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        else:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield connection


def ids(n: int) -> list[uuid.UUID]:
    return [new_id() for _ in range(n)]
