"""Tracing a leaked file back to the export (and so the staff member) it came from.

Compliance hands in the file as found. Each downloaded export is tested three ways, so a
file that lost its header, its ``row_ref`` column or most of its rows is still recognised:
the export id in the header line, the keyed row references (the tag finds the export, the
HMAC proves each row), and the export's canary values anywhere in the text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.models import User
from anxin.models.rights import Export
from anxin.privacy import export_watermark as marks
from anxin.privacy.exports import holder_ids
from anxin.privacy.vault import Vault


@dataclass(frozen=True)
class TraceMatch:
    export_id: uuid.UUID
    requested_by: uuid.UUID
    requested_by_pseudonym: str | None
    approved_by: uuid.UUID | None
    downloads: int
    named_in_header: bool
    rows_matched: int
    canary_found: bool


def _canary_seen(vault: Vault, export: Export, text: str, email_domain: str) -> bool:
    found = marks.canary(vault, export.id, 0, email_domain=email_domain, created=export.created_at)
    needles = [*found.markers, found.values["phone"].removeprefix("+86")]
    return any(needle in text for needle in needles)


def trace(
    session: Session, vault: Vault, *, text: str, staff: User, canary_domain: str, now: datetime
) -> list[TraceMatch]:
    evidence = marks.read_evidence(text)
    matches: list[TraceMatch] = []
    downloaded = session.scalars(select(Export).where(Export.downloads > 0).order_by(Export.id))
    for export in downloaded:
        tag = marks.export_tag(vault, export.id)
        refs = {ref for ref in evidence.refs if ref.startswith(tag)}
        rows = 0
        if refs:
            expected = {marks.row_ref(vault, export.id, h) for h in holder_ids(session, export.id)}
            rows = len(refs & expected)
        named = str(export.id) in evidence.named_exports
        canary = _canary_seen(vault, export, text, canary_domain)
        if rows or named or canary:
            requester = session.get(User, export.requested_by)
            matches.append(
                TraceMatch(
                    export_id=export.id, requested_by=export.requested_by,
                    requested_by_pseudonym=requester.pseudonym if requester else None,
                    approved_by=export.approved_by, downloads=export.downloads,
                    named_in_header=named, rows_matched=rows, canary_found=canary,
                )
            )  # fmt: skip
    audit.append(
        session, event="privacy.export_traced", actor_id=staff.id, actor_role=staff.role,
        subject_id=None,
        data={"sha256": marks.fingerprint(text), "exports": [m.export_id for m in matches]},
        now=now,
    )  # fmt: skip
    session.flush()
    return matches
