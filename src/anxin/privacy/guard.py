"""The bulk-access guard: one holder per request, and limits per staff member.

No endpoint returns unmasked personal data for more than one holder per request; beyond
that, each staff member's reveals (and exports, which record one access-log row per
holder) are limited:

- by rate: more than ``reveal_rate_per_minute`` in a minute is refused (429);
- by distinct holders: above the *alert* thresholds per hour and per 24 hours compliance is
  alerted; above the *block* thresholds the request is refused, every session of that staff
  member ends, compliance is alerted and the audit log records it;
- break-glass reveals (no case: holders not linked to the staff member's work) above
  ``break_glass_per_day`` block the same way;
- many reveals outside business hours alert compliance (an off-hours spike).

Counts come from the access log, so every process and every server share them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.identity import sessions
from anxin.kit.errors import AnxinError, Forbidden, TooManyRequests
from anxin.models import User
from anxin.models.insider import AccessLogEntry
from anxin.privacy import alerts
from anxin.settings import Settings

REVEALING_ACTIONS = ("reveal", "export")
HOUR, DAY = timedelta(hours=1), timedelta(hours=24)


class BulkAccessBlocked(Forbidden):
    code = "bulk_access_blocked"
    title = "Too much personal data revealed: access blocked and compliance alerted"


class RevealRateLimited(TooManyRequests):
    code = "reveal_rate_limited"
    title = "Too many reveals in a minute; slow down"


class GuardTripped(Exception):
    """The guard blocked a request and recorded why (alert, audit entry, sessions ended).
    The edge commits, so that the record survives, then raises ``error``."""

    def __init__(self, error: AnxinError) -> None:
        super().__init__(error.detail)
        self.error = error


@dataclass(frozen=True)
class GuardPolicy:
    rate_per_minute: int
    alert_per_hour: int
    block_per_hour: int
    alert_per_day: int
    block_per_day: int
    break_glass_per_day: int
    business_start: time
    business_end: time  # time.max for 24:00
    business_days: frozenset[int]
    timezone: ZoneInfo
    off_hours_alert: int

    @classmethod
    def from_settings(cls, settings: Settings) -> GuardPolicy:
        start, end = settings.business_hours.split("-")
        return cls(
            rate_per_minute=settings.reveal_rate_per_minute,
            alert_per_hour=settings.guard_alert_holders_per_hour,
            block_per_hour=settings.guard_block_holders_per_hour,
            alert_per_day=settings.guard_alert_holders_per_day,
            block_per_day=settings.guard_block_holders_per_day,
            break_glass_per_day=settings.break_glass_per_day,
            business_start=time.fromisoformat(start),
            business_end=time.max if end == "24:00" else time.fromisoformat(end),
            business_days=frozenset(settings.business_days),
            timezone=ZoneInfo(settings.business_timezone),
            off_hours_alert=settings.off_hours_alert_reveals,
        )

    def off_hours(self, moment: datetime) -> bool:
        local = moment.astimezone(self.timezone)
        start, end, now = self.business_start, self.business_end, local.time()
        # "22:00-06:00" is a night shift: the hours wrap around midnight.
        hours = start <= now < end if start <= end else now >= start or now < end
        return not (hours and local.isoweekday() in self.business_days)


def _accesses(staff_id: uuid.UUID, since: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        AccessLogEntry.staff_id == staff_id,
        AccessLogEntry.at > since,
        AccessLogEntry.action.in_(REVEALING_ACTIONS),
    )


def distinct_holders(
    session: Session, staff_id: uuid.UUID, since: datetime, also: uuid.UUID | None = None
) -> int:
    """Distinct holders the staff member saw unmasked since ``since``, counting ``also``."""
    count = session.scalar(
        select(func.count(distinct(AccessLogEntry.holder_id))).where(*_accesses(staff_id, since))
    )
    if also is None:
        return int(count or 0)
    seen = session.scalar(
        select(AccessLogEntry.id).where(
            *_accesses(staff_id, since), AccessLogEntry.holder_id == also
        )
    )
    return int(count or 0) + (0 if seen is not None else 1)


def _break_glass_count(session: Session, staff_id: uuid.UUID, since: datetime) -> int:
    return int(
        session.scalar(
            select(func.count()).where(*_accesses(staff_id, since), AccessLogEntry.break_glass)
        )
        or 0
    )


def check(
    session: Session, policy: GuardPolicy, *, staff: User, holder_id: uuid.UUID,
    break_glass: bool, now: datetime,
) -> None:  # fmt: skip
    """Before unmasked data of one holder goes to a staff member. Raises
    ``RevealRateLimited``, or ``GuardTripped`` after recording a block."""
    recent = session.scalar(
        select(func.count()).where(*_accesses(staff.id, now - timedelta(minutes=1)))
    )
    if int(recent or 0) >= policy.rate_per_minute:
        raise RevealRateLimited(f"at most {policy.rate_per_minute} reveals a minute")
    hour = distinct_holders(session, staff.id, now - HOUR, holder_id)
    day = distinct_holders(session, staff.id, now - DAY, holder_id)
    reasons = []
    if hour > policy.block_per_hour:
        reasons.append(f"{hour} distinct holders in an hour (limit {policy.block_per_hour})")
    if day > policy.block_per_day:
        reasons.append(f"{day} distinct holders in 24 hours (limit {policy.block_per_day})")
    if break_glass:
        glass = _break_glass_count(session, staff.id, now - DAY) + 1
        if glass > policy.break_glass_per_day:
            reasons.append(
                f"{glass} break-glass reveals in 24 hours (limit {policy.break_glass_per_day})"
            )
    if reasons:
        _block(session, staff, reasons, holder_id=holder_id, hour=hour, day=day, now=now)


def _block(
    session: Session, staff: User, reasons: list[str], *, holder_id: uuid.UUID, hour: int,
    day: int, now: datetime,
) -> None:  # fmt: skip
    ended = sessions.revoke_all(session, staff.id, now)
    details = {"reasons": reasons, "holders_last_hour": hour, "holders_last_day": day,
               "sessions_ended": ended}  # fmt: skip
    alerts.raise_alert(
        session, kind="bulk_access_blocked", severity="critical", staff_id=staff.id,
        holder_id=holder_id, details=details, now=now, fold_within=HOUR,
    )  # fmt: skip
    audit.append(
        session, event="privacy.guard_blocked", actor_id=staff.id, actor_role=staff.role,
        subject_id=holder_id, data=details, now=now,
    )  # fmt: skip
    raise GuardTripped(
        BulkAccessBlocked(
            "; ".join(reasons) + ". Your sessions were ended and compliance was alerted."
        )
    )


def after(
    session: Session, policy: GuardPolicy, *, staff: User, holder_id: uuid.UUID, now: datetime
) -> None:
    """After an access was recorded: alert compliance about thresholds and patterns."""
    hour = distinct_holders(session, staff.id, now - HOUR)
    day = distinct_holders(session, staff.id, now - DAY)
    if hour > policy.alert_per_hour or day > policy.alert_per_day:
        alerts.raise_alert(
            session, kind="bulk_access_alert", severity="warning", staff_id=staff.id,
            holder_id=holder_id, details={"holders_last_hour": hour, "holders_last_day": day},
            now=now, fold_within=HOUR,
        )  # fmt: skip
    if policy.off_hours(now):
        times = session.scalars(select(AccessLogEntry.at).where(*_accesses(staff.id, now - HOUR)))
        off = sum(1 for moment in times if policy.off_hours(moment))
        if off > policy.off_hours_alert:
            alerts.raise_alert(
                session, kind="off_hours_spike", severity="warning", staff_id=staff.id,
                holder_id=holder_id, details={"off_hours_reveals_last_hour": off},
                now=now, fold_within=HOUR,
            )  # fmt: skip


def one_holder(holder_ids: list[uuid.UUID]) -> uuid.UUID:
    """The single holder a request may return unmasked data for."""
    if len(set(holder_ids)) != 1:
        raise Forbidden(
            "unmasked personal data is returned for one holder per request",
            code="one_holder_per_request",
        )
    return holder_ids[0]
