"""The care desk feeds the collective-complaint detector; its alarms become incidents.

A job (``DetectionRuntime.tick``, run every few seconds by ``DetectionWorker`` in the
server, or by ``anxin incident detect``) reads the tickets opened since its last pass,
turns each into a ``collective.Complaint`` (subject and first message, category, holder,
and the merchant of any payment it is about) and shows it to the detector. Every collective
complaint raised, or grown since, is persisted as a ``CollectiveGroup`` with its
``CollectiveMember`` tickets and opens or joins an incident (``service.open_from_group``).

The detector lives in memory. On its first pass (or after a failed one) it is rebuilt from
the tickets of the last ``rebuild_hours``; bursts it re-raises while rebuilding are matched
to the groups already stored (same key, a shared ticket), so nothing is opened twice.
A job rather than a hook in ``open_ticket``: a complaint is stored even when detection
fails, and filing one never waits for the detector.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.orm import Session

from anxin.care.classify import default_classifier
from anxin.care.sealing import message_body, ticket_subject
from anxin.collective import CollectiveComplaint, Complaint, Detector, DetectorSettings
from anxin.collective.detector import CategoryClassifier
from anxin.incidents.service import open_from_group
from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.care import Ticket, TicketLink, TicketMessage
from anxin.models.incidents import CollectiveGroup, CollectiveMember
from anxin.models.wallet_merchants import Merchant, PaymentIntent
from anxin.privacy.keys import KeyService
from anxin.privacy.vault import Vault
from anxin.settings import Settings

log = logging.getLogger(__name__)

BATCH = 1000
DEFAULT_REBUILD_HOURS = 168.0
DEFAULT_INTERVAL_SECONDS = 10.0
OVERLAP = timedelta(minutes=10)
_LOCK_KEY = 0x616E78696E2D01  # "anxin-" 1: the detection pass


@dataclass
class TickReport:
    tickets: int = 0
    groups_opened: int = 0
    members_added: int = 0
    incidents: list[str] = field(default_factory=list)  # references opened or joined


def cause_key(collective: CollectiveComplaint) -> str:
    """What the burst shares, as text: ``merchant=alpha``, ``error=top_up,e42``."""
    kind, *rest = collective.keys[0]
    return f"{kind}={','.join(rest)}"[:200]


def _merchants(session: Session, tickets: list[Ticket]) -> dict[uuid.UUID, str]:
    """The merchant each ticket's linked payment went to (by the payment's transfers)."""
    links = session.execute(
        select(TicketLink.ticket_id, TicketLink.ref).where(
            TicketLink.ticket_id.in_([t.id for t in tickets]), TicketLink.kind == "transfer"
        )
    ).all()
    refs: dict[uuid.UUID, uuid.UUID] = {}
    for ticket_id, ref in links:
        try:
            refs[uuid.UUID(ref)] = ticket_id
        except ValueError:
            continue
    if not refs:
        return {}
    found: dict[uuid.UUID, str] = {}
    columns = (PaymentIntent.capture_id, PaymentIntent.hold_id)
    for column in columns:
        rows = session.execute(
            select(column, Merchant.id)
            .join(Merchant, Merchant.id == PaymentIntent.merchant_id)
            .where(column.in_(list(refs)))
        ).all()
        for transfer_id, merchant_id in rows:
            if transfer_id is not None:
                found.setdefault(refs[transfer_id], str(merchant_id))
    return found


Enrich = Callable[[Ticket, Complaint], Complaint]


def complaints_of(
    session: Session, vault: Vault, tickets: list[Ticket], enrich: Enrich | None = None
) -> list[Complaint]:
    """Tickets as the detector sees them (text decrypted in memory only); ``enrich`` may add
    facts a ticket does not carry (a replay adds its stream's app versions, error codes)."""
    if not tickets:
        return []
    merchants = _merchants(session, tickets)
    first: dict[uuid.UUID, TicketMessage] = {}
    for message in session.scalars(
        select(TicketMessage)
        .where(
            TicketMessage.ticket_id.in_([t.id for t in tickets]),
            TicketMessage.author_kind == "customer",
        )
        .order_by(TicketMessage.created_at, TicketMessage.id)
    ):
        first.setdefault(message.ticket_id, message)
    out: list[Complaint] = []
    for ticket in tickets:
        opening = first.get(ticket.id)
        try:
            text = ticket_subject(session, vault, ticket)
            if opening is not None:
                text = f"{text}\n{message_body(session, vault, opening)}"
        except Exception:  # an erased holder's ticket: nothing left to read
            text = ""
        user = ticket.holder_id or ticket.contact_lookup or ticket.id
        complaint = Complaint(
            id=str(ticket.id), at=ticket.created_at, user=str(user), channel=ticket.channel,
            text=text, merchant=merchants.get(ticket.id), category=ticket.category,
        )  # fmt: skip
        out.append(enrich(ticket, complaint) if enrich is not None else complaint)
    return out


class DetectionRuntime:
    """One detector per server process, fed by ``tick``; thread-safe."""

    def __init__(
        self, settings: DetectorSettings | None = None, *,
        rebuild_hours: float = DEFAULT_REBUILD_HOURS, enrich: Enrich | None = None,
        classifier: CategoryClassifier | None = None,
    ) -> None:  # fmt: skip
        self._settings = settings or DetectorSettings()
        self._enrich = enrich
        self._classifier = classifier
        self._rebuild = timedelta(hours=rebuild_hours)
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._detector: Detector | None = None
        # The newest ticket time seen; each pass re-reads OVERLAP before it, because a
        # ticket committed late can carry an earlier time than one already read.
        self._high: datetime | None = None
        self._seen: dict[uuid.UUID, datetime] = {}
        self._persisted: dict[int, tuple[uuid.UUID, int]] = {}  # number -> (group, members)

    def configure(self, settings: DetectorSettings, *, rebuild_hours: float | None = None) -> None:
        """New settings; the detector is rebuilt on the next pass."""
        with self._lock:
            self._settings = settings
            if rebuild_hours is not None:
                self._rebuild = timedelta(hours=rebuild_hours)
            self._reset()

    def tick(self, database: Database, vault: Vault, now: datetime) -> TickReport:
        """One pass in its own transaction; a failed pass rebuilds the detector next time."""
        with self._lock:
            if self._nothing_new(database, now):
                return TickReport()
            try:
                with UnitOfWork(database) as uow:
                    if database.dialect == "postgresql":
                        # Passes of several server processes store groups one at a time
                        # (SQLite's write lock already does that), so the second to raise
                        # a burst finds the group the first stored.
                        uow.session.execute(
                            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}
                        )
                    report = self._run(uow.session, vault, now)
                    uow.commit()
            except BaseException:
                self._reset()
                raise
        return report

    def _nothing_new(self, database: Database, now: datetime) -> bool:
        """Whether the tickets since the re-read window are exactly those already seen (a
        read, so an idle server does not take SQLite's write lock every few seconds)."""
        since = now - self._rebuild if self._high is None else self._high - OVERLAP
        with UnitOfWork(database, write=False) as uow:
            count = uow.session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.created_at >= since)
            )
        return count == sum(1 for at in self._seen.values() if at >= since)

    def _run(self, session: Session, vault: Vault, now: datetime) -> TickReport:
        if self._detector is None:
            self._detector = Detector(self._settings, self._classifier or default_classifier())
        report = TickReport()
        since = now - self._rebuild if self._high is None else self._high - OVERLAP
        page: tuple[datetime, uuid.UUID] | None = None
        while True:
            query = (
                select(Ticket)
                .where(Ticket.created_at >= since)
                .order_by(Ticket.created_at, Ticket.id)
                .limit(BATCH)
            )
            if page is not None:
                query = query.where(tuple_(Ticket.created_at, Ticket.id) > page)
            tickets = list(session.scalars(query))
            if not tickets:
                break
            page = (tickets[-1].created_at, tickets[-1].id)
            fresh = [t for t in tickets if t.id not in self._seen]
            for ticket in fresh:
                self._seen[ticket.id] = ticket.created_at
            for complaint in complaints_of(session, vault, fresh, self._enrich):
                self._detector.observe(complaint)
            if self._high is None or page[0] > self._high:
                self._high = page[0]
            report.tickets += len(fresh)
            self._persist(session, now, report)
            if len(tickets) < BATCH:
                break
        if self._high is not None:
            horizon = self._high - OVERLAP
            self._seen = {k: at for k, at in self._seen.items() if at >= horizon}
        return report

    @property
    def collectives(self) -> list[CollectiveComplaint]:
        """What the detector raised so far (member ids are ticket ids)."""
        return list(self._detector.collectives) if self._detector is not None else []

    def _persist(self, session: Session, now: datetime, report: TickReport) -> None:
        assert self._detector is not None
        for collective in self._detector.collectives:
            known = self._persisted.get(collective.number)
            if known is not None and known[1] == len(collective.member_ids):
                continue
            group = (
                session.get(CollectiveGroup, known[0])
                if known is not None
                else _stored_group(session, collective)
            )
            if group is None:
                group = _new_group(session, collective)
                report.groups_opened += 1
            report.members_added += _add_members(session, group, collective, now)
            group.distinct_holders = len(collective.holders)
            group.title = _title(session, collective)  # its counts grow with the burst
            group.evidence = _evidence(collective, self._detector, group.evidence)
            incident = open_from_group(session, group, now)
            if incident.reference not in report.incidents:
                report.incidents.append(incident.reference)
            self._persisted[collective.number] = (group.id, len(collective.member_ids))


def _evidence(
    collective: CollectiveComplaint, detector: Detector | None = None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """What the console shows of a burst. ``baseline_per_hour``: the complaints per hour
    the detector expected of the burst's first group when it raised it (kept from the
    first pass, so a growing burst does not move its own baseline); rows stored before it
    was recorded have none."""
    evidence: dict[str, Any] = {
        "keys": ["=".join((k[0], ",".join(k[1:]))) for k in collective.keys],
        "complaints": len(collective.member_ids),
        "holders": len(collective.holders),
        "categories": dict(collective.categories),
    }
    if previous and "baseline_per_hour" in previous:
        evidence["baseline_per_hour"] = previous["baseline_per_hour"]
    elif detector is not None:
        # The detector's own expected rate (group share x weekly profile + prior).
        rate = detector.baseline_rate(collective.keys[0], collective.detected_at.timestamp())
        evidence["baseline_per_hour"] = round(rate, 6)
    return evidence


def _stored_group(session: Session, collective: CollectiveComplaint) -> CollectiveGroup | None:
    """The group stored for this burst by an earlier process (same key, its first ticket)."""
    first = uuid.UUID(collective.member_ids[0])
    return session.scalars(
        select(CollectiveGroup)
        .join(CollectiveMember, CollectiveMember.group_id == CollectiveGroup.id)
        .where(CollectiveMember.ticket_id == first, CollectiveGroup.key == cause_key(collective))
    ).first()


def _title(session: Session, collective: CollectiveComplaint) -> str:
    """The detector's title, with a merchant's name instead of its id."""
    kind, *rest = collective.keys[0]
    if kind == "merchant" and rest:
        try:
            merchant = session.get(Merchant, uuid.UUID(rest[0]))
        except ValueError:
            merchant = None
        if merchant is not None:
            return (f"{len(collective.member_ids)} complaints from {len(collective.holders)} "
                    f"holders: merchant {merchant.name}")[:200]  # fmt: skip
    return collective.title[:200]


def _new_group(session: Session, collective: CollectiveComplaint) -> CollectiveGroup:
    first = session.get(Ticket, uuid.UUID(collective.member_ids[0]))
    group = CollectiveGroup(
        id=new_id(), key=cause_key(collective), category=collective.category,
        title=_title(session, collective), detected_at=collective.detected_at,
        first_complaint_at=first.created_at if first else collective.detected_at,
        distinct_holders=len(collective.holders), evidence=_evidence(collective),
        incident_id=None,
    )  # fmt: skip
    session.add(group)
    session.flush()
    return group


def _add_members(
    session: Session, group: CollectiveGroup, collective: CollectiveComplaint, now: datetime
) -> int:
    have = set(
        session.scalars(
            select(CollectiveMember.ticket_id).where(CollectiveMember.group_id == group.id)
        )
    )
    added = 0
    for member in collective.member_ids:
        ticket_id = uuid.UUID(member)
        if ticket_id not in have:
            session.add(CollectiveMember(group_id=group.id, ticket_id=ticket_id, added_at=now))
            have.add(ticket_id)
            added += 1
    session.flush()
    return added


class DetectionWorker:
    """Runs ``tick`` every ``interval`` seconds on a daemon thread."""

    def __init__(
        self, runtime: DetectionRuntime, database: Database, vault: Vault, clock: Clock, *,
        interval: float = DEFAULT_INTERVAL_SECONDS,
    ) -> None:  # fmt: skip
        self._runtime, self._database, self._vault = runtime, database, vault
        self._clock, self._interval = clock, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> DetectionWorker:
        self._thread = threading.Thread(target=self._loop, name="anxin-incidents", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                report = self._runtime.tick(self._database, self._vault, self._clock.now())
            except Exception:  # keep the worker alive; the next pass rebuilds and retries
                log.exception("incident detection pass failed")
                continue
            if report.groups_opened or report.members_added:
                log.info("collective complaints: %s", report)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def start_detection_worker(
    settings: Settings, runtime: DetectionRuntime, database: Database, keys: KeyService,
    clock: Clock,
) -> DetectionWorker | None:  # fmt: skip
    """Started with the server; None when switched off (``ANXIN_INCIDENTS_DETECT_SECONDS=0``)."""
    if settings.incidents_detect_seconds <= 0:
        return None
    interval = settings.incidents_detect_seconds
    return DetectionWorker(runtime, database, keys.vault(), clock, interval=interval).start()
