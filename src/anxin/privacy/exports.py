"""Staff exports of holders' data: four-eyes, bounded, watermarked, short-lived.

1. A staff member asks for an export: which holders (ids, or a query resolved right away
   into a fixed list), which fields, and why. Every holder export is personal data (even
   masked values and ids are, in law), so every export needs a second staff member's
   approval; the requester can never approve it. The list is capped
   (``ANXIN_EXPORT_MAX_HOLDERS``); unmasked fields follow the reveal rules of the
   requester's role. A decoy (honeytoken) holder in the list alerts compliance at once.
2. Another staff member approves (or rejects) it before the approval expires.
3. The requester makes a download link: single use, valid for minutes, and only while the
   export is available. The file is generated at download from live data and never
   stored. It carries a watermark (see ``export_watermark``).
4. Each download appears in every included holder's access log (with the stated reason)
   and in the audit log; a decoy in it alerts compliance again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.identity import contacts as book
from anxin.kit.errors import AnxinError, Conflict, Forbidden, Gone, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.models import Contact, User
from anxin.models.rights import Approval, Export, ExportHolder
from anxin.privacy import access_log, alerts, approvals, honeytokens
from anxin.privacy import export_watermark as marks
from anxin.privacy.holder_query import HolderQuery
from anxin.privacy.masking import mask_name
from anxin.privacy.reveal import FIELDS as UNMASKED_FIELDS
from anxin.privacy.reveal import allowed_fields, read_fields
from anxin.privacy.vault import Vault
from anxin.settings import Settings

KIND = "export"
ACCOUNT_FIELDS = ("status", "tier", "locale", "created_at")
MASKED_FIELDS = ("display_name_masked", "phone_masked", "email_masked")
ALL_FIELDS = (*ACCOUNT_FIELDS, *MASKED_FIELDS, *UNMASKED_FIELDS)
FORMATS = ("csv", "json")
LINK_PREFIX = "exl_"
MIN_REASON = 20


class ExportNotFound(NotFound):
    code = "export_not_found"
    title = "No such export"


class ExportTooLarge(Unprocessable):
    code = "export_too_large"
    title = "Too many holders for one export"


class ExportNotApproved(Conflict):
    code = "export_not_approved"
    title = "This export is not approved (yet)"


class ExportUnavailable(Gone):
    code = "export_expired"
    title = "This export can no longer be downloaded"


class LinkInvalid(Forbidden):
    code = "export_link_invalid"
    title = "This download link is not valid (used, expired or not yours)"


def _holders_for(
    session: Session, ids: list[uuid.UUID] | None, query: HolderQuery | None, cap: int
) -> list[User]:
    if (ids is None) == (query is None):
        raise Unprocessable("give holder ids or a query, not both", code="holders_or_query")
    select_ = select(User).where(User.kind == "holder", User.status != "closed")
    if ids is not None:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            raise Unprocessable("name at least one holder", code="no_holders")
        if len(wanted) > cap:
            raise ExportTooLarge(
                f"{len(wanted)} holders; at most {cap} per export", count=len(wanted)
            )
        found = {u.id: u for u in session.scalars(select_.where(User.id.in_(wanted)))}
        missing = [str(i) for i in wanted if i not in found]
        if missing:
            raise NotFound(f"no such holder(s): {', '.join(missing[:5])}", code="holder_not_found")
        return [found[i] for i in wanted]
    assert query is not None
    rows = list(session.scalars(query.apply(select_).order_by(User.id).limit(cap + 1)))
    if len(rows) > cap:
        raise ExportTooLarge(f"the query matches more than {cap} holders; narrow it")
    if not rows:
        raise Unprocessable("the query matches no holder", code="no_holders")
    return rows


def _check_fields(staff: User, fields: list[str]) -> list[str]:
    wanted = list(dict.fromkeys(fields))
    unknown = [f for f in wanted if f not in ALL_FIELDS]
    if not wanted or unknown:
        raise Unprocessable(f"unknown or no fields; choose from {', '.join(ALL_FIELDS)}",
                            code="unknown_field")  # fmt: skip
    refused = [f for f in wanted if f in UNMASKED_FIELDS and f not in allowed_fields(staff.role)]
    if refused:
        raise Forbidden(f"the {staff.role} role may not see {', '.join(refused)} unmasked",
                        code="field_not_allowed")  # fmt: skip
    return wanted


def request_export(
    session: Session, vault: Vault, settings: Settings, *, staff: User, fields: list[str],
    reason: str, reference: str | None = None, holder_ids: list[uuid.UUID] | None = None,
    query: HolderQuery | None = None, fmt: str = "csv", now: datetime,
) -> Export:  # fmt: skip
    if fmt not in FORMATS:
        raise Unprocessable(f"format is one of {', '.join(FORMATS)}", code="invalid_format")
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise Unprocessable(f"say why in at least {MIN_REASON} characters (every holder in the "
                            "export will read it)", code="reason_too_short")  # fmt: skip
    wanted = _check_fields(staff, fields)
    holders = _holders_for(session, holder_ids, query, settings.export_max_holders)
    export_id = new_id()
    purpose: dict[str, Any] = {"reason": reason, "reference": reference}
    approval = approvals.request_approval(
        session, KIND, f"export:{export_id}", staff,
        {"export_id": export_id, "fields": wanted, "holders": len(holders), "format": fmt,
         "reference": reference, "reason_sha256": alerts.digest(reason),
         "available_seconds": settings.export_available_seconds},
        now, timedelta(seconds=settings.export_approval_ttl_seconds),
    )  # fmt: skip
    row = Export(
        id=export_id, requested_by=staff.id, approval_id=approval.id, status="pending_approval",
        format=fmt, fields=wanted, purpose=purpose, holder_count=len(holders), created_at=now,
        approved_by=None, approved_at=None, available_until=None, link_hash=None,
        link_expires_at=None, downloads=0, last_downloaded_at=None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    session.add_all(
        ExportHolder(export_id=export_id, holder_id=h.id, position=i) for i, h in enumerate(holders)
    )
    audit.append(
        session, event="privacy.export_requested", actor_id=staff.id, actor_role=staff.role,
        subject_id=None,
        data={"export_id": export_id, "approval_id": approval.id, "fields": wanted,
              "holders": len(holders), "reason_sha256": alerts.digest(reason)},
        now=now,
    )  # fmt: skip
    honeytokens.check(session, vault, [h.id for h in holders], staff=staff,
                      action="export_requested", now=now)  # fmt: skip
    session.flush()
    return row


def get_export(session: Session, export_id: uuid.UUID) -> Export:
    row = session.get(Export, export_id)
    if row is None:
        raise ExportNotFound()
    return row


def visible_export(session: Session, export_id: uuid.UUID, staff: User) -> Export:
    """The requester and those who may approve exports see it; others get 404."""
    row = get_export(session, export_id)
    approval = session.get(Approval, row.approval_id)
    if row.requested_by != staff.id and (
        approval is None or not approvals.may_decide(staff, approval)
    ):
        raise ExportNotFound()
    return row


def effective_status(row: Export, now: datetime, approval: Approval | None = None) -> str:
    """``expired`` once its approval or its download window ran out, job or no job."""
    if row.status == "approved" and row.available_until is not None and row.available_until <= now:
        return "expired"
    if (
        row.status == "pending_approval" and approval is not None
        and approvals.effective_status(approval, now) == "expired"
    ):  # fmt: skip
        return "expired"
    return row.status


def holder_ids(session: Session, export_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(ExportHolder.holder_id)
            .where(ExportHolder.export_id == export_id)
            .order_by(ExportHolder.position)
        )
    )


# -- approval outcomes ------------------------------------------------------------------------


def _export_of(session: Session, approval: Approval) -> Export:
    export_id = uuid.UUID(approval.subject_ref.removeprefix("export:"))
    return get_export(session, export_id)


def _approved(session: Session, approval: Approval, approver: User, now: datetime) -> None:
    row = _export_of(session, approval)
    row.status, row.approved_by, row.approved_at = "approved", approver.id, now
    # The window was fixed when the export was asked for; the approver saw it.
    row.available_until = now + timedelta(seconds=int(approval.payload["available_seconds"]))


def _closed_as(status: str) -> approvals.OnDecided:
    def handle(session: Session, approval: Approval, _who: User, _now: datetime) -> None:
        _export_of(session, approval).status = status

    return handle


def _expired(session: Session, approval: Approval, _now: datetime) -> None:
    _export_of(session, approval).status = "expired"


approvals.register_kind(
    approvals.ApprovalKind(
        name=KIND, permission="exports:approve", on_approved=_approved,
        on_rejected=_closed_as("rejected"), on_cancelled=_closed_as("cancelled"),
        on_expired=_expired,
    )
)  # fmt: skip


# -- links and downloads --------------------------------------------------------------------


def _link_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_link(
    session: Session, settings: Settings, *, export_id: uuid.UUID, staff: User, now: datetime
) -> tuple[str, datetime]:
    """A fresh single-use download token (earlier ones stop working) for the requester."""
    row = session.scalars(select(Export).where(Export.id == export_id).with_for_update()).first()
    if row is None or row.requested_by != staff.id:
        raise ExportNotFound()
    status = effective_status(row, now, session.get(Approval, row.approval_id))
    if status == "pending_approval":
        raise ExportNotApproved("a second staff member has to approve it first")
    if status != "approved":
        raise ExportUnavailable(f"the export is {status}")
    assert row.available_until is not None
    token = LINK_PREFIX + secrets.token_urlsafe(32)
    expires = min(now + timedelta(seconds=settings.export_link_ttl_seconds), row.available_until)
    row.link_hash, row.link_expires_at = _link_hash(token), expires
    audit.append(
        session, event="privacy.export_link", actor_id=staff.id, actor_role=staff.role,
        subject_id=None, data={"export_id": row.id, "expires_at": expires}, now=now,
    )  # fmt: skip
    session.flush()
    return token, expires


@dataclass(frozen=True)
class ExportFile:
    export: Export
    content: str
    media_type: str
    filename: str
    rows: int


def _staff_name(session: Session, staff_id: uuid.UUID | None) -> str:
    user = session.get(User, staff_id) if staff_id else None
    return f"{user.pseudonym} ({user.role})" if user is not None else "unknown"


def _row_values(
    session: Session, vault: Vault, holder: User, fields: list[str]
) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    plain = [f for f in fields if f in UNMASKED_FIELDS]
    if plain:
        values.update(read_fields(session, vault, holder, plain))
    contacts: list[Contact] = book.contacts_of(session, holder.id)
    for field in fields:
        if field in ACCOUNT_FIELDS:
            value = getattr(holder, field)
            values[field] = value.isoformat() if isinstance(value, datetime) else str(value)
        elif field == "display_name_masked":
            name = book.display_name(session, vault, holder)
            values[field] = mask_name(name) if name else None
        elif field in ("phone_masked", "email_masked"):
            kind = field.removesuffix("_masked")
            values[field] = next((c.masked for c in reversed(contacts) if c.kind == kind), None)
    return values


def _render(fmt: str, header: str, columns: list[str], rows: list[dict[str, Any]]) -> str:
    if fmt == "json":
        return json.dumps({"watermark": header, "columns": columns, "rows": rows},
                          ensure_ascii=False, indent=1)  # fmt: skip
    out = io.StringIO()
    out.write(f"# {header}\n")
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def download(
    session: Session, vault: Vault, settings: Settings, *, export_id: uuid.UUID, token: str,
    staff: User, now: datetime,
) -> ExportFile:  # fmt: skip
    row = session.scalars(select(Export).where(Export.id == export_id).with_for_update()).first()
    if row is None or row.requested_by != staff.id:
        raise ExportNotFound()
    if (
        row.link_hash is None or row.link_expires_at is None or row.link_expires_at <= now
        or not secrets.compare_digest(row.link_hash, _link_hash(token))
    ):  # fmt: skip
        raise LinkInvalid("make a new link")
    if effective_status(row, now) != "approved":
        raise ExportUnavailable(f"the export is {effective_status(row, now)}")
    row.link_hash, row.link_expires_at = None, None  # single use
    ids = holder_ids(session, row.id)
    holders = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
    fields = list(row.fields)
    rows: list[dict[str, Any]] = []
    exported: list[uuid.UUID] = []
    for holder_id in ids:
        holder = holders.get(holder_id)
        if holder is None or holder.status == "closed":
            continue  # closed since the request: their data is erased, nothing to export
        try:
            values = _row_values(session, vault, holder, fields)
        except AnxinError:
            continue  # erased or unreadable personal data is not exported
        rows.append({"row_ref": marks.row_ref(vault, row.id, holder_id), "id": str(holder_id),
                     **values})  # fmt: skip
        exported.append(holder_id)
    canary = marks.canary(vault, row.id, len(rows), email_domain=settings.export_canary_domain,
                          created=row.created_at)  # fmt: skip
    decoy = {"row_ref": marks.row_ref(vault, row.id, uuid.UUID(canary.values["id"])),
             "id": canary.values["id"], **{f: canary.values.get(f) for f in fields}}  # fmt: skip
    rows.insert(canary.position, decoy)
    header = marks.header_line(
        row.id, requested_by=_staff_name(session, row.requested_by),
        approved_by=_staff_name(session, row.approved_by), at=now,
    )  # fmt: skip
    content = _render(row.format, header, ["row_ref", "id", *fields], rows)
    row.downloads += 1
    row.last_downloaded_at = now
    purpose = {**row.purpose, "export_id": str(row.id),
               "approved_by": _staff_name(session, row.approved_by)}  # fmt: skip
    for holder_id in exported:
        access_log.record(session, staff=staff, holder_id=holder_id, action="export",
                          fields=fields, purpose=purpose, now=now)  # fmt: skip
    audit.append(
        session, event="privacy.export_downloaded", actor_id=staff.id, actor_role=staff.role,
        subject_id=None,
        data={"export_id": row.id, "rows": len(exported), "fields": fields,
              "download": row.downloads, "sha256": marks.fingerprint(content),
              "tag": marks.export_tag(vault, row.id)},
        now=now,
    )  # fmt: skip
    honeytokens.check(session, vault, exported, staff=staff, action="export", now=now)
    session.flush()
    name = f"anxin-export-{row.id}.{row.format}"
    media = "text/csv; charset=utf-8" if row.format == "csv" else "application/json"
    return ExportFile(row, content, media, name, len(exported))
