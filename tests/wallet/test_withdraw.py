"""Withdrawal: limits, step-up bound to amount and destination, held while the bank pays
out, posted or released."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from anxin.api.deps import Container
from anxin.wallet.funding import SimulatedBankRail
from tests.identity.conftest import Person
from tests.wallet.conftest import Api
from tests.wallet.test_topup import link, settle, verify, wallet

ACCOUNT = "6222 0212 3456 7890"
FAILING_ACCOUNT = "6222021234560077"


def withdraw(api: Api, destination: str, amount: int, key: str, *, stepped: bool = True,
             **extra: Any) -> Any:  # fmt: skip
    return api.call("POST", "/v1/me/withdrawals", key=key, stepped=stepped,
                    json={"destination_id": destination, "amount": amount, **extra})  # fmt: skip


def funded(holder: Callable[..., Person], api_for: Callable[[Person], Api],
           give: Callable[..., None], amount: int = 500_00) -> tuple[Api, str]:  # fmt: skip
    api = api_for(holder())
    give(api.person, amount)
    return api, link(api, ACCOUNT, "bank_account")


def test_a_withdrawal_holds_amount_and_fee_then_posts(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
    container: Container, rail: SimulatedBankRail, fee_rule: Callable[..., None],
) -> None:  # fmt: skip
    fee_rule("withdrawal", basis_points=10, minimum=1_00)
    api, account = funded(holder, api_for, give)
    created = withdraw(api, account, 200_00, "w-1", fee=1_00)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending" and created.json()["total"] == 201_00
    assert wallet(api)["balance"] == {"posted": 500_00, "pending": -201_00, "available": 299_00}
    payout = rail.find("payout", created.json()["id"])
    assert payout is not None and payout.amount == 200_00  # the fee stays with us
    settle(container, rail)
    assert wallet(api)["balance"] == {"posted": 299_00, "pending": 0, "available": 299_00}
    done = api.call("GET", f"/v1/me/withdrawals/{created.json()['id']}").json()
    assert done["status"] == "completed"
    kinds = [n["kind"] for n in api.call("GET", "/v1/me/notifications").json()["data"]]
    assert kinds[:2] == ["withdrawal.completed", "withdrawal.started"]
    verify(container)


def test_a_failed_payout_gives_everything_back(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
    container: Container, rail: SimulatedBankRail, fee_rule: Callable[..., None],
) -> None:  # fmt: skip
    fee_rule("withdrawal", fixed=2_00)
    api = api_for(holder())
    give(api.person, 100_00)
    account = link(api, FAILING_ACCOUNT, "bank_account")
    created = withdraw(api, account, 50_00, "w-fail")
    assert created.status_code == 201, created.text
    settle(container, rail)
    failed = api.call("GET", f"/v1/me/withdrawals/{created.json()['id']}").json()
    assert failed["status"] == "failed"
    assert wallet(api)["balance"] == {"posted": 100_00, "pending": 0, "available": 100_00}
    kinds = [n["kind"] for n in api.call("GET", "/v1/me/notifications").json()["data"]]
    assert kinds[0] == "withdrawal.failed"
    verify(container)


def test_step_up_is_bound_to_amount_and_destination(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
    rail: SimulatedBankRail,
) -> None:  # fmt: skip
    api, account = funded(holder, api_for, give)
    first = withdraw(api, account, 10_00, "w-su", stepped=False)
    assert (first.status_code, first.json()["code"]) == (401, "step_up_required")
    token = api.step_up(first)
    # The token is for 10.00 to this account: not for 20.00.
    other = api.call("POST", "/v1/me/withdrawals", key="w-su2",
                     headers={"X-Step-Up-Token": token},
                     json={"destination_id": account, "amount": 20_00})  # fmt: skip
    assert other.status_code == 401
    headers = {**api.person.headers, "Idempotency-Key": "w-su", "X-Step-Up-Token": token}
    again = api.client.post("/v1/me/withdrawals", headers=headers,
                            json={"destination_id": account, "amount": 10_00})  # fmt: skip
    # The mismatched attempt did not spend the token: it works for exactly its action.
    assert again.status_code == 201, again.text
    assert wallet(api)["balance"]["available"] == 490_00
    replay = api.client.post("/v1/me/withdrawals", headers=headers,
                             json={"destination_id": account, "amount": 10_00})  # fmt: skip
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    reused = api.call("POST", "/v1/me/withdrawals", key="w-su",
                      json={"destination_id": account, "amount": 11_00})  # fmt: skip
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    missing = api.call("POST", "/v1/me/withdrawals", json={"destination_id": account,
                                                            "amount": 10_00})  # fmt: skip
    assert (missing.status_code, missing.json()["code"]) == (400, "idempotency_key_required")
    assert wallet(api)["balance"]["available"] == 490_00  # one withdrawal, whatever came after


def test_limits_come_first_with_a_clear_error(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
    rail: SimulatedBankRail, client: TestClient,
) -> None:  # fmt: skip
    api, account = funded(holder, api_for, give, amount=1000_00)
    # Unverified: 500 CNY a day may leave.
    over = withdraw(api, account, 500_01, "w-over", stepped=False)
    assert (over.status_code, over.json()["code"]) == (422, "limit_exceeded")
    assert over.json()["limit"] == "daily_outflow"
    assert withdraw(api, account, 300_00, "w-a").status_code == 201
    second = withdraw(api, account, 200_01, "w-b", stepped=False)
    assert second.json()["limit"] == "daily_outflow"
    assert second.json()["attempted"] == 500_01
    # The holder's own lower limit applies too.
    lowered = api.call("PUT", "/v1/me/limits", json={"daily_limit": 350_00})
    assert lowered.status_code == 200, lowered.text
    own = withdraw(api, account, 50_01, "w-c", stepped=False)
    assert (own.json()["code"], own.json()["limit"]) == ("limit_exceeded", "holder_daily_limit")


def test_refusals(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
    rail: SimulatedBankRail,
) -> None:  # fmt: skip
    api, account = funded(holder, api_for, give, amount=100_00)
    poor = withdraw(api, account, 100_01, "w-poor", stepped=False)
    assert (poor.status_code, poor.json()["code"]) == (422, "insufficient_funds")
    card = link(api, "4111111111111111")
    to_card = withdraw(api, card, 1_00, "w-card", stepped=False)
    assert (to_card.status_code, to_card.json()["code"]) == (422, "not_a_bank_account")
    other = api_for(holder())
    theirs = withdraw(other, account, 1_00, "w-theirs", stepped=False)
    assert (theirs.status_code, theirs.json()["code"]) == (404, "funding_source_not_found")
    unknown = api.call("GET", "/v1/me/withdrawals/01900000-0000-7000-8000-000000000000")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "order_not_found")
    assert wallet(api)["balance"]["available"] == 100_00


def test_lists_page_newest_first(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
    rail: SimulatedBankRail,
) -> None:  # fmt: skip
    api, account = funded(holder, api_for, give)
    ids = [withdraw(api, account, 1_00 + i, f"w-page-{i}").json()["id"] for i in range(3)]
    page = api.call("GET", "/v1/me/withdrawals?limit=2").json()
    assert [o["id"] for o in page["data"]] == ids[::-1][:2]
    rest = api.call("GET", f"/v1/me/withdrawals?limit=2&cursor={page['next_cursor']}").json()
    assert [o["id"] for o in rest["data"]] == ids[:1] and rest["next_cursor"] is None
    assert api.call("GET", "/v1/me/topups").json()["data"] == []
    bad = api.call("GET", "/v1/me/withdrawals?cursor=nope")
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")


def test_concurrent_withdrawals_cannot_together_pass_the_daily_limit(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
    rail: SimulatedBankRail, container: Container,
) -> None:  # fmt: skip
    from concurrent.futures import ThreadPoolExecutor

    api, account = funded(holder, api_for, give, amount=1000_00)
    body = {"destination_id": account, "amount": 200_00}
    tokens = [api.step_up(withdraw(api, account, 200_00, f"pre-{i}", stepped=False))
              for i in range(4)]  # fmt: skip

    def attempt(i: int) -> Any:
        headers = {**api.person.headers, "Idempotency-Key": f"race-{i}",
                   "X-Step-Up-Token": tokens[i]}  # fmt: skip
        return api.client.post("/v1/me/withdrawals", headers=headers, json=body)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(attempt, range(4)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 201, 422, 422], [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 422} == {"limit_exceeded"}
    assert wallet(api)["balance"]["available"] == 600_00
    verify(container)
