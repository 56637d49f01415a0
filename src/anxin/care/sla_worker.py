"""The server's SLA worker: ``sla.tick`` every ``ANXIN_CARE_SLA_TICK_SECONDS`` on a daemon
thread (warnings, breaches, escalation), then closing resolved tickets whose reopen window
has passed. ``anxin care sla-tick`` and ``anxin care close-resolved`` do the same by hand or
from cron when the worker is switched off."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from anxin.care import sla, states
from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.privacy.keys import KeyService
from anxin.settings import Settings

log = logging.getLogger(__name__)


def run_once(database: Database, now: datetime) -> sla.TickReport:
    """One pass in its own transaction."""
    with UnitOfWork(database) as uow:
        report = sla.tick(uow.session, now)
        uow.commit()
    if report.breached or report.warned:
        log.info(
            "SLA tick: %d warned, %d breached, %d escalated",
            report.warned, report.breached, report.escalated,
        )  # fmt: skip
    return report


def close_resolved_once(database: Database, keys: KeyService, now: datetime) -> int:
    """Close resolved tickets past their reopen window, in their own transaction."""
    with UnitOfWork(database) as uow:
        closed = states.close_expired(uow.session, keys.vault(), now)
        uow.commit()
    return closed


class SlaWorker:
    def __init__(
        self, database: Database, clock: Clock, *, interval: float, keys: KeyService | None = None
    ) -> None:
        self._database, self._clock, self._interval = database, clock, interval
        self._keys = keys
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SlaWorker:
        self._thread = threading.Thread(target=self._run, name="anxin-care-sla", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                run_once(self._database, self._clock.now())
                if self._keys is not None:
                    close_resolved_once(self._database, self._keys, self._clock.now())
            except Exception:  # keep the worker alive; the next pass retries
                log.exception("SLA tick failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def start_sla_worker(
    settings: Settings, database: Database, clock: Clock, keys: KeyService
) -> SlaWorker | None:
    """Started with the server; None when switched off (``ANXIN_CARE_SLA_TICK_SECONDS=0``)."""
    if settings.care_sla_tick_seconds <= 0:
        return None
    interval = settings.care_sla_tick_seconds
    return SlaWorker(database, clock, interval=interval, keys=keys).start()
