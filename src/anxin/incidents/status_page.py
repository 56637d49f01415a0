"""What the public status page shows (the pages are ``anxin.web.status_pages``) and its
Atom feed, in Chinese and English.

Only incidents staff announced appear (an incident without a published update is internal);
open ones with all their updates, then the history of the last ``HISTORY_DAYS``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from feedgen.feed import FeedGenerator
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.incidents.service import OPEN_STATUSES
from anxin.incidents.texts import LANGUAGES
from anxin.incidents.updates import updates_of
from anxin.models.incidents import SEVERITIES, Incident, IncidentUpdate

HISTORY_DAYS = 90
FEED_ENTRIES = 50
FEED_TITLE = {"zh": "安心服务状态", "en": "Anxin status"}


def choose_language(query: str | None, accept_language: str | None) -> str:
    """``?lang=`` wins; otherwise the first of zh and en the browser prefers (q-values)."""
    if query in LANGUAGES:
        return query
    best, best_q = "zh", -1.0
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        if lang not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        # Earlier entries win ties, as browsers list them by preference.
        if q > best_q or (q == best_q and index == 0):
            best, best_q = lang, q
    return best


@dataclass(frozen=True)
class PublicIncident:
    id: uuid.UUID
    reference: str
    status: str
    severity: str
    title: str
    updates: list[dict[str, Any]]
    updated_at: datetime


def public_incidents(
    session: Session, now: datetime, lang: str
) -> tuple[list[PublicIncident], list[PublicIncident]]:
    """(open, history): announced incidents, newest first."""
    announced = list(
        session.scalars(
            select(Incident)
            .where(
                Incident.first_announced_at.is_not(None),
                (Incident.status.in_(OPEN_STATUSES))
                | (Incident.resolved_at >= now - timedelta(days=HISTORY_DAYS)),
            )
            .order_by(Incident.detected_at.desc())
        )
    )
    updates = updates_of(session, [i.id for i in announced])
    current: list[PublicIncident] = []
    history: list[PublicIncident] = []
    for incident in announced:
        rows = updates[incident.id]
        if not rows:
            continue
        shown = [
            {"status": u.status, "title": u.texts[lang]["title"], "body": u.texts[lang]["body"],
             "at": u.published_at}
            for u in rows
        ]  # fmt: skip
        item = PublicIncident(
            incident.id, incident.reference, incident.status, incident.severity,
            rows[0].texts[lang]["title"], shown, rows[0].published_at,
        )  # fmt: skip
        (current if incident.status in OPEN_STATUSES else history).append(item)
    return current, history


def overall(current: list[PublicIncident]) -> str:
    """``operational`` or the worst open severity."""
    if not current:
        return "operational"
    return max((i.severity for i in current), key=SEVERITIES.index)


def find(session: Session, now: datetime, lang: str, reference: str) -> PublicIncident | None:
    """One announced incident by reference (open, or resolved within the history)."""
    current, history = public_incidents(session, now, lang)
    return next((i for i in current + history if i.reference == reference), None)


def atom(session: Session, now: datetime, lang: str, site_url: str) -> bytes:
    """The last ``FEED_ENTRIES`` updates of announced incidents, newest first."""
    feed = FeedGenerator()
    feed.id(f"{site_url}/status?lang={lang}")
    feed.title(FEED_TITLE[lang])
    feed.language("zh-CN" if lang == "zh" else "en")
    feed.link(href=f"{site_url}/status?lang={lang}", rel="alternate")
    feed.link(href=f"{site_url}/status/feed.atom?lang={lang}", rel="self")
    rows = session.execute(
        select(IncidentUpdate, Incident.reference)
        .join(Incident, Incident.id == IncidentUpdate.incident_id)
        .order_by(IncidentUpdate.published_at.desc(), IncidentUpdate.id.desc())
        .limit(FEED_ENTRIES)
    ).all()
    feed.updated(rows[0][0].published_at if rows else now)
    for update, reference in reversed(rows):  # feedgen puts the last added first
        entry = feed.add_entry()
        entry.id(f"urn:uuid:{update.id}")
        entry.title(f"[{reference}] {update.texts[lang]['title']}")
        entry.content(update.texts[lang]["body"], type="text")
        entry.published(update.published_at)
        entry.updated(update.published_at)
        entry.link(href=f"{site_url}/status/incidents/{reference}?lang={lang}")
    result: bytes = feed.atom_str(pretty=True)
    return result
