"""The public status page (HTML, Jinja2) and its Atom feed, in Chinese and English.

Only incidents staff announced appear (an incident without a published update is internal);
open ones with all their updates, then the history of the last ``HISTORY_DAYS``. Templates
autoescape everything; the page has no scripts and takes its styles from a file, so a
strict Content-Security-Policy holds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from feedgen.feed import FeedGenerator
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.incidents.service import OPEN_STATUSES
from anxin.incidents.texts import LANGUAGES
from anxin.incidents.updates import updates_of
from anxin.models.incidents import SEVERITIES, Incident, IncidentUpdate

HISTORY_DAYS = 90
FEED_ENTRIES = 50
_BEIJING = ZoneInfo("Asia/Shanghai")

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "page_title": "安心服务状态",
        "operational": "所有服务运行正常",
        "minor": "部分服务受到轻微影响",
        "major": "部分服务中断",
        "critical": "服务严重中断",
        "open": "正在处理的问题",
        "history": "历史事件",
        "no_history": "近期没有事件。",
        "subscribe": "通过邮件订阅更新",
        "email": "邮箱",
        "send": "订阅",
        "feed": "Atom 订阅源",
        "other_language": "English",
        "investigating": "调查中",
        "identified": "已找到原因",
        "monitoring": "观察中",
        "resolved": "已解决",
        "reviewed": "已解决",
        "updated": "更新于",
        "time_zone": "北京时间",
    },
    "en": {
        "page_title": "Anxin status",
        "operational": "All systems operational",
        "minor": "Minor disruption",
        "major": "Partial outage",
        "critical": "Major outage",
        "open": "Current incidents",
        "history": "Past incidents",
        "no_history": "No incidents recently.",
        "subscribe": "Get updates by email",
        "email": "Email",
        "send": "Subscribe",
        "feed": "Atom feed",
        "other_language": "中文",
        "investigating": "Investigating",
        "identified": "Identified",
        "monitoring": "Monitoring",
        "resolved": "Resolved",
        "reviewed": "Resolved",
        "updated": "Updated",
        "time_zone": "UTC",
    },
}


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


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("anxin.incidents", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _local(moment: datetime, lang: str) -> str:
    if lang == "zh":
        return moment.astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")


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
             "at": _local(u.published_at, lang), "iso": u.published_at.isoformat()}
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


def html(session: Session, now: datetime, lang: str) -> str:
    current, history = public_incidents(session, now, lang)
    return _environment().get_template("status.html").render(
        lang=lang, t=LABELS[lang], other="en" if lang == "zh" else "zh",
        state=overall(current), current=current, history=history,
    )  # fmt: skip


def atom(session: Session, now: datetime, lang: str, site_url: str) -> bytes:
    """The last ``FEED_ENTRIES`` updates of announced incidents, newest first."""
    feed = FeedGenerator()
    feed.id(f"{site_url}/status?lang={lang}")
    feed.title(LABELS[lang]["page_title"])
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
        entry.link(href=f"{site_url}/status?lang={lang}#{reference}")
    result: bytes = feed.atom_str(pretty=True)
    return result


STYLESHEET = """\
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:46rem;
margin:2rem auto;padding:0 1rem;color:#1d232a;line-height:1.5}
.state{padding:1rem;border-radius:.5rem;font-weight:600}
.state.operational{background:#e6f4ea}.state.minor{background:#fff4d6}
.state.major{background:#ffe2cc}.state.critical{background:#fddede}
article{border-top:1px solid #dde;padding:.5rem 0}
.update{margin:.5rem 0 .5rem 1rem}.when{color:#667;font-size:.9em}
nav a{margin-right:1rem}
"""
