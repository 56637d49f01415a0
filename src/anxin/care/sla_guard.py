"""Temporary: the SLA hooks until ``anxin.care.sla`` lands (another helper writes it).

Removed as soon as sla.py is in main; callers then import ``anxin.care.sla`` directly.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from types import ModuleType

from sqlalchemy.orm import Session

from anxin.models.care import Ticket


def _sla() -> ModuleType | None:
    try:
        return importlib.import_module("anxin.care.sla")
    except ImportError:
        return None


def start_clocks(session: Session, ticket: Ticket, now: datetime) -> None:
    module = _sla()
    if module is not None:
        module.start_clocks(session, ticket, now)


def on_agent_reply(session: Session, ticket: Ticket, now: datetime) -> None:
    module = _sla()
    if module is not None:
        module.on_agent_reply(session, ticket, now)


def on_customer_message(session: Session, ticket: Ticket, now: datetime) -> None:
    module = _sla()
    if module is not None:
        module.on_customer_message(session, ticket, now)


def on_status(session: Session, ticket: Ticket, old: str, new: str, now: datetime) -> None:
    module = _sla()
    if module is not None:
        module.on_status(session, ticket, old, new, now)


def expected_answer_at(session: Session, ticket: Ticket) -> datetime | None:
    module = _sla()
    if module is None:
        return None
    result: datetime | None = module.expected_answer_at(session, ticket)
    return result
