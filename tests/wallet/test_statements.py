"""Statements: each line says what it was, with whom, the fee and the balance after;
filters, pages, the monthly summary by category and the CSV export."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import timedelta

from anxin.api.deps import Container
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.commands import Command, TransferOp
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, moves, statements
from anxin.wallet.funding import SimulatedBankRail
from tests.identity.conftest import Person
from tests.wallet.conftest import START, Api, fund, make_user
from tests.wallet.test_topup import link, settle, topup
from tests.wallet.test_withdraw import ACCOUNT, withdraw


def pay(container: Container, person: Person, amount: int, fee: int, *, shop: str,
        category: str, reference: str) -> None:  # fmt: skip
    """A merchant payment with its fee leg, as the payments code makes them."""
    now = container.clock.now()
    with UnitOfWork(container.database) as uow:
        s = uow.session
        wallet = accounts.wallet_account(s, uuid.UUID(person.user_id), "CNY", now)
        merchant = accounts.system_account(s, f"merchant_settlement:{reference}", "CNY", now)
        revenue = accounts.system_account(s, "fee_revenue", "CNY", now)
        moves.apply_linked(s, [
            TransferOp(wallet.id, merchant.id, amount, "CNY", kind="payment",
                       reference=reference,
                       metadata={"counterparty": shop, "category": category, "note": "午饭"}),
            TransferOp(wallet.id, revenue.id, fee, "CNY", kind="fee", reference=reference),
        ], now)  # fmt: skip
        uow.commit()


def lines(api: Api, query: str = "") -> list[dict[str, object]]:
    response = api.call("GET", f"/v1/me/statements{query}")
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_a_statement_tells_what_with_whom_the_fee_and_the_balance_after(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], container: Container,
    rail: SimulatedBankRail, fee_rule: Callable[..., None],
) -> None:  # fmt: skip
    fee_rule("topup", fixed=50)
    fee_rule("withdrawal", fixed=1_00)
    api = api_for(holder())
    card, account = link(api), link(api, ACCOUNT, "bank_account")
    topup(api, card, 300_00, "t1")
    settle(container, rail)
    pay(container, api.person, 38_00, 19, shop="Happy Tea", category="dining", reference="o1")
    pay(container, api.person, 120_00, 60, shop="=HYPERLINK()", category="shopping",
        reference="o2")  # fmt: skip
    withdraw(api, account, 50_00, "w1")  # pending: the bank has not paid out yet
    found = lines(api)
    assert [(x["type"], x["status"], x["amount"], x["fee"], x["balance_after"]) for x in found] == [
        ("withdrawal", "pending", -50_00, 1_00, 141_21),
        ("payment", "completed", -120_00, 60, 141_21),
        ("payment", "completed", -38_00, 19, 261_81),
        ("topup", "completed", 300_00, 50, 300_00),
    ]  # fmt: skip
    assert found[2]["counterparty"] == "Happy Tea" and found[2]["category"] == "dining"
    assert found[2]["note"] == "午饭"
    assert found[3]["counterparty"] == "card ****1111" and found[3]["category"] == "top_up"
    assert found[0]["counterparty"] == "bank account ****7890"
    # Filters.
    assert [x["reference"] for x in lines(api, "?type=payment")] == ["o2", "o1"]
    assert [x["reference"] for x in lines(api, "?counterparty=happy")] == ["o1"]
    assert [x["reference"] for x in lines(api, "?category=dining")] == ["o1"]
    assert [x["type"] for x in lines(api, "?min_amount=20000&max_amount=30000")] == ["topup"]
    assert [x["type"] for x in lines(api, "?type=topup&type=withdrawal")] == ["withdrawal", "topup"]
    future = (container.clock.now() + timedelta(days=1)).isoformat().replace("+", "%2B")
    assert lines(api, f"?from={future}") == []
    naive = api.call("GET", "/v1/me/statements?from=2030-01-01T00:00:00")
    assert (naive.status_code, naive.json()["code"]) == (422, "invalid_time")
    # Pages.
    first = api.call("GET", "/v1/me/statements?limit=3").json()
    rest = api.call("GET", f"/v1/me/statements?limit=3&cursor={first['next_cursor']}").json()
    assert [x["id"] for x in first["data"] + rest["data"]] == [x["id"] for x in found]
    assert rest["next_cursor"] is None
    bad = api.call("GET", "/v1/me/statements?cursor=%%%")
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")
    # Summary by category, this month.
    summary = api.call("GET", "/v1/me/statements/summary").json()
    by = {c["category"]: c for c in summary["categories"]}
    assert by["dining"]["money_out"] == 38_00 and by["dining"]["fees"] == 19
    assert by["top_up"]["money_in"] == 300_00
    assert "withdrawal" not in by  # still pending
    assert (summary["money_in"], summary["money_out"], summary["fees"]) == (300_00, 158_00, 1_29)
    # CSV.
    exported = api.call("GET", "/v1/me/statements/export.csv")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [r["amount"] for r in rows] == ["-50.00", "-120.00", "-38.00", "300.00"]
    assert rows[1]["counterparty"] == "'=HYPERLINK()"  # never a formula in a spreadsheet
    assert rows[2]["fee"] == "0.19" and rows[2]["balance_after"] == "261.81"


def test_other_holders_and_other_assets_see_nothing(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
) -> None:  # fmt: skip
    a, b = api_for(holder()), api_for(holder())
    give(b.person, 10_00)
    assert lines(a) == [] and len(lines(b)) == 1
    assert lines(b, "?asset=USD") == []
    assert a.call("GET", "/v1/me/statements/summary?month=2030-13").status_code == 422


def test_long_histories_keep_fees_with_their_payments(uow: UnitOfWork, vault: Vault) -> None:
    """More legs than one read of the journal: a line split across reads stays whole."""
    s = uow.session
    user = make_user(s, vault, START)
    fund(s, user.id, 10_000_00, START)
    wallet = accounts.wallet_account(s, user.id, "CNY", START)
    shop = accounts.system_account(s, "merchant_settlement:shop", "CNY", START)
    revenue = accounts.system_account(s, "fee_revenue", "CNY", START)
    from anxin.ledger.batch import apply_batch

    commands = [
        Command((
            TransferOp(wallet.id, shop.id, 1_00, "CNY", kind="payment", reference=f"p{i}",
                       metadata={"counterparty": "shop"}),
            TransferOp(wallet.id, revenue.id, 1, "CNY", kind="fee", reference=f"p{i}"),
        ))
        for i in range(statements._CHUNK // 2 + 7)
    ]  # fmt: skip
    assert all(r.ok for r in apply_batch(s.connection(), commands, START))
    found = statements.all_lines(s, user.id, "CNY", statements.Filters())
    assert len(found) == len(commands) + 1
    assert all(x.fee == 1 and x.amount == -1_00 for x in found[:-1])
    page = statements.statement(s, user.id, "CNY", statements.Filters(), limit=len(commands))
    assert page.next_cursor is not None
    rest = statements.statement(s, user.id, "CNY", statements.Filters(), cursor=page.next_cursor)
    assert [x.type for x in rest.lines] == ["topup"]
