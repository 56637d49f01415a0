"""The post-incident report, in Markdown and HTML: what happened and how fast we were.

Times are measured from the incident's own stamps: to detect (start of the problem, or its
first complaint, to detection), and from detection to the first public update, the first
notice to the affected and the last remediation payment. Money returned is what executed
remediation items paid, per asset. HTML is the Markdown rendered by markdown-it-py with raw
HTML switched off, so staff text cannot inject markup.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from markdown_it import MarkdownIt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.incidents.affected import counts as affected_counts
from anxin.incidents.service import linked_tickets, timeline
from anxin.ledger.assets import get_asset
from anxin.models.incidents import Incident, RemediationItem, RemediationPlan
from anxin.wallet.notify import format_amount


@dataclass(frozen=True)
class Facts:
    incident: Incident
    affected: dict[str, int]
    complaints: int
    complaint_categories: dict[str, int]
    returned: dict[str, int]  # minor units per asset, done refunds and goodwill credits
    items_done: int
    compensated_at: datetime | None
    to_detect: timedelta | None
    to_announce: timedelta | None
    to_notify: timedelta | None
    to_compensate: timedelta | None


def _between(start: datetime | None, end: datetime | None) -> timedelta | None:
    return end - start if start is not None and end is not None else None


def facts(session: Session, incident: Incident) -> Facts:
    tickets = linked_tickets(session, incident)
    returned: dict[str, int] = {}
    rows = session.execute(
        select(RemediationItem.asset, func.sum(RemediationItem.amount), func.count())
        .join(RemediationPlan, RemediationPlan.id == RemediationItem.plan_id)
        .where(RemediationPlan.incident_id == incident.id, RemediationItem.status == "done")
        .group_by(RemediationItem.asset)
    ).all()
    done = 0
    for asset, amount, count in rows:
        done += int(count)
        if asset is not None and amount:
            returned[asset] = int(amount)
    last_paid = session.scalar(
        select(func.max(RemediationItem.done_at))
        .join(RemediationPlan, RemediationPlan.id == RemediationItem.plan_id)
        .where(RemediationPlan.incident_id == incident.id, RemediationItem.status == "done")
    )
    compensated = incident.compensated_at or last_paid
    return Facts(
        incident=incident, affected=affected_counts(session, incident),
        complaints=len(tickets),
        complaint_categories=dict(Counter(t.category for t in tickets).most_common()),
        returned=dict(sorted(returned.items())), items_done=done, compensated_at=compensated,
        to_detect=_between(incident.started_at, incident.detected_at),
        to_announce=_between(incident.detected_at, incident.first_announced_at),
        to_notify=_between(incident.detected_at, incident.first_notified_at),
        to_compensate=_between(incident.detected_at, compensated),
    )  # fmt: skip


def duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    seconds = max(int(value.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    if hours or days:
        parts.append(f"{hours} h")
    parts.append(f"{minutes} min" if minutes or not seconds else f"{minutes} min {seconds} s")
    return " ".join(parts)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def _escape(text: str) -> str:
    """Plain text inside Markdown: no emphasis, code, links, HTML or tables from someone's
    words (and no heading or list from its first character)."""
    out = []
    for char in " ".join(text.split()):
        out.append("\\" + char if char in "\\`*_[]<>|~" else char)
    escaped = "".join(out)
    if escaped[:1] in ("#", "+", "-", "=") or escaped.split(".", 1)[0].isdigit():
        escaped = "\\" + escaped
    return escaped


def _event_line(kind: str, data: dict[str, object]) -> str:
    if kind == "status":
        line = f"status {data.get('from')} → {data.get('to')}"
        return line + (f": {data['note']}" if data.get("note") else "")
    if kind == "ticket_linked":
        return f"complaint {data.get('reference')} linked ({data.get('category')})"
    if kind == "detected":
        joined = " (joined)" if data.get("joined") else ""
        return f"burst detected{joined}: {data.get('title')}"
    if kind == "announced":
        return f"public update ({data.get('status')}): {data.get('title')}"
    if kind == "notified":
        return (f"{data.get('stage')} notices: {data.get('holders')} holders, "
                f"{data.get('tickets')} tickets")  # fmt: skip
    if kind == "affected_added":
        return f"affected holders added: {data.get('new_holders')} new"
    if kind == "note":
        return f"note: {data.get('text')}"
    if kind == "opened":
        return f"opened by {data.get('by')} ({data.get('severity')})"
    details = ", ".join(f"{k}={v}" for k, v in data.items() if not isinstance(v, dict | list))
    return f"{kind.replace('_', ' ')}{': ' + details if details else ''}"


def markdown(session: Session, incident: Incident) -> str:
    found = facts(session, incident)
    money = [
        format_amount(amount, get_asset(session, asset).scale, asset)
        for asset, amount in found.returned.items()
    ]
    lines = [
        f"# {incident.reference}: {_escape(incident.title)}",
        "",
        f"- Status: {incident.status}; severity: {incident.severity}",
        f"- Problem began: {_when(incident.started_at)}",
        f"- Detected: {_when(incident.detected_at)}",
        f"- Resolved: {_when(incident.resolved_at)}",
        "",
        "## Root cause",
        "",
        _escape(incident.root_cause) if incident.root_cause else "Not recorded yet.",
        "",
        "## Impact",
        "",
        f"- Holders affected: {found.affected['total']} "
        f"(from complaints {found.affected.get('complaint', 0)}, "
        f"from ledger queries {found.affected.get('query', 0)}, "
        f"named by staff {found.affected.get('staff', 0)})",
        f"- Holders notified: {found.affected['notified']}",
        f"- Complaints received: {found.complaints}"
        + (
            " (" + ", ".join(f"{k} {v}" for k, v in found.complaint_categories.items()) + ")"
            if found.complaint_categories
            else ""
        ),
        f"- Money returned: {', '.join(money) if money else 'none'} "
        f"({found.items_done} remediation items done)",
        "",
        "## Response times",
        "",
        "| Measure | Time |",
        "| --- | --- |",
        f"| Time to detect | {duration(found.to_detect)} |",
        f"| Time to announce | {duration(found.to_announce)} |",
        f"| Time to notify | {duration(found.to_notify)} |",
        f"| Time to compensate | {duration(found.to_compensate)} |",
        "",
        "## Timeline",
        "",
    ]
    for event in timeline(session, incident):
        line = _escape(_event_line(event.kind, event.data))
        lines.append(f"- {event.at.strftime('%Y-%m-%d %H:%M:%S')} UTC: {line}")
    return "\n".join(lines) + "\n"


_RENDERER = MarkdownIt("commonmark", {"html": False}).enable("table")


def html(session: Session, incident: Incident) -> str:
    body = _RENDERER.render(markdown(session, incident))
    title = _RENDERER.renderInline(_escape(f"{incident.reference}: {incident.title}"))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        # One main landmark, so assistive technology can jump to the report's text.
        f"<title>{title}</title></head>\n<body>\n<main>\n{body}</main>\n</body></html>\n"
    )
