"""Honeytoken holders: decoys that no legitimate case ever touches.

The operator plants a few decoy holders (``anxin privacy plant-honeytoken``). They look
like any other holder in every staff list. Revealing or exporting one's data, or opening
a case about one, alerts compliance at once: nobody has a reason to.

Which holders are decoys is stored only as a keyed marker, the HMAC of the holder's id
under the blind-index key, so reading the database does not tell them apart.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.identity import contacts as book
from anxin.models import User
from anxin.models.insider import Honeytoken
from anxin.privacy import alerts
from anxin.privacy.vault import Vault

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
_PINYIN = ("wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou")


def marker(vault: Vault, holder_id: uuid.UUID) -> str:
    return vault.blind_index("privacy_honeytokens.marker", holder_id.hex)


def decoys_among(
    session: Session, vault: Vault, holder_ids: Iterable[uuid.UUID]
) -> list[uuid.UUID]:
    by_marker = {marker(vault, holder_id): holder_id for holder_id in holder_ids}
    if not by_marker:
        return []
    found = session.scalars(select(Honeytoken.marker).where(Honeytoken.marker.in_(by_marker)))
    return [by_marker[m] for m in found]


def check(
    session: Session, vault: Vault, holder_ids: Iterable[uuid.UUID], *, staff: User,
    action: str, now: datetime,
) -> list[uuid.UUID]:  # fmt: skip
    """Alert compliance for every decoy among ``holder_ids`` (call it for reveals, exports
    and anything else that singles holders out). Returns the decoys found."""
    hits = decoys_among(session, vault, holder_ids)
    for holder_id in hits:
        alerts.raise_alert(
            session, kind="honeytoken_touched", severity="critical", staff_id=staff.id,
            holder_id=holder_id, details={"action": action, "staff_role": staff.role}, now=now,
        )  # fmt: skip
    return hits


def plant(
    session: Session, vault: Vault, *, email_domain: str, password_hash: str, now: datetime
) -> User:
    """A decoy holder with a plausible name and an email address at ``email_domain`` (a
    domain the operator controls, so nothing about a decoy ever reaches a real person).
    ``password_hash`` should be an unusable hash made like any other, so that signing in
    as a decoy takes as long as signing in as anyone."""
    surname, given = (
        secrets.choice(_SURNAMES),
        "".join(secrets.choice(_GIVEN) for _ in range(1 + secrets.randbelow(2))),
    )
    local = f"{secrets.choice(_PINYIN)}.{secrets.randbelow(9000) + 1000}"
    contact = book.parse_contact("email", f"{local}@{email_domain}")
    user = book.new_user(
        session, vault, kind="holder", role=None, status="active", password_hash=password_hash,
        name=surname + given, locale="zh-CN", now=now,
    )  # fmt: skip
    book.add_contact(session, vault, user, contact, now=now, verified=True)
    session.add(Honeytoken(marker=marker(vault, user.id), created_at=now))
    session.flush()
    audit.append(session, event="privacy.honeytoken_planted", actor_id=None, actor_role=None,
                 subject_id=None, data={}, now=now)  # fmt: skip
    return user
