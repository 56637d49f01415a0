"""``anxin incident plan|approve|remediate`` in-process through the real entry point: the
preview saves nothing until confirmed, the preparer's approval is a one-line refusal, and
the remediation runs to the end (a second run has nothing left to pay)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.incidents import RemediationPlan
from tests.cli.conftest import Cli, bare_cli, cli, home, one_line_error
from tests.incidents.remediation_helpers import World, balance, settings, uow, vault, world

__all__ = ["bare_cli", "cli", "home", "settings", "uow", "vault", "world"]


def plans(database: Database) -> int:
    with UnitOfWork(database, write=False) as unit:
        return int(unit.session.scalar(select(func.count()).select_from(RemediationPlan)) or 0)


def test_plan_approve_remediate(cli: Cli, world: World, database: Database,
                                tmp_path: Path) -> None:  # fmt: skip
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"note": "charged twice", "refund": {},
                                "goodwill": {"amount": 5_00, "asset": "CNY"}}))  # fmt: skip
    ref, preparer = world.incident.reference, str(world.preparer.pseudonym)
    previewed = cli("incident", "plan", ref, "--staff", preparer, "--spec", str(spec),
                    "--dry-run")  # fmt: skip
    assert previewed.code == 0, previewed
    assert "90.00 CNY" in previewed.out and "nothing saved" in previewed.out
    assert plans(database) == 0
    refused = cli("incident", "plan", ref, "--staff", str(world.agent.id), "--spec", str(spec),
                  "--yes")  # fmt: skip
    assert "remediation:prepare" in one_line_error(refused)
    saved = cli("incident", "plan", ref, "--staff", preparer, "--spec", str(spec), "--yes")
    assert saved.code == 0 and "draft plan" in saved.out, saved
    assert plans(database) == 1

    own = cli("incident", "approve", ref, "--staff", str(world.approver.id))
    assert own.code == 0, own  # the risk officer did not prepare this one
    again = cli("incident", "approve", ref, "--staff", str(world.admin.id))
    assert "no draft" in one_line_error(again)

    paid = cli("incident", "remediate", ref, "--staff", str(world.approver.id), "--chunk", "10")
    assert paid.code == 0, paid
    assert "done: 6/6 items paid (90.00 CNY), 0 failed, 0 pending" in paid.out
    with UnitOfWork(database, write=False) as unit:
        assert [balance(unit.session, h) for h in world.holders] == [105_00] * 3
    rerun = cli("incident", "remediate", ref, "--staff", str(world.approver.id))
    assert rerun.code == 0 and "done: 6/6" in rerun.out
    unknown = cli("incident", "remediate", ref, "--staff", "nobody@example.com")
    assert "no active staff member" in one_line_error(unknown)


def test_the_preparer_cannot_approve_from_the_cli(cli: Cli, world: World,
                                                  tmp_path: Path) -> None:  # fmt: skip
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"note": "n", "goodwill": {"amount": 1_00, "asset": "CNY"}}))
    ref, risk = world.incident.reference, str(world.approver.id)
    assert cli("incident", "plan", ref, "--staff", risk, "--spec", str(spec), "--yes").code == 0
    line = one_line_error(cli("incident", "approve", ref, "--staff", risk))
    assert "cannot approve" in line
    rejected = cli("incident", "approve", ref, "--staff", str(world.admin.id), "--reject",
                   "--note", "wrong amount")  # fmt: skip
    assert rejected.code == 0 and "rejected" in rejected.out
    bad = tmp_path / "bad.json"
    bad.write_text('{"note": "n", "goodwill": {"amount": 10.5, "asset": "CNY"}}')
    assert "goodwill.amount" in one_line_error(
        cli("incident", "plan", ref, "--staff", risk, "--spec", str(bad), "--yes")
    )
