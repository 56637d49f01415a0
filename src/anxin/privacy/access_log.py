"""What staff did with a holder's account and data, as the holder sees it.

Every reveal, export, freeze, unfreeze, suspension and money movement a staff member makes
on a holder's account is recorded here with the staff member's pseudonym and role (never
their name), when, which fields, and the stated purpose; the holder reads it at
``GET /v1/me/access-log``. A break-glass access (no case, only a written reason) also
notifies the holder at once.

Callers record the same action in the audit log themselves (``anxin.audit.service.append``):
this log is what the holder is told, the audit log is what compliance can prove.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.audit.chain import normalise_data
from anxin.kit.ids import new_id
from anxin.models import Notification, User
from anxin.models.insider import AccessLogEntry
from anxin.privacy.vault import Vault

BREAK_GLASS_NOTICE = "privacy.break_glass_access"

# What the holder reads: field and role names in their language.
_FIELD_LABELS = {
    "zh": {
        "display_name": "昵称", "phone": "手机号", "email": "邮箱", "legal_name": "姓名",
        "id_number": "证件号码", "date_of_birth": "出生日期", "address": "地址",
        "nationality": "国籍",
    },
    "en": {
        "display_name": "display name", "phone": "phone number", "email": "email address",
        "legal_name": "legal name", "id_number": "ID number", "date_of_birth": "date of birth",
        "address": "address", "nationality": "nationality",
    },
}  # fmt: skip
_NOTICE = {
    "zh": (
        "工作人员紧急查看了您的资料",
        "工作人员 {staff}（{role}）在没有关联工单的情况下查看了您的{fields}，"  # noqa: RUF001
        "所述理由：{reason}。每一次这样的查看都由合规团队审核。"  # noqa: RUF001
        "您可以在“访问记录”中看到谁在何时因何查看了您的资料。",
    ),
    "en": (
        "A staff member viewed your data in an emergency",
        "Staff member {staff} ({role}) viewed your {fields} without a linked case, stating: "
        "{reason}. Our compliance team reviews every such access. Your access log shows who "
        "looked at your data, when and why.",
    ),
}


def record(
    session: Session, *, staff: User, holder_id: uuid.UUID, action: str, fields: list[str],
    purpose: dict[str, Any], now: datetime, break_glass: bool = False,
    vault: Vault | None = None,
) -> None:  # fmt: skip
    """Record one staff action on one holder. With ``break_glass``, the holder is notified
    in the app and, when a ``vault`` is given, by email/SMS to their verified contacts."""
    if staff.kind != "staff":
        raise ValueError("only staff actions go to the access log")
    if not action or len(action) > 32:
        raise ValueError("an access-log action is 1 to 32 characters")
    session.add(
        AccessLogEntry(
            id=new_id(), holder_id=holder_id, staff_id=staff.id,
            staff_pseudonym=staff.pseudonym or "staff", staff_role=staff.role or "staff",
            action=action, fields=sorted(set(fields)), purpose=normalise_data(purpose),
            break_glass=break_glass, at=now,
        )
    )  # fmt: skip
    session.flush()
    if break_glass:
        holder = session.get(User, holder_id)
        if holder is not None and holder.kind == "holder":
            _notify_break_glass(session, vault, holder, staff, fields, purpose, now)


def _notify_break_glass(
    session: Session, vault: Vault | None, holder: User, staff: User, fields: list[str],
    purpose: dict[str, Any], now: datetime,
) -> None:  # fmt: skip
    language = "zh" if holder.locale.startswith("zh") else "en"
    labels = _FIELD_LABELS[language]
    joiner = "、" if language == "zh" else ", "
    title, template = _NOTICE[language]
    body = template.format(
        staff=staff.pseudonym or "staff", role=staff.role or "staff",
        fields=joiner.join(labels.get(f, f) for f in sorted(set(fields))),
        reason=str(purpose.get("reason", ""))[:500],
    )  # fmt: skip
    session.add(
        Notification(
            id=new_id(), user_id=holder.id, kind=BREAK_GLASS_NOTICE, title=title, body=body,
            data={"staff": staff.pseudonym, "fields": sorted(set(fields))}, created_at=now,
            read_at=None,
        )
    )  # fmt: skip
    if vault is not None:
        from anxin.identity import contacts as book
        from anxin.identity.notifications import CHANNEL_OF
        from anxin.identity.outbox import enqueue

        for contact in book.contacts_of(session, holder.id, verified=True):
            enqueue(
                session, vault, user_id=holder.id, channel=CHANNEL_OF[contact.kind],
                recipient=book.reveal(session, vault, contact), subject=title, body=body,
                now=now,
            )  # fmt: skip
    session.flush()


def for_holder(
    session: Session, holder_id: uuid.UUID, *, limit: int, before: uuid.UUID | None = None
) -> list[AccessLogEntry]:
    """A holder's access log, newest first (ids are time-ordered, so they page it)."""
    query = select(AccessLogEntry).where(AccessLogEntry.holder_id == holder_id)
    if before is not None:
        query = query.where(AccessLogEntry.id < before)
    return list(session.scalars(query.order_by(AccessLogEntry.id.desc()).limit(limit)))
