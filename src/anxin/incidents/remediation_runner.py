"""The execution job: runs an approved plan to the end, one unit of work per chunk.

This is an edge, like the ledger engine's writer: it owns its transactions and commits
each chunk (money, item states, counter and notices together). ``anxin incident
remediate`` and ``POST .../remediation/{plan}/execute`` call it. Killed at any moment, it
leaves only whole chunks behind; run again, it carries on with what is still pending.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from anxin.incidents.remediation_execute import (
    ChunkResult,
    chunks,
    finish,
    pay_chunk,
    pending_items,
    start,
)
from anxin.incidents.remediation_spec import NotAllowed
from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from anxin.privacy.vault import Vault

CHUNK_ITEMS = 1000


@dataclass
class RunResult:
    done: int = 0
    failed: int = 0
    skipped: int = 0
    finished: bool = False
    remaining: int = 0  # pending items left when stopped at max_items


def _staff(uow: UnitOfWork, staff_id: uuid.UUID) -> User:
    staff = uow.session.get(User, staff_id)
    if staff is None or staff.kind != "staff" or staff.status != "active":
        raise NotAllowed("only an active staff member can execute a remediation plan")
    return staff


def run_plan(
    database: Database, vault: Vault, plan_id: uuid.UUID, staff_id: uuid.UUID, *,
    clock: Clock, chunk_items: int = CHUNK_ITEMS, max_items: int | None = None,
    on_chunk: Callable[[ChunkResult], None] | None = None,
) -> RunResult:  # fmt: skip
    """Execute (or resume) the plan; with ``max_items``, stop after about that many."""
    with UnitOfWork(database) as uow:
        start(uow.session, plan_id, _staff(uow, staff_id), now=clock.now())
        uow.commit()
    with UnitOfWork(database, write=False) as uow:
        pending = pending_items(uow.session, plan_id)
    run = RunResult()
    groups = chunks(pending, chunk_items)
    for n, group in enumerate(groups):
        if max_items is not None and run.done + run.failed + run.skipped >= max_items:
            run.remaining = sum(len(g) for g in groups[n:])
            return run
        with UnitOfWork(database) as uow:
            staff = _staff(uow, staff_id)
            result = pay_chunk(uow.session, vault, plan_id, group, staff, now=clock.now())
            uow.commit()
        run.done, run.failed = run.done + result.done, run.failed + result.failed
        run.skipped += result.skipped
        if on_chunk is not None:
            on_chunk(result)
    with UnitOfWork(database) as uow:
        run.finished = finish(uow.session, plan_id, _staff(uow, staff_id), now=clock.now())
        uow.commit()
    return run
