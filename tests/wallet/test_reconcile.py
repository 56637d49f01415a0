"""Reconciliation: every kind of mismatch between the bank and the ledger becomes one
exception for staff, the holder is told, staff resolve it; `anxin reconcile` runs it."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from anxin.api.deps import Container
from anxin.cli.main import run
from anxin.settings import Settings
from anxin.wallet.funding import SimulatedBankRail
from anxin.wallet.reconcile import RunReport, reconcile
from tests.identity.conftest import Person
from tests.wallet.conftest import Api
from tests.wallet.test_topup import link, settle, topup, verify, wallet
from tests.wallet.test_withdraw import ACCOUNT, withdraw


def run_once(container: Container, rail: SimulatedBankRail) -> RunReport:
    now = container.clock.now()
    return reconcile(
        container.database, rail, container.keys.vault(), container.clock,
        since=now - timedelta(days=1), until=now + timedelta(minutes=1),
    )  # fmt: skip


def kinds(report: RunReport) -> list[str]:
    return sorted(e.kind for e in report.new_exceptions)


def inbox(api: Api) -> list[str]:
    return [n["kind"] for n in api.call("GET", "/v1/me/notifications").json()["data"]]


def test_matching_books_raise_nothing(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
    container: Container, rail: SimulatedBankRail,
) -> None:  # fmt: skip
    api = api_for(holder())
    give(api.person, 100_00)
    card, account = link(api), link(api, ACCOUNT, "bank_account")
    topup(api, card, 30_00, "t")
    withdraw(api, account, 20_00, "w")
    settle(container, rail)
    report = run_once(container, rail)
    assert (report.records_checked, report.orders_checked, report.matched) == (2, 2, 2)
    assert report.new_exceptions == []


def test_every_kind_of_mismatch_is_flagged_once_and_the_holder_told(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
    container: Container, rail: SimulatedBankRail,
) -> None:  # fmt: skip
    api = api_for(holder())
    give(api.person, 100_00)
    card, account = link(api), link(api, ACCOUNT, "bank_account")
    now = container.clock.now()
    # 1. The bank took money for an order the wallet never heard of.
    rail.record_unmatched(now, reference="lost-order", amount=12_00,
                          customer_ref=api.person.user_id)  # fmt: skip
    # 2. The bank settled a different amount than asked: not credited.
    short = topup(api, card, 40_00, "t-short").json()
    ref = rail.find("collection", short["id"])
    assert ref is not None
    rail.settle(ref.provider_ref, now, amount=39_00)
    # 3. Credited, then the bank took it back (a charge-back).
    credited = topup(api, card, 10_00, "t-back").json()
    # 4. Paid out, then the bank says the payout failed after all.
    paid = withdraw(api, account, 5_00, "w-back").json()
    settle(container, rail)
    for order in (credited, paid):
        direction = "collection" if order["direction"] == "topup" else "payout"
        found = rail.find(direction, order["id"])  # type: ignore[arg-type]
        assert found is not None
        rail.reverse(found.provider_ref, container.clock.now(), reason="charge-back")
    # 5. The bank paid out to the holder with no withdrawal behind it.
    rail.record_unmatched(now, reference="ghost-payout", amount=3_00, direction="payout",
                          customer_ref=api.person.user_id)  # fmt: skip
    assert api.call("GET", f"/v1/me/topups/{short['id']}").json()["status"] == "pending"
    report = run_once(container, rail)
    assert kinds(report) == [
        "credited_not_settled",
        "debited_not_paid",
        "paid_not_debited",
        "taken_not_credited",
        "taken_not_credited",
    ]
    assert inbox(api).count("reconciliation.discrepancy") == 5
    again = run_once(container, rail)
    assert again.new_exceptions == [] and again.known_exceptions == 5
    verify(container)


def test_staff_list_and_resolve_exceptions(
    client: TestClient, holder: Callable[..., Person], api_for: Callable[[Person], Api],
    ready_staff: Callable[[str], Person], container: Container, rail: SimulatedBankRail,
) -> None:  # fmt: skip
    risk, agent = ready_staff("risk_officer"), ready_staff("agent")
    api = api_for(holder())
    now = container.clock.now()
    rail.record_unmatched(now, reference="lost", amount=12_00, customer_ref=api.person.user_id)
    rail.record_unmatched(now, reference="stray", amount=1_00, customer_ref="someone else")
    ran = client.post("/v1/staff/reconciliation/runs", headers=risk.headers,
                      json={"until": (now + timedelta(minutes=1)).isoformat()})  # fmt: skip
    assert ran.status_code == 201, ran.text
    assert ran.json()["new_exceptions"] == 2
    assert client.get("/v1/staff/reconciliation/exceptions",
                      headers=agent.headers).status_code == 403  # fmt: skip
    listed = client.get("/v1/staff/reconciliation/exceptions", headers=risk.headers).json()
    by_user = {e["user_id"]: e for e in listed["data"]}
    mine, unknown = by_user[api.person.user_id], by_user[None]
    path = "/v1/staff/reconciliation/exceptions/{}/resolve"
    no_holder = client.post(path.format(unknown["id"]), headers=risk.headers,
                            json={"action": "credit", "note": "?"})  # fmt: skip
    assert (no_holder.status_code, no_holder.json()["code"]) == (422, "holder_unknown")
    dismissed = client.post(path.format(unknown["id"]), headers=risk.headers,
                            json={"action": "dismiss", "note": "bank test entry"})  # fmt: skip
    assert dismissed.json()["status"] == "resolved"
    credited = client.post(
        path.format(mine["id"]),
        headers=risk.headers,
        json={"action": "credit", "note": "confirmed with the bank"},
    )
    assert credited.status_code == 200, credited.text
    assert credited.json()["resolution"] == "credit" and credited.json()["transfer_id"]
    assert wallet(api)["balance"]["available"] == 12_00
    assert inbox(api)[0] == "reconciliation.resolved"
    twice = client.post(path.format(mine["id"]), headers=risk.headers,
                        json={"action": "credit", "note": "again"})  # fmt: skip
    assert (twice.status_code, twice.json()["code"]) == (409, "exception_resolved")
    open_now = client.get("/v1/staff/reconciliation/exceptions", headers=risk.headers).json()
    assert open_now["data"] == []
    statement = api.call("GET", "/v1/me/statements").json()["data"]
    assert statement[0]["type"] == "reconciliation_credit" and statement[0]["amount"] == 12_00
    verify(container)


def test_resolving_a_stuck_order_releases_its_hold(
    client: TestClient, holder: Callable[..., Person], api_for: Callable[[Person], Api],
    ready_staff: Callable[[str], Person], container: Container, rail: SimulatedBankRail,
) -> None:  # fmt: skip
    risk = ready_staff("risk_officer")
    api = api_for(holder())
    order = topup(api, link(api), 40_00, "t-short").json()
    found = rail.find("collection", order["id"])
    assert found is not None
    rail.settle(found.provider_ref, container.clock.now(), amount=39_00)
    [row] = run_once(container, rail).new_exceptions
    assert (row.ledger_amount, row.bank_amount) == (0, 39_00)
    done = client.post(f"/v1/staff/reconciliation/exceptions/{row.id}/resolve",
                       headers=risk.headers,
                       json={"action": "credit", "note": "bank short-paid"})  # fmt: skip
    assert done.status_code == 200, done.text
    assert wallet(api)["balance"] == {"posted": 39_00, "pending": 0, "available": 39_00}
    assert api.call("GET", f"/v1/me/topups/{order['id']}").json()["status"] == "failed"
    verify(container)


@pytest.fixture
def anxin(settings: Settings, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str]]:  # fmt: skip
    for name in [n for n in os.environ if n.startswith("ANXIN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ANXIN_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("ANXIN_ENV", "test")
    monkeypatch.setenv("ANXIN_HOME", str(Path(settings.home)))
    monkeypatch.setenv("ANXIN_KEY_FILE", str(settings.resolved_key_file))

    def invoke(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["anxin", *args])
        capsys.readouterr()
        try:
            run()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return invoke


def test_the_commands(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], container: Container,
    rail: SimulatedBankRail, anxin: Callable[..., tuple[int, str]],
) -> None:  # fmt: skip
    api = api_for(holder())
    card = link(api)
    ok, bad = topup(api, card, 10_00, "t-ok").json(), topup(api, card, 5_00, "t-no").json()
    code, out = anxin("wallet", "settle", "--fail", bad["id"])
    assert code == 0, out
    assert "bank: 1 settled, 1 refused; wallet: 1 completed, 1 failed" in out
    assert api.call("GET", f"/v1/me/topups/{ok['id']}").json()["status"] == "completed"
    until = (container.clock.now() + timedelta(minutes=5)).isoformat()
    code, out = anxin("reconcile", "--until", until)
    assert code == 0, out
    assert "1 matched, 0 new exception(s)" in out
    rail.record_unmatched(container.clock.now(), reference="x", amount=1,
                          customer_ref=str(uuid.uuid4()))  # fmt: skip
    code, out = anxin("reconcile", "--until", until)
    assert code == 1 and "taken_not_credited" in out
    code, out = anxin("reconcile", "--since", "yesterday")
    assert code == 1 and "ISO 8601" in out and "Traceback" not in out
    code, out = anxin("wallet", "sync")
    assert code == 0 and "0 pending order(s)" in out
    code, out = anxin("wallet", "expire-points")
    assert code == 0 and "expired 0 point(s)" in out


def test_other_payouts_match_ledger_transfers_by_reference(
    container: Container, rail: SimulatedBankRail,
) -> None:  # fmt: skip
    """Account-closure payouts go to the bank without a withdrawal order: the ledger must
    show the money moving to the bank settlement account under the same reference."""
    from anxin.kit.unit_of_work import UnitOfWork
    from anxin.ledger.commands import TransferOp
    from anxin.wallet import accounts, moves
    from anxin.wallet.funding import Instruction

    now = container.clock.now()
    with UnitOfWork(container.database) as uow:
        held = accounts.system_account(uow.session, "compensation", "CNY", now)
        bank = accounts.system_account(uow.session, "bank_settlement", "CNY", now)
        moves.apply_linked(uow.session, [
            TransferOp(held.id, bank.id, 80_00, "CNY", reference="closure-payout:a"),
            TransferOp(held.id, bank.id, 10_00, "CNY", reference="closure-payout:b"),
        ], now)  # fmt: skip
        uow.commit()
    for reference, amount in (("closure-payout:a", 80_00), ("closure-payout:b", 11_00),
                              ("closure-payout:c", 5_00)):  # fmt: skip
        sent = rail.submit(
            Instruction(
                reference,
                "payout",
                "CNY",
                amount,
                "bank_account",
                "6222021234567890",
                "****7890",
                reference,
            ),
            now,
        )
        rail.settle(sent.provider_ref, now)
    report = run_once(container, rail)
    assert report.matched == 1
    assert sorted((e.kind, e.ledger_amount, e.bank_amount) for e in report.new_exceptions) == [
        ("amount_mismatch", 10_00, 11_00),
        ("paid_not_debited", 0, 5_00),
    ]
    assert all(e.user_id is None for e in report.new_exceptions)  # no holder to tell
