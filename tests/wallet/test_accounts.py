"""Holders' and system accounts: created once, even when asked for at the same time;
outflow counted per business day and month."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from anxin.identity.permissions import has_permission
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.commands import TransferOp, VoidOp
from anxin.models import Account, WalletAccount
from anxin.models.identity import STAFF_ROLES
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, moves
from anxin.wallet.funding import SimulatedBankRail
from tests.identity.conftest import Person
from tests.wallet.conftest import START, Api, fund, make_user
from tests.wallet.test_topup import link, topup
from tests.wallet.test_withdraw import ACCOUNT, withdraw


def test_wallet_and_system_accounts_are_created_once(uow: UnitOfWork, vault: Vault) -> None:
    s = uow.session
    user = make_user(s, vault, START)
    first = accounts.wallet_account(s, user.id, "CNY", START)
    assert accounts.wallet_account(s, user.id, "CNY", START).id == first.id
    assert first.owner_ref == f"user:{user.id}" and not first.allow_negative
    assert accounts.wallet_account(s, user.id, "USD", START).id != first.id
    assert [a.asset for a in accounts.wallet_accounts_of(s, user.id)] == ["CNY", "USD"]
    bank = accounts.system_account(s, "bank_settlement", "CNY", START)
    assert bank.allow_negative and bank.owner_ref == "system:bank_settlement"
    shop = accounts.system_account(s, f"merchant_settlement:{uuid.uuid4()}", "CNY", START)
    assert not shop.allow_negative
    assert accounts.owner_of(s, first.id) == f"user:{user.id}"
    for bad in ("", "Bank", "bank settlement", "a:b:c", "x" * 100):
        with pytest.raises(accounts.InvalidSystemAccount):
            accounts.system_account(s, bad, "CNY", START)


def test_concurrent_first_use_makes_one_account(database: Database, vault: Vault) -> None:
    with UnitOfWork(database) as uow:
        user = make_user(uow.session, vault, START)
        uow.commit()
    barrier = threading.Barrier(4)
    found: list[uuid.UUID] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with UnitOfWork(database) as uow:
                barrier.wait()
                found.append(accounts.wallet_account(uow.session, user.id, "CNY", START).id)
                uow.commit()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(found)) == 1
    with UnitOfWork(database) as uow:
        assert uow.session.scalar(select(func.count()).select_from(WalletAccount)) == 1
        owners = (
            select(func.count()).select_from(Account).where(Account.owner_ref == f"user:{user.id}")
        )
        assert uow.session.scalar(owners) == 1


def test_outflow_counts_what_left_today_and_this_month_in_china_time(
    uow: UnitOfWork, vault: Vault
) -> None:
    s = uow.session
    user = make_user(s, vault, START)
    # 23:30 on 31 January in Beijing is 15:30 UTC: still January, still "today" there.
    late = datetime(2030, 1, 31, 15, 30, tzinfo=UTC)
    fund(s, user.id, 1_000_00, late - timedelta(days=40))
    wallet = accounts.wallet_account(s, user.id, "CNY", START)
    bank = accounts.system_account(s, "bank_settlement", "CNY", START)
    moves.apply_linked(s, [TransferOp(wallet.id, bank.id, 10_00, "CNY")], late - timedelta(days=3))
    moves.apply_linked(s, [TransferOp(wallet.id, bank.id, 20_00, "CNY")], late)
    [hold] = moves.apply_linked(
        s, [TransferOp(wallet.id, bank.id, 5_00, "CNY", pending=True)], late
    )
    spent = accounts.outflow_totals(s, user.id, "CNY", late)
    assert (spent.today, spent.month) == (25_00, 35_00)
    moves.apply_linked(s, [VoidOp(hold)], late)  # a released hold did not leave
    assert accounts.outflow_totals(s, user.id, "CNY", late).today == 20_00
    # 00:30 on 1 February in Beijing (16:30 UTC on 31 January): a new day and month.
    next_day = late + timedelta(hours=1)
    assert accounts.outflow_totals(s, user.id, "CNY", next_day) == accounts.Outflow(0, 0)
    assert accounts.outflow_totals(s, user.id, "USD", late) == accounts.Outflow(0, 0)


def test_holder_a_gets_404_for_everything_of_holder_b(
    client: TestClient, holder: Callable[..., Person], api_for: Callable[[Person], Api],
    give: Callable[..., None], ready_staff: Callable[[str], Person], rail: SimulatedBankRail,
) -> None:  # fmt: skip
    a, b = api_for(holder()), api_for(holder())
    give(b.person, 100_00)
    card, account = link(b), link(b, ACCOUNT, "bank_account")
    top = topup(b, card, 10_00, "t").json()["id"]
    out = withdraw(b, account, 10_00, "w").json()["id"]
    risk = ready_staff("risk_officer")
    frozen = client.post(f"/v1/staff/holders/{b.person.user_id}/freezes", headers=risk.headers,
                         json={"scope": "outgoing", "reason_code": "aml_review",
                               "note": "check"}).json()["id"]  # fmt: skip
    ids = {"source_id": card, "topup_id": top, "withdrawal_id": out, "freeze_id": frozen}
    calls = [
        ("DELETE", "/v1/me/funding-sources/{source_id}", None),
        ("GET", "/v1/me/topups/{topup_id}", None),
        ("GET", "/v1/me/withdrawals/{withdrawal_id}", None),
        ("POST", "/v1/me/freezes/{freeze_id}/appeals", {"message": "mine?"}),
    ]
    for method, path, body in calls:
        theirs = a.call(method, path.format(**ids), json=body)
        nobody = a.call(method, path.format(**{k: str(uuid.uuid4()) for k in ids}), json=body)
        assert theirs.status_code == nobody.status_code == 404, (path, theirs.text)
        assert theirs.json()["code"] == nobody.json()["code"]
    # Lists and overviews show A nothing of B's.
    for path in ("/v1/me/wallet", "/v1/me/funding-sources", "/v1/me/topups",
                 "/v1/me/withdrawals", "/v1/me/statements", "/v1/me/freezes", "/v1/me/points",
                 "/v1/me/statements/summary", "/v1/me/statements/export.csv"):  # fmt: skip
        response = a.call("GET", path)
        assert response.status_code == 200, (path, response.text)
        for secret in (card, top, out, frozen, b.person.user_id, "****1111", "****7890"):
            assert secret not in response.text, (path, secret)
    assert [s["id"] for s in b.call("GET", "/v1/me/funding-sources").json()["data"]] == [
        card,
        account,
    ]  # B's things are untouched


# (method, path) -> the permission it needs; every wallet-money staff endpoint.
STAFF_ENDPOINTS = {
    ("POST", "/v1/staff/holders/{holder_id}/freezes"): "wallet:freeze",
    ("GET", "/v1/staff/holders/{holder_id}/freezes"): "wallet:freeze",
    ("GET", "/v1/staff/fees/rules"): "fees:waive",
    ("POST", "/v1/staff/fees/rules"): "fees:manage",
    ("GET", "/v1/staff/fees/waivers"): "fees:waive",
    ("GET", "/v1/staff/fees/charges"): "fees:waive",
    ("GET", "/v1/staff/points/rules"): "points:manage",
    ("GET", "/v1/staff/reconciliation/exceptions"): "reconciliation:manage",
}


def test_each_staff_role_gets_exactly_its_wallet_permissions(
    client: TestClient, holder: Callable[..., Person], ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    person = holder()
    bodies: dict[str, dict[str, object]] = {
        "/v1/staff/holders/{holder_id}/freezes": {"scope": "outgoing",
                                                  "reason_code": "aml_review", "note": "n"},
        "/v1/staff/fees/rules": {"operation": "p2p", "asset": "CNY", "fixed": 1},
    }  # fmt: skip
    for role in STAFF_ROLES:
        member = ready_staff(role)
        for (method, path), permission in STAFF_ENDPOINTS.items():
            body = bodies.get(path) if method == "POST" else None
            url = path.format(holder_id=person.user_id)
            response = client.request(method, url, json=body, headers=member.headers)
            if has_permission(role, permission):
                assert response.status_code in (200, 201, 409), (role, path, response.text)
            else:
                assert (response.status_code, response.json()["code"]) == (
                    403, "missing_permission"), (role, path)  # fmt: skip


def test_bad_input_is_a_problem_document_never_a_500(
    client: TestClient, holder: Callable[..., Person], api_for: Callable[[Person], Api],
    ready_staff: Callable[[str], Person], rail: SimulatedBankRail,
) -> None:  # fmt: skip
    api = api_for(holder())
    admin, risk = ready_staff("admin"), ready_staff("risk_officer")
    staff_calls = [
        (admin, "/v1/staff/fees/rules", {"operation": "p2p", "asset": "CNY",
                                         "valid_from": "2030-01-01T00:00:00"}),
        (admin, "/v1/staff/fees/rules", {"operation": "p2p", "asset": "CNY",
                                         "valid_from": "9999-12-31T23:59:59-14:00"}),
        (admin, "/v1/staff/fees/rules", {"operation": "p2p", "asset": "CNY", "fixed": 1.5}),
        (admin, "/v1/staff/fees/rules", {"operation": "p2p", "asset": "NOPE", "fixed": 1}),
        (admin, "/v1/staff/fees/rules", {"operation": "p2p", "asset": "CNY", "minimum": 9,
                                         "maximum": 1}),
        (admin, "/v1/staff/fees/waivers", {"kind": "time_window", "reason": "x",
                                           "ends_at": "2030-01-01"}),
        (admin, "/v1/staff/fees/waivers", {"kind": "campaign", "campaign": "c", "reason": "\x00"}),
        (admin, "/v1/staff/points/rules", {"asset": "CNY", "earn_points": 1, "earn_per": 0,
                                           "redeem_points": 1, "redeem_value": 1,
                                           "expiry_days": 1}),
        (risk, "/v1/staff/reconciliation/runs", {"since": "2030-01-02T00:00:00+00:00",
                                                 "until": "2030-01-01T00:00:00+00:00"}),
        (risk, "/v1/staff/reconciliation/runs", {"since": "yesterday"}),
        (risk, f"/v1/staff/holders/{api.person.user_id}/freezes",
         {"scope": "everything", "reason_code": "aml_review", "note": "n"}),
        (risk, f"/v1/staff/reconciliation/exceptions/{uuid.uuid4()}/resolve",
         {"action": "credit", "note": "n"}),
    ]  # fmt: skip
    for member, path, body in staff_calls:
        response = client.post(path, json=body, headers=member.headers)
        assert 400 <= response.status_code < 500, (path, body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    holder_calls = [
        ("POST", "/v1/me/fees/quote", {"operation": "topup", "amount": 2**63}),
        ("POST", "/v1/me/fees/quote", {"operation": "teleport", "amount": 1}),
        ("POST", "/v1/me/fees/quote", {"operation": "topup", "amount": 1, "asset": "XAU"}),
        ("POST", "/v1/me/funding-sources", {"kind": "card", "number": "1234\x005678"}),
        ("POST", "/v1/me/funding-sources", {"kind": "iban", "number": "12345678"}),
        ("PUT", "/v1/me/notification-preferences", {"email": "yes", "sms": True}),
        ("POST", "/v1/me/points/redeem", {"points": 0}),
        ("POST", f"/v1/me/freezes/{uuid.uuid4()}/appeals", {"message": ""}),
    ]
    for method, path, body in holder_calls:
        response = api.call(method, path, json=body, key="bad")
        assert 400 <= response.status_code < 500, (path, body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    for query in ("?to=2030-01-01T00:00:00", "?from=9999-12-31T23:59:59-14:00", "?limit=0",
                  "?asset=cny", "?min_amount=-1", "?cursor=" + "A" * 100):  # fmt: skip
        response = api.call("GET", f"/v1/me/statements{query}")
        assert 400 <= response.status_code < 500, (query, response.text)
    export = api.call("GET", "/v1/me/statements/export.csv?asset=NOPE")
    assert export.status_code in (200, 422), export.text
