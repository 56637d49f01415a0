"""The remediation crash test: ``anxin incident remediate`` is killed with SIGKILL while it
pays, on SQLite and PostgreSQL. What it left behind is only whole chunks (every holder
either fully paid, with item states, the plan's counter and the money in agreement, or not
at all); a second run finishes without paying anyone twice; ``anxin ledger verify`` is ok.
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from anxin import migrations
from anxin.cli.bench_remediation import _setup
from anxin.incidents import remediation_approval, remediation_plan
from anxin.incidents.remediation_spec import parse_spec
from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Transfer, User
from anxin.models.incidents import Incident, RemediationItem, RemediationPlan
from anxin.models.ledger import IdempotencyKey
from tests.migrations.databases import empty_db_url
from tests.system.server import ANXIN, anxin_env, run_anxin

__all__ = ["empty_db_url"]

pytestmark = pytest.mark.slow

HOLDERS = 1500  # two items each: a refund and a goodwill credit
CHUNK = 40  # items per transaction: many chunks, so the kill lands mid-run


def _approved_plan(database: Database) -> tuple[str, uuid.UUID, uuid.UUID]:
    incident_id, preparer, approver = _setup(database, HOLDERS)
    spec = parse_spec({"note": "crash", "refund": {},
                       "goodwill": {"amount": 1_00, "asset": "CNY"}})  # fmt: skip
    now = SystemClock().now()
    with UnitOfWork(database) as uow:
        s = uow.session
        incident = s.get(Incident, incident_id)
        staff = s.get(User, preparer)
        assert incident is not None and staff is not None
        plan, _ = remediation_plan.prepare(s, incident, spec, staff=staff, now=now)
        checker = s.get(User, approver)
        assert checker is not None
        remediation_approval.approve(s, plan.id, checker, now=now)
        uow.commit()
        return incident.reference, plan.id, approver


def _state(database: Database, plan_id: uuid.UUID, reference: str) -> dict[str, int]:
    """What is committed: items done, the counter, transfers, keys, holders half-paid."""
    with UnitOfWork(database, write=False) as uow:
        s = uow.session
        i = RemediationItem
        done_per_holder = dict(
            s.execute(
                select(i.holder_id, func.count())
                .where(i.plan_id == plan_id, i.status == "done")
                .group_by(i.holder_id)
            ).all()
        )  # fmt: skip
        plan = s.get(RemediationPlan, plan_id)
        assert plan is not None
        transfers = s.scalar(select(func.count()).where(Transfer.reference.like(f"{reference}:%")))
        keys = s.scalar(select(func.count()).where(IdempotencyKey.scope == "remediation"))
        per_destination = (
            select(func.count().label("n"))
            .where(Transfer.reference.like(f"{reference}:%"))
            .group_by(Transfer.destination_id)
            .subquery()
        )
        most = s.scalar(select(func.max(per_destination.c.n)))
        return {
            "done": sum(done_per_holder.values()), "paid_count": plan.paid_count,
            "transfers": int(transfers or 0), "keys": int(keys or 0),
            "half_paid": sum(1 for n in done_per_holder.values() if n != 2),
            "most_per_holder": int(most or 0),
        }  # fmt: skip


def test_sigkill_mid_batch_leaves_whole_chunks_and_a_rerun_pays_nobody_twice(
    empty_db_url: str, tmp_path: Path, key_file: Path
) -> None:
    database = Database(empty_db_url)
    try:
        migrations.upgrade(database.engine)
        reference, plan_id, approver = _approved_plan(database)
        env = anxin_env(database_url=empty_db_url, home=str(tmp_path / "home"), env="test",
                        key_file=str(key_file), log_level="warning")  # fmt: skip
        args = ["incident", "remediate", reference, "--staff", str(approver), "--chunk",
                str(CHUNK)]  # fmt: skip
        with (tmp_path / "remediate.log").open("wb") as log:
            process = subprocess.Popen([ANXIN, *args], env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 120
            while _state(database, plan_id, reference)["done"] < 3 * CHUNK:
                assert process.poll() is None, (tmp_path / "remediate.log").read_text()
                assert time.monotonic() < deadline, "no chunk committed in two minutes"
                time.sleep(0.02)
            process.send_signal(signal.SIGKILL)  # no handler, no rollback, no goodbye
            assert process.wait(timeout=30) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()

        after_kill = _state(database, plan_id, reference)
        assert 0 < after_kill["done"] < 2 * HOLDERS, "the run ended before it was killed"
        # Whole chunks only: money, item states, counter and ledger keys agree exactly.
        assert after_kill["done"] % CHUNK == 0
        assert after_kill["half_paid"] == 0
        assert after_kill["done"] == after_kill["paid_count"] == after_kill["transfers"]
        assert after_kill["keys"] == after_kill["done"]

        finished = run_anxin(*args, env=env, timeout=300)
        assert finished.returncode == 0, finished.stdout + finished.stderr
        assert f"done: {2 * HOLDERS}/{2 * HOLDERS} items paid" in finished.stdout
        final = _state(database, plan_id, reference)
        assert final == {"done": 2 * HOLDERS, "paid_count": 2 * HOLDERS,
                         "transfers": 2 * HOLDERS, "keys": 2 * HOLDERS, "half_paid": 0,
                         "most_per_holder": 2}  # fmt: skip
        verified = run_anxin("ledger", "verify", env=env, timeout=300)
        assert verified.returncode == 0, verified.stderr
        assert verified.stdout.startswith("ok:"), verified.stdout
    finally:
        database.dispose()
