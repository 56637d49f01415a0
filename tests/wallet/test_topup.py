"""Top-up: pending until the bank confirms, credited only then, nothing on failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.identity.delivery import FakeSmsProvider
from anxin.identity.outbox import DeliveryReport
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.verify import verify_ledger
from anxin.models import FeeCharge, Notification
from anxin.wallet.funding import SimulatedBankRail
from anxin.wallet.settlement import sync_pending
from tests.identity.conftest import Person
from tests.wallet.conftest import Api

CARD = "4111 1111 1111 1111"
DECLINED_CARD = "4000000000000002"
FAILING_CARD = "4000000000000077"


def link(api: Api, number: str = CARD, kind: str = "card") -> str:
    response = api.call("POST", "/v1/me/funding-sources", json={"kind": kind, "number": number},
                        stepped=True)  # fmt: skip
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def topup(api: Api, source: str, amount: int, key: str, **extra: Any) -> Any:
    return api.call("POST", "/v1/me/topups", key=key,
                    json={"source_id": source, "amount": amount, **extra})  # fmt: skip


def wallet(api: Api) -> dict[str, Any]:
    response = api.call("GET", "/v1/me/wallet")
    assert response.status_code == 200, response.text
    found = {a["asset"]: a for a in response.json()["accounts"]}
    return found.get("CNY", {"balance": {"posted": 0, "pending": 0, "available": 0}})


def settle(container: Container, rail: SimulatedBankRail, **kw: Any) -> None:
    rail.settle_pending(container.clock.now(), **kw)
    sync_pending(container.database, rail, container.keys.vault(), container.clock)


def verify(container: Container) -> None:
    with container.database.connect(write=False) as connection:
        report = verify_ledger(connection)
    assert report.ok, report.problems


def test_a_topup_is_pending_until_the_bank_settles_then_available(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], container: Container,
    rail: SimulatedBankRail, deliver: Callable[[], DeliveryReport], sms: FakeSmsProvider,
) -> None:  # fmt: skip
    api = api_for(holder())
    card = link(api)
    created = topup(api, card, 200_00, "t-1")
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "pending"
    assert order["source"]["masked"] == "****1111"
    # Visible but not spendable.
    assert wallet(api)["balance"] == {"posted": 0, "pending": 200_00, "available": 0}
    settle(container, rail)
    assert wallet(api)["balance"] == {"posted": 200_00, "pending": 0, "available": 200_00}
    done = api.call("GET", f"/v1/me/topups/{order['id']}").json()
    assert done["status"] == "completed"
    assert done["settled_at"] is not None
    inbox = api.call("GET", "/v1/me/notifications").json()["data"]
    assert inbox[0]["kind"] == "topup.completed"
    assert "200.00 CNY" in inbox[0]["body"]
    deliver()
    sent = sms.last_to(api.person.identifier)
    assert sent is not None and "200.00" in sent.body
    verify(container)


def test_a_declined_card_credits_nothing(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], rail: SimulatedBankRail,
) -> None:  # fmt: skip
    api = api_for(holder())
    card = link(api, DECLINED_CARD)
    created = topup(api, card, 50_00, "t-declined")
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "failed"
    assert created.json()["failure_reason"] == "declined by the bank"
    assert wallet(api)["balance"] == {"posted": 0, "pending": 0, "available": 0}
    kinds = [n["kind"] for n in api.call("GET", "/v1/me/notifications").json()["data"]]
    assert "topup.failed" in kinds


def test_a_collection_failing_at_settlement_releases_the_hold_and_the_fee(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], container: Container,
    rail: SimulatedBankRail, fee_rule: Callable[..., None],
) -> None:  # fmt: skip
    fee_rule("topup", basis_points=100, minimum=1_00)
    api = api_for(holder())
    card = link(api, FAILING_CARD)
    created = topup(api, card, 50_00, "t-fail", fee=1_00)
    assert created.status_code == 201, created.text
    assert created.json()["total"] == 51_00
    settle(container, rail)
    failed = api.call("GET", f"/v1/me/topups/{created.json()['id']}").json()
    assert failed["status"] == "failed"
    assert wallet(api)["balance"] == {"posted": 0, "pending": 0, "available": 0}
    with UnitOfWork(container.database) as uow:
        [charge] = uow.session.scalars(select(FeeCharge)).all()
        assert charge.released_at is not None
    verify(container)


def test_the_bank_collects_amount_plus_fee_and_the_fee_goes_to_revenue(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], container: Container,
    rail: SimulatedBankRail, fee_rule: Callable[..., None],
) -> None:  # fmt: skip
    fee_rule("topup", basis_points=50, fixed=10, maximum=5_00)
    api = api_for(holder())
    card = link(api)
    quote = api.call("POST", "/v1/me/fees/quote", json={"operation": "topup", "amount": 100_00})
    assert quote.json()["fee"] == 60 and quote.json()["total"] == 100_60
    created = topup(api, card, 100_00, "t-fee", fee=60)
    assert created.json()["fee"] == 60
    found = rail.find("collection", created.json()["id"])
    assert found is not None and found.amount == 100_60
    settle(container, rail)
    assert wallet(api)["balance"]["available"] == 100_00
    verify(container)


def test_a_changed_fee_is_refused_and_nothing_moves(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], rail: SimulatedBankRail,
    fee_rule: Callable[..., None],
) -> None:  # fmt: skip
    fee_rule("topup", fixed=2_00)
    api = api_for(holder())
    card = link(api)
    refused = topup(api, card, 100_00, "t-old-fee", fee=1_00)
    assert refused.status_code == 409
    assert refused.json()["code"] == "fee_changed"
    assert refused.json()["fee"] == 2_00
    assert wallet(api)["balance"]["pending"] == 0


def test_idempotency_replay_and_reuse(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], rail: SimulatedBankRail,
) -> None:  # fmt: skip
    api = api_for(holder())
    card = link(api)
    first = topup(api, card, 10_00, "same-key")
    again = topup(api, card, 10_00, "same-key")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert wallet(api)["balance"]["pending"] == 10_00  # held once
    other = topup(api, card, 11_00, "same-key")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    missing = api.call("POST", "/v1/me/topups", json={"source_id": card, "amount": 1_00})
    assert missing.status_code == 400
    assert missing.json()["code"] == "idempotency_key_required"


def test_refusals(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], rail: SimulatedBankRail,
    client: TestClient,
) -> None:  # fmt: skip
    api = api_for(holder())
    card = link(api)
    other = api_for(holder())
    # Someone else's card is not found; so is a made-up one.
    theirs = topup(other, card, 10_00, "k1")
    assert (theirs.status_code, theirs.json()["code"]) == (404, "funding_source_not_found")
    # Unverified holders may keep at most 1000 CNY.
    over = topup(api, card, 1000_01, "k2")
    assert (over.status_code, over.json()["code"]) == (422, "limit_exceeded")
    assert over.json()["limit"] == "balance"
    for bad in (10.5, "10", 0, -1, True):
        response = api.call("POST", "/v1/me/topups", key=f"k-{bad}",
                            json={"source_id": card, "amount": bad})  # fmt: skip
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == "application/problem+json"
    anonymous = client.post("/v1/me/topups", json={"source_id": card, "amount": 1})
    assert anonymous.status_code == 401


def test_linking_a_card_needs_step_up_and_a_valid_number(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], container: Container,
) -> None:  # fmt: skip
    api = api_for(holder())
    bare = api.call("POST", "/v1/me/funding-sources", json={"kind": "card", "number": CARD})
    assert (bare.status_code, bare.json()["code"]) == (401, "step_up_required")
    bad = api.call("POST", "/v1/me/funding-sources",
                   json={"kind": "card", "number": "4111111111111112"})  # fmt: skip
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_account_number")
    card = link(api)
    again = api.call("POST", "/v1/me/funding-sources", json={"kind": "card", "number": CARD},
                     stepped=True)  # fmt: skip
    assert (again.status_code, again.json()["code"]) == (409, "funding_source_exists")
    listed = api.call("GET", "/v1/me/funding-sources").json()["data"]
    assert [s["id"] for s in listed] == [card]
    assert api.call("DELETE", f"/v1/me/funding-sources/{card}").status_code == 204
    assert api.call("GET", "/v1/me/funding-sources").json()["data"] == []
    with UnitOfWork(container.database) as uow:
        kinds = {n.kind for n in uow.session.scalars(select(Notification))}
    assert "topup.completed" not in kinds


def test_concurrent_requests_with_one_key_make_one_topup(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], rail: SimulatedBankRail,
    container: Container,
) -> None:  # fmt: skip
    from concurrent.futures import ThreadPoolExecutor

    api = api_for(holder())
    card = link(api)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: topup(api, card, 7_00, "race"), range(6)))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(1 for a in answers if "Idempotent-Replayed" not in a.headers) == 1
    assert wallet(api)["balance"]["pending"] == 7_00
    assert len(api.call("GET", "/v1/me/topups").json()["data"]) == 1
    verify(container)
