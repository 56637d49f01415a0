"""Recording what staff do to a holder's wallet: the tamper-evident audit log (what
compliance can prove) and the holder's access log (what the holder is told).

Both are written in the caller's transaction, so an action and its record commit together
or not at all.
"""

from __future__ import annotations

import importlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from anxin.models import User


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:  # pragma: no cover - only before the audit log exists
        return None


def record(
    session: Session, *, staff: User | None, holder_id: uuid.UUID | None, event: str,
    action: str, data: dict[str, Any], purpose: dict[str, Any], now: datetime,
    fields: list[str] | None = None,
) -> None:  # fmt: skip
    """One staff (or system, with ``staff=None``) action on a holder's wallet."""
    audit = _module("anxin.audit.service")
    if audit is not None:
        audit.append(
            session, event=event, actor_id=staff.id if staff else None,
            actor_role=staff.role if staff else None, subject_id=holder_id, data=data, now=now,
        )  # fmt: skip
    access_log = _module("anxin.privacy.access_log")
    if access_log is not None and staff is not None and holder_id is not None:
        access_log.record(
            session, staff=staff, holder_id=holder_id, action=action, fields=fields or [],
            purpose=purpose, now=now,
        )  # fmt: skip
