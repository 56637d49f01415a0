"""Breach response: record a suspected breach, watch its notification deadline, prepare
notices in each holder's language, have a second compliance officer approve the text, send
them, and publish a statement on the status page.

Recording starts the clock: the deadline is ``discovered_at`` plus
``ANXIN_BREACH_NOTIFICATION_HOURS`` (72 by default, as GDPR article 33 gives for telling
the authority). It is met when the affected holders were notified and the authority was
told. ``check_deadlines`` (run on every look at a breach and by ``anxin rights tick``)
alerts compliance once when the deadline is near and once when it passed.

Notice texts come from ``data/notices.json`` (zh-CN and en) filled with the facts
compliance writes in both languages; the templates speak for Anxin and take
responsibility. The approval covers exactly the prepared texts (their SHA-256): preparing
them again voids an earlier approval. Every step is in the audit log.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.kit.canonical import fingerprint
from anxin.kit.errors import Conflict, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.models import User
from anxin.models.rights import Approval, Breach, BreachHolder, StatusAnnouncement
from anxin.privacy import alerts, approvals, notices
from anxin.privacy.holder_query import HolderQuery
from anxin.privacy.vault import Vault
from anxin.settings import Settings

KIND = "breach_notice"
NOTICE_KIND = "privacy.breach_notice"
FACTS = ("what_happened", "what_we_are_doing", "what_you_should_do")


class BreachNotFound(NotFound):
    code = "breach_not_found"
    title = "No such breach"


class NoticesNotApproved(Conflict):
    code = "notices_not_approved"
    title = "A second compliance officer must approve the notices first"


class BreachClosed(Conflict):
    code = "breach_closed"
    title = "This breach is closed"


def categories() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = notices.catalogue()["breach"]["categories"]
    return found


def _holder_ids(
    session: Session, ids: list[uuid.UUID] | None, query: HolderQuery | None, everyone: bool
) -> list[uuid.UUID]:
    if sum((ids is not None, query is not None, everyone)) != 1:
        raise Unprocessable("give holder ids, a query, or all_holders", code="holders_or_query")
    base = select(User.id).where(User.kind == "holder", User.status != "closed")
    if ids is not None:
        wanted = list(dict.fromkeys(ids))
        found = set(session.scalars(base.where(User.id.in_(wanted))))
        missing = [str(i) for i in wanted if i not in found]
        if missing:
            raise NotFound(f"no such holder(s): {', '.join(missing[:5])}", code="holder_not_found")
        return wanted
    if query is not None:
        base = query.apply(base)
    return list(session.scalars(base.order_by(User.id)))


def record_breach(
    session: Session, settings: Settings, *, staff: User, title: str, scope: str,
    data_categories: list[str], discovered_at: datetime, facts: dict[str, dict[str, str]],
    holder_ids: list[uuid.UUID] | None = None, query: HolderQuery | None = None,
    all_holders: bool = False, now: datetime,
) -> Breach:  # fmt: skip
    known = categories()["en"]
    unknown = [c for c in data_categories if c not in known]
    if unknown:
        raise Unprocessable(f"unknown data categories {unknown}; one of {', '.join(known)}",
                            code="unknown_category")  # fmt: skip
    if discovered_at > now:
        raise Unprocessable("a breach cannot be discovered in the future", code="invalid_time")
    missing = [lang for lang in notices.LANGUAGES if lang not in facts]
    if missing:
        raise Unprocessable(f"write the facts in {', '.join(missing)} too", code="facts_missing")
    ids = _holder_ids(session, holder_ids, query, all_holders)
    breach = Breach(
        id=new_id(), reference=f"BR-{now:%Y%m%d}-{secrets.token_hex(3).upper()}", title=title,
        scope=scope, data_categories=list(dict.fromkeys(data_categories)),
        facts={lang: {k: facts[lang][k] for k in FACTS} for lang in notices.LANGUAGES},
        holders_query=(
            {"all_holders": True} if all_holders
            else query.as_json() if query is not None
            else None
        ),
        affected_count=len(ids), status="open", discovered_at=discovered_at, recorded_at=now,
        recorded_by=staff.id,
        deadline_at=discovered_at + timedelta(hours=settings.breach_notification_hours),
        texts=None, texts_hash=None, approval_id=None, approved_by=None, approved_at=None,
        announcement_id=None, authority_notified_at=None, holders_notified_at=None,
        near_alerted_at=None, overdue_alerted_at=None, closed_at=None,
    )  # fmt: skip
    session.add(breach)
    session.flush()
    for start in range(0, len(ids), 1000):
        session.execute(insert(BreachHolder), [
            {"breach_id": breach.id, "holder_id": holder_id, "locale": None, "outcome": None,
             "notification_id": None, "notified_at": None}
            for holder_id in ids[start : start + 1000]
        ])  # fmt: skip
    audit.append(
        session, event="privacy.breach_recorded", actor_id=staff.id, actor_role=staff.role,
        subject_id=None,
        data={"breach_id": breach.id, "reference": breach.reference, "affected": len(ids),
              "categories": breach.data_categories, "discovered_at": discovered_at,
              "deadline_at": breach.deadline_at},
        now=now,
    )  # fmt: skip
    check_deadlines(session, settings, now, breach=breach)
    return breach


def get(session: Session, breach_id: uuid.UUID, *, for_update: bool = False) -> Breach:
    query = select(Breach).where(Breach.id == breach_id)
    row = session.scalars(query.with_for_update() if for_update else query).first()
    if row is None:
        raise BreachNotFound()
    return row


# -- the clock -------------------------------------------------------------------------------


def deadline_met(breach: Breach) -> bool:
    return breach.holders_notified_at is not None and breach.authority_notified_at is not None


def deadline_state(breach: Breach, settings: Settings, now: datetime) -> str:
    if deadline_met(breach) or breach.status == "closed":
        return "done"
    if now >= breach.deadline_at:
        return "overdue"
    if now >= breach.deadline_at - timedelta(hours=settings.breach_warning_hours):
        return "near"
    return "ok"


def check_deadlines(
    session: Session, settings: Settings, now: datetime, *, breach: Breach | None = None
) -> int:
    """Alert compliance once when a deadline nears and once when it passes."""
    rows = [breach] if breach is not None else list(
        session.scalars(select(Breach).where(Breach.status != "closed"))
    )  # fmt: skip
    raised = 0
    for row in rows:
        state = deadline_state(row, settings, now)
        details = {"breach_id": str(row.id), "reference": row.reference,
                   "deadline_at": row.deadline_at.isoformat()}  # fmt: skip
        if state in ("near", "overdue") and row.near_alerted_at is None:
            row.near_alerted_at = now
            alerts.raise_alert(session, kind="breach_deadline_near", severity="warning",
                               staff_id=None, holder_id=None, details=details, now=now)  # fmt: skip
            raised += 1
        if state == "overdue" and row.overdue_alerted_at is None:
            row.overdue_alerted_at = now
            alerts.raise_alert(session, kind="breach_deadline_passed", severity="critical",
                               staff_id=None, holder_id=None, details=details, now=now)  # fmt: skip
            raised += 1
    session.flush()
    return raised


def counts(session: Session, breach_id: uuid.UUID) -> dict[str, int]:
    rows = session.execute(
        select(BreachHolder.outcome, func.count()).where(BreachHolder.breach_id == breach_id)
        .group_by(BreachHolder.outcome)
    )  # fmt: skip
    found = {outcome or "pending": int(n) for outcome, n in rows}
    return {k: found.get(k, 0) for k in ("pending", "notified", "unreachable")}


# -- texts and their approval ----------------------------------------------------------------


def _render(breach: Breach, lang: str, part: str) -> dict[str, str]:
    template = notices.catalogue()["breach"][part][lang]
    names = categories()[lang]
    joiner = "、" if lang == "zh-CN" else ", "
    values = {
        **breach.facts[lang], "reference": breach.reference,
        "categories": joiner.join(names[c] for c in breach.data_categories),
        "discovered": breach.discovered_at.date().isoformat(), "count": breach.affected_count,
    }  # fmt: skip
    return {"title": template["title"].format(**values), "body": template["body"].format(**values)}


def prepare_notices(
    session: Session, settings: Settings, *, breach_id: uuid.UUID, staff: User,
    facts: dict[str, dict[str, str]] | None, now: datetime,
) -> Breach:  # fmt: skip
    """(Re)write the notices and the statement, and ask a second officer to approve them."""
    breach = get(session, breach_id, for_update=True)
    if breach.status == "closed":
        raise BreachClosed()
    if breach.holders_notified_at is not None:
        raise Conflict("every affected holder was notified already", code="notices_sent")
    if facts:
        breach.facts = {**breach.facts, **{k: {f: v[f] for f in FACTS} for k, v in facts.items()}}
    texts = {part: {lang: _render(breach, lang, part) for lang in notices.LANGUAGES}
             for part in ("notice", "statement")}  # fmt: skip
    if breach.approval_id is not None:
        earlier = session.get(Approval, breach.approval_id)
        if earlier is not None and earlier.status == "pending":
            earlier.status, earlier.decided_at = "cancelled", now  # the text it covers changed
    breach.texts, breach.texts_hash = texts, fingerprint(texts)
    breach.approved_by = breach.approved_at = None
    approval = approvals.request_approval(
        session, KIND, f"breach:{breach.id}", staff,
        {"breach_id": breach.id, "reference": breach.reference, "texts_sha256": breach.texts_hash,
         "texts": texts},
        now, timedelta(seconds=settings.breach_approval_ttl_seconds),
    )  # fmt: skip
    breach.approval_id = approval.id
    audit.append(session, event="privacy.breach_notices_prepared", actor_id=staff.id,
                 actor_role=staff.role, subject_id=None,
                 data={"breach_id": breach.id, "texts_sha256": breach.texts_hash,
                       "approval_id": approval.id}, now=now)  # fmt: skip
    session.flush()
    return breach


def _approved(session: Session, approval: Approval, approver: User, now: datetime) -> None:
    breach = get(session, uuid.UUID(approval.subject_ref.removeprefix("breach:")))
    if breach.approval_id == approval.id and breach.texts_hash == approval.payload["texts_sha256"]:
        breach.approved_by, breach.approved_at = approver.id, now


approvals.register_kind(approvals.ApprovalKind(name=KIND, permission="breaches:approve",
                                               on_approved=_approved))  # fmt: skip


# -- sending ---------------------------------------------------------------------------------


def _publish(session: Session, breach: Breach, now: datetime) -> None:
    if breach.announcement_id is not None or breach.texts is None:
        return
    row = StatusAnnouncement(
        id=new_id(), kind="breach", source_ref=f"breach:{breach.id}",
        texts=breach.texts["statement"], status="published", published_at=now, updated_at=now,
        resolved_at=None,
    )  # fmt: skip
    session.add(row)
    breach.announcement_id = row.id
    audit.append(session, event="status.announcement_published", actor_id=None, actor_role=None,
                 subject_id=None, data={"announcement_id": row.id, "source": row.source_ref},
                 now=now)  # fmt: skip


def send_notices(
    session: Session, vault: Vault, *, breach_id: uuid.UUID, staff: User, now: datetime,
    batch: int = 500,
) -> dict[str, int]:  # fmt: skip
    """Tell up to ``batch`` affected holders not told yet, each in their language (in-app,
    email and SMS), and publish the statement. Call again until nothing remains."""
    breach = get(session, breach_id, for_update=True)
    if breach.status == "closed":
        raise BreachClosed()
    if breach.approved_at is None or breach.texts is None:
        raise NoticesNotApproved()
    _publish(session, breach, now)
    pending = list(session.scalars(
        select(BreachHolder).where(BreachHolder.breach_id == breach.id,
                                   BreachHolder.notified_at.is_(None))
        .order_by(BreachHolder.holder_id).limit(batch)
    ))  # fmt: skip
    done = {"notified": 0, "unreachable": 0}
    for row in pending:
        holder = session.get(User, row.holder_id)
        row.notified_at = now
        if holder is None or holder.status == "closed":
            row.outcome = "unreachable"  # erased: nobody left to tell
            done["unreachable"] += 1
            continue
        lang = notices.language(holder.locale)
        text: dict[str, Any] = breach.texts["notice"][lang]
        note = notices.deliver(session, vault, holder, kind=NOTICE_KIND, title=text["title"],
                               body=text["body"], now=now,
                               data={"breach": breach.reference})  # fmt: skip
        row.locale, row.outcome = lang, "notified"
        row.notification_id = note.id if note is not None else None
        done["notified"] += 1
    remaining = counts(session, breach.id)["pending"]
    if remaining == 0 and breach.holders_notified_at is None:
        breach.holders_notified_at = now
        breach.status = "notified"
    audit.append(
        session, event="privacy.breach_notices_sent", actor_id=staff.id, actor_role=staff.role,
        subject_id=None, data={"breach_id": breach.id, **done, "remaining": remaining}, now=now,
    )  # fmt: skip
    session.flush()
    return {**done, "remaining": remaining}


def authority_notified(session: Session, *, breach_id: uuid.UUID, staff: User,
                       now: datetime) -> Breach:  # fmt: skip
    breach = get(session, breach_id, for_update=True)
    if breach.authority_notified_at is None:
        breach.authority_notified_at = now
        audit.append(session, event="privacy.breach_authority_notified", actor_id=staff.id,
                     actor_role=staff.role, subject_id=None, data={"breach_id": breach.id},
                     now=now)  # fmt: skip
    session.flush()
    return breach


def close(session: Session, *, breach_id: uuid.UUID, staff: User, now: datetime) -> Breach:
    breach = get(session, breach_id, for_update=True)
    if breach.status == "closed":
        raise BreachClosed()
    breach.status, breach.closed_at = "closed", now
    if breach.announcement_id is not None:
        announcement = session.get(StatusAnnouncement, breach.announcement_id)
        if announcement is not None:
            announcement.status, announcement.resolved_at = "resolved", now
            announcement.updated_at = now
    audit.append(session, event="privacy.breach_closed", actor_id=staff.id,
                 actor_role=staff.role, subject_id=None, data={"breach_id": breach.id},
                 now=now)  # fmt: skip
    session.flush()
    return breach


def announcements(session: Session, *, limit: int) -> list[StatusAnnouncement]:
    return list(session.scalars(
        select(StatusAnnouncement).order_by(StatusAnnouncement.published_at.desc()).limit(limit)
    ))  # fmt: skip
