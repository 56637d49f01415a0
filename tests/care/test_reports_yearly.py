"""The yearly complaint report (counts by category and month in UTC+8, share resolved,
handling speed, compensation per asset) through the service, the API (JSON and CSV) and
``anxin care report``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from anxin.api.deps import Container
from anxin.care import dispute_outcomes, disputes, report_yearly
from anxin.cli.main import app
from anxin.kit.clock import ManualClock
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import FeeCharge, FeeWaiver
from anxin.models.care import Dispute
from anxin.privacy.vault import Vault
from anxin.settings import Settings
from anxin.wallet.accounts import BUSINESS_TZ
from tests.care.conftest import Person, fund, make_user
from tests.care.test_disputes import POLICY, pay
from tests.care.test_reports import AS_OF, START, Story, make_history

YEAR = 2030


def _compensation_waiver(unit: UnitOfWork, holder_id: Any, waived: int, at: datetime) -> None:
    """A fee of ``waived`` taken off in full by a compensation waiver."""
    waiver = FeeWaiver(
        id=new_id(), kind="compensation", campaign=None, user_id=holder_id, operation=None,
        asset="CNY", discount_bps=10_000, max_uses=1, uses=1, starts_at=at, ends_at=None,
        reason="sorry for the outage", created_by=None, created_at=at, revoked_at=None,
        revoked_by=None,
    )  # fmt: skip
    unit.session.add(waiver)
    unit.session.flush()
    unit.session.add(FeeCharge(
        id=new_id(), operation="withdrawal", reference=f"w-{waiver.id}", user_id=holder_id,
        asset="CNY", amount=100_00, rule_id=None, gross_fee=waived, waiver_id=waiver.id,
        waived=waived, points_used=0, points_discount=0, fee=0, transfer_id=None,
        created_at=at, released_at=None,
    ))  # fmt: skip


def seed(container: Container) -> list[Story]:
    """A year's history: tickets, two disputes (one upheld, one rejected) and a fee
    waived as compensation; plus a ticket from the year before that must not count."""
    vault: Vault = container.keys.vault()
    with UnitOfWork(container.database) as unit:
        stories = make_history(unit.session, vault, count=50)
        make_history(unit.session, vault, count=3, seed=3,
                     start=datetime(2029, 6, 1, tzinfo=UTC), days=30, as_of=AS_OF)  # fmt: skip
        holder = make_user(unit.session, vault, START)
        staff = make_user(unit.session, vault, START, role="senior_agent")
        fund(unit.session, holder.id, 1_000_00, START)
        later = START + timedelta(days=3)
        for amount, outcome in ((120_00, "upheld"), (30_00, "rejected")):
            made = disputes.open_dispute(
                unit.session, vault, holder, transfer_id=pay(unit, holder, amount, START),
                reason="not_me", note=None, now=START, policy=POLICY,
            )  # fmt: skip
            dispute_outcomes.decide(unit.session, vault, staff, made.id, outcome=outcome,
                                    note="checked", now=later)  # fmt: skip
        _compensation_waiver(unit, holder.id, 5_00, later)
        _compensation_waiver(unit, holder.id, 7_00, datetime(2029, 5, 1, tzinfo=UTC))
        unit.commit()
    return stories


def _month(moment: datetime) -> str:
    return f"{moment.astimezone(BUSINESS_TZ):%Y-%m}"


def check_year(made: dict[str, Any], container: Container, stories: list[Story]) -> None:
    with UnitOfWork(container.database, write=False) as unit:
        disputed = list(unit.session.scalars(select(Dispute.ticket_id)))
    everything = len(stories) + len(disputed)
    assert made["tickets"] == everything
    assert sum(made["by_category"].values()) == everything
    for month in made["months"]:
        inside = [s for s in stories if _month(s.created) == month["month"]]
        extra = len(disputed) if month["month"] == _month(START) else 0
        assert month["tickets"] == len(inside) + extra
        assert month["by_category"]["fees"] == sum(s.category == "fees" for s in inside)
    resolved = sum(not s.open_at_end for s in stories) + len(disputed)  # both decided
    assert made["resolved"] == resolved
    assert made["share_resolved"] == round(resolved / everything, 4)
    assert made["compensation"] == {"CNY": {
        "dispute_credits": 120_00, "recovered_from_merchants": 0, "fee_waivers": 5_00,
        "total": 125_00,
    }}  # fmt: skip


def test_the_yearly_report_counts_by_month_and_category_and_adds_up_compensation(
    container: Container,
) -> None:
    stories = seed(container)
    with UnitOfWork(container.database, write=False) as unit:
        made = report_yearly.yearly(unit.session, YEAR, as_of=AS_OF)
        before = report_yearly.yearly(unit.session, YEAR - 1, as_of=AS_OF)
    check_year(made, container, stories)
    assert before["tickets"] == 3 and before["compensation"]["CNY"]["fee_waivers"] == 7_00
    assert [m["month"] for m in made["months"]] == [f"{YEAR}-{m:02d}" for m in range(1, 13)]
    assert made["first_response"]["wall_seconds"]["count"] >= len(stories) // 2
    lines = report_yearly.month_rows(made)
    assert lines[0][:3] == ["month", "tickets", "resolved"] and lines[-1][0] == "total"
    assert report_yearly.compensation_rows(made)[1] == ["CNY", 120_00, 0, 5_00, 125_00]


def test_the_yearly_report_over_the_api_and_the_cli(
    client: TestClient, container: Container, clock: ManualClock, settings: Settings,
    db_url: str, key_file: Path, ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    stories = seed(container)
    clock.set(AS_OF)
    senior = ready_staff("senior_agent")
    got = client.get("/v1/staff/care/reports/yearly", headers=senior.headers)  # this year
    assert got.status_code == 200, got.text
    check_year(got.json(), container, stories)
    part = client.get("/v1/staff/care/reports/yearly.csv?part=compensation",
                      headers=senior.headers)  # fmt: skip
    assert part.status_code == 200
    assert list(csv.reader(io.StringIO(part.text)))[1] == ["CNY", "12000", "0", "500", "12500"]
    months = client.get(f"/v1/staff/care/reports/yearly.csv?year={YEAR}", headers=senior.headers)
    rows = list(csv.DictReader(io.StringIO(months.text)))
    assert len(rows) == 13 and rows[-1]["month"] == "total"
    assert int(rows[-1]["tickets"]) == got.json()["tickets"]
    assert client.get("/v1/staff/care/reports/yearly?year=1999",
                      headers=senior.headers).status_code == 422  # fmt: skip

    env = {
        "ANXIN_DATABASE_URL": db_url, "ANXIN_KEY_FILE": str(key_file), "ANXIN_ENV": "test",
        "ANXIN_HOME": str(settings.home), "COLUMNS": "250",
    }  # fmt: skip
    runner = CliRunner()
    printed = runner.invoke(app, ["care", "report", "--year", str(YEAR), "--format", "json"],
                            env=env)  # fmt: skip
    assert printed.exit_code == 0, printed.output
    from_cli = json.loads(printed.output)
    assert from_cli["tickets"] == got.json()["tickets"]
    assert from_cli["compensation"] == got.json()["compensation"]
    as_csv = runner.invoke(app, ["care", "report", "--year", str(YEAR), "--format", "csv"], env=env)
    assert as_csv.exit_code == 0 and as_csv.output.splitlines()[-1].startswith("total,")
    table = runner.invoke(app, ["care", "report", "--year", str(YEAR)], env=env)
    assert table.exit_code == 0 and "Compensation" in table.output and "12000" in table.output
    ranged = runner.invoke(app, ["care", "report", "--since", START.isoformat(), "--until",
                                 (START + timedelta(days=60)).isoformat(), "--format", "csv"],
                           env=env)  # fmt: skip
    assert ranged.exit_code == 0, ranged.output
    rows = list(csv.DictReader(io.StringIO(ranged.output)))
    overall = next(r for r in rows if r["dimension"] == "all")
    assert int(overall["tickets"]) == len(stories) + 2
    performance = runner.invoke(app, ["care", "report", "--since", START.isoformat(), "--until",
                                      AS_OF.isoformat()], env=env)  # fmt: skip
    assert performance.exit_code == 0 and "category" in performance.output
    naive = runner.invoke(app, ["care", "report", "--since", "2030-01-01"], env=env)
    assert naive.exit_code == 1 and "time zone" in str(naive.exception)
    clash = runner.invoke(app, ["care", "report", "--year", "2030", "--since", "x"], env=env)
    assert clash.exit_code == 1
    old = runner.invoke(app, ["care", "report", "--year", "1999"], env=env)
    assert old.exit_code == 1 and "year" in str(old.exception)
