"""A replay through the real pipeline: every complaint of a recorded stream becomes a ticket
in a fresh in-memory SQLite database (never the configured one), the detection job runs on
the stream's own clock, and bursts open incidents exactly as in the server.

The detector's output is the same as a plain replay's, up to the job's cadence (a burst is
seen at the first pass after the complaint that raises it). What this adds is the cost and
the outcome of the persistence path: tickets, groups, members, incidents and their linked
complaints. Facts a ticket does not carry (merchant, app version, error code, transaction
kind) are taken from the stream.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from anxin import migrations
from anxin.care.sealing import seal
from anxin.collective import CollectiveComplaint, Complaint, DetectorSettings
from anxin.collective.detector import CategoryClassifier
from anxin.incidents.detection import DetectionRuntime
from anxin.kit.db import WRITE, Database
from anxin.kit.db import _configure_sqlite as configure_sqlite
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.care import CATEGORIES, TICKET_CHANNELS, Ticket, TicketLink, TicketMessage
from anxin.models.incidents import CollectiveGroup, CollectiveMember, Incident
from anxin.privacy.keyring import generate_keyring
from anxin.privacy.keys import KeyService
from anxin.privacy.vault import Vault

# Tickets are written in transactions of this many, and the job runs after each and
# whenever this much stream time passed (the server's job runs every few seconds).
WRITE_BATCH = 200
TICK_EVERY = timedelta(minutes=1)


@dataclass
class DatabaseReplay:
    collectives: list[CollectiveComplaint]  # member ids are the stream's complaint ids
    tickets: int
    groups: int
    members: int
    incidents: int
    linked: int  # complaints linked to an incident
    seconds: float


class _InMemory(Database):
    """A private SQLite database in memory: one connection, shared by the units of work
    (which run one after another here), configured like every SQLite database of Anxin."""

    def __init__(self) -> None:
        self.url = "sqlite://"
        self.engine = create_engine(
            self.url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        configure_sqlite(self.engine)
        self.dialect = self.engine.dialect.name
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(
            self.engine.execution_options(**WRITE), expire_on_commit=False
        )


def _ticket(session: Session, vault: Vault, complaint: Complaint, owner: uuid.UUID) -> Ticket:
    """The ticket and first message ``open_ticket`` would store, without what detection
    never reads (SLA clocks, acknowledgements, links): those cost 25 ms a ticket, and a
    replay stores tens of thousands."""
    ticket_id, message_id = new_id(), new_id()
    body = complaint.text[:20_000] or "(empty)"

    def sealed(table: str, column: str, row: uuid.UUID, text: str) -> bytes:
        return seal(session, vault, owner, table=table, column=column, row_id=row, text=text)

    ticket = Ticket(
        id=ticket_id, reference=f"AX-R{ticket_id.hex[-12:].upper()}", holder_id=None,
        owner_id=owner, channel=complaint.channel if complaint.channel in TICKET_CHANNELS
        else "app", contact_kind=None, contact_enc=None,
        contact_lookup=hashlib.sha256(complaint.user.encode()).hexdigest(),
        subject_enc=sealed("care_tickets", "subject_enc", ticket_id, ""), status="new",
        priority="normal", category=complaint.category if complaint.category in CATEGORIES
        else "other", category_source="auto", category_confidence=None, language="zh",
        assignee_id=None, escalated=False, merged_into_id=None, external_ref=None,
        sla_policy_id=None, reopen_count=0, created_at=complaint.at, updated_at=complaint.at,
        first_response_at=None, last_customer_at=complaint.at, last_agent_at=None,
        resolved_at=None, closed_at=None, reopen_until=None,
    )  # fmt: skip
    session.add(ticket)
    session.flush()
    session.add(TicketMessage(
        id=message_id, ticket_id=ticket_id, author_kind="customer", author_id=None,
        visibility="public", channel=ticket.channel,
        body_enc=sealed("care_messages", "body_enc", message_id, body),
        email_message_id=None, created_at=complaint.at,
    ))  # fmt: skip
    return ticket


def replay_through_database(
    complaints: Sequence[Complaint], settings: DetectorSettings,
    classifier: CategoryClassifier | None = None, *,
    progress: Callable[[int], None] | None = None,
) -> DatabaseReplay:  # fmt: skip
    started = time.perf_counter()
    database = _InMemory()
    try:
        migrations.upgrade(database.engine)
        vault = KeyService(generate_keyring(development=True)).vault()
        by_ticket: dict[uuid.UUID, Complaint] = {}
        owners: dict[str, uuid.UUID] = {}  # one data key per stream user, like a holder's

        def enrich(ticket: Ticket, seen: Complaint) -> Complaint:
            original = by_ticket[ticket.id]
            return dataclasses.replace(
                seen, user=original.user, text=original.text, category=original.category,
                merchant=original.merchant,
                transaction=original.transaction, app_version=original.app_version,
                error_code=original.error_code,
            )  # fmt: skip

        runtime = DetectionRuntime(settings, rebuild_hours=24 * 365, enrich=enrich,
                                   classifier=classifier)  # fmt: skip
        ordered = sorted(complaints, key=lambda c: c.at)
        last_tick: datetime | None = None
        done = 0
        for start in range(0, len(ordered), WRITE_BATCH):
            batch = ordered[start : start + WRITE_BATCH]
            with UnitOfWork(database) as uow:
                for complaint in batch:
                    owner = owners.get(complaint.user)
                    if owner is None:
                        owner = owners[complaint.user] = new_id()
                        vault.create_data_key(uow.session, owner, complaint.at)
                    ticket = _ticket(uow.session, vault, complaint, owner)
                    by_ticket[ticket.id] = complaint
                uow.commit()
            now = batch[-1].at
            if (
                last_tick is None
                or now - last_tick >= TICK_EVERY
                or start + WRITE_BATCH >= len(ordered)
            ):
                runtime.tick(database, vault, now)
                last_tick = now
            done += len(batch)
            if progress is not None:
                progress(done)
        by_id = {str(k): v.id for k, v in by_ticket.items()}
        collectives = []
        for collective in runtime.collectives:
            copy = dataclasses.replace(collective)
            copy.member_ids = [by_id.get(i, i) for i in collective.member_ids]
            collectives.append(copy)
        with UnitOfWork(database, write=False) as uow:

            def count(model: type) -> int:
                return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)

            linked = int(
                uow.session.scalar(
                    select(func.count())
                    .select_from(TicketLink)
                    .where(TicketLink.kind == "incident")
                )
                or 0
            )
            result = DatabaseReplay(
                collectives, count(Ticket), count(CollectiveGroup), count(CollectiveMember),
                count(Incident), linked, time.perf_counter() - started,
            )  # fmt: skip
        return result
    finally:
        database.dispose()
