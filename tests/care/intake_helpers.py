"""Helpers of the intake-channel tests: reading tickets back, and proving that what a
person wrote is stored only encrypted."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from anxin.api.deps import Container
from anxin.care.sealing import message_body, ticket_subject
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Base
from anxin.models.care import Ticket, TicketMessage


def all_tickets(container: Container) -> list[Ticket]:
    with UnitOfWork(container.database, write=False) as uow:
        rows = list(uow.session.scalars(select(Ticket).order_by(Ticket.created_at, Ticket.id)))
        uow.session.expunge_all()
        return rows


def conversation(container: Container, ticket: Ticket) -> list[tuple[str, str, str, str]]:
    """(author_kind, visibility, channel, body) of each message, oldest first."""
    with UnitOfWork(container.database, write=False) as uow:
        vault = container.keys.vault()
        rows = uow.session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket.id)
            .order_by(TicketMessage.created_at, TicketMessage.id)
        )
        return [
            (m.author_kind, m.visibility, m.channel, message_body(uow.session, vault, m))
            for m in rows
        ]


def subject_of(container: Container, ticket: Ticket) -> str:
    with UnitOfWork(container.database, write=False) as uow:
        return ticket_subject(uow.session, container.keys.vault(), ticket)


def assert_not_stored_in_plaintext(container: Container, *values: str) -> None:
    """Every row of every table, read raw, contains none of ``values``."""
    needles = {v: {v.encode(), json.dumps(v)[1:-1].encode()} for v in values}
    with UnitOfWork(container.database, write=False) as uow:
        for table in Base.metadata.sorted_tables:
            for row in uow.session.execute(text(f"SELECT * FROM {table.name}")):
                for cell in row:
                    if cell is None:
                        continue
                    binary = isinstance(cell, bytes | memoryview)
                    raw = bytes(cell) if binary else str(cell).encode()
                    for value, forms in needles.items():
                        assert not any(f in raw for f in forms), (table.name, value)
