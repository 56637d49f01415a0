"""Recording what staff do to a holder's wallet: the tamper-evident audit log (what
compliance can prove) and the holder's access log (what the holder is told).

Both are written in the caller's transaction, so an action and its record commit together
or not at all.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.models import User
from anxin.privacy import access_log


def record(
    session: Session, *, staff: User | None, holder_id: uuid.UUID | None, event: str,
    action: str, data: dict[str, Any], purpose: dict[str, Any], now: datetime,
    fields: list[str] | None = None,
) -> None:  # fmt: skip
    """One staff action (or, with ``staff=None``, a system action) on the wallet; with a
    holder, it also goes to the log the holder reads."""
    audit.append(
        session, event=event, actor_id=staff.id if staff else None,
        actor_role=staff.role if staff else None, subject_id=holder_id, data=data, now=now,
    )  # fmt: skip
    if staff is not None and holder_id is not None:
        access_log.record(
            session, staff=staff, holder_id=holder_id, action=action, fields=fields or [],
            purpose=purpose, now=now,
        )  # fmt: skip
