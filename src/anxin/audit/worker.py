"""The server's periodic audit chores: sign a checkpoint when the log moved on, and escalate
break-glass reviews that are past due. ``anxin audit checkpoint`` does the first by hand."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from anxin.audit import checkpoints
from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.insider import AuditCheckpoint, AuditHead
from anxin.privacy.keyring import Keyring

log = logging.getLogger(__name__)


def run_once(database: Database, keyring: Keyring, now: datetime) -> AuditCheckpoint | None:
    """One round: escalate overdue reviews; sign a checkpoint if anything was appended since
    the last one (besides that checkpoint's own entry). Returns the new checkpoint."""
    from anxin.privacy.reveal import sweep_overdue

    with UnitOfWork(database) as uow:
        if sweep_overdue(uow.session, now):
            uow.commit()
    if keyring.audit_signing_key is None:
        return None
    with UnitOfWork(database) as uow:
        head = uow.session.get(AuditHead, 1)
        latest = checkpoints.latest(uow.session)
        if head is None or head.last_seq == 0:
            return None
        if latest is not None and head.last_seq <= latest.seq + 1:
            return None
        row = checkpoints.create(uow.session, checkpoints.signer_of(keyring), now)
        uow.commit()
        uow.session.expunge(row)
        return row


class AuditWorker:
    """Runs ``run_once`` every ``interval`` seconds on a daemon thread (in the server)."""

    def __init__(
        self, database: Database, keyring: Keyring, clock: Clock, *, interval: float
    ) -> None:
        self._database, self._keyring, self._clock = database, keyring, clock
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> AuditWorker:
        if self._keyring.audit_signing_key is None:
            log.warning("no audit signing key: checkpoints are not signed (anxin audit keygen)")
        self._thread = threading.Thread(target=self._run, name="anxin-audit", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                run_once(self._database, self._keyring, self._clock.now())
            except Exception:  # the next round tries again; the log says why
                log.exception("audit checkpoint round failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
