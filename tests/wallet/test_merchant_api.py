"""The merchant API as a client sees it: authentication, idempotency, strict bodies,
problem documents, and that no request lets a merchant take money unasked."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from anxin.api.deps import Container
from tests.wallet.conftest import Api, Person
from tests.wallet.merchant_helpers import Shop, make_shop, wallet

__all__ = ["make_shop"]  # fixtures used below


def test_idempotent_creation(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    body = {"amount": 18_00, "currency": "CNY", "reference": "order-77"}
    first = shop.post("/payment-intents", body, key="create-1")
    replay = shop.post("/payment-intents", body, key="create-1")
    assert first.status_code == replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert len(shop.get("/payment-intents").json()["items"]) == 1
    reused = shop.post("/payment-intents", body | {"amount": 19_00}, key="create-1")
    assert reused.status_code == 422
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["code"] == "idempotency_key_reused"
    # Keys belong to one merchant: another may use the same key for its own request.
    other = make_shop("Other").post("/payment-intents", body, key="create-1")
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    missing = shop.post("/payment-intents", body, key=None)
    assert missing.status_code == 400 and missing.json()["code"] == "idempotency_key_required"
    bad = shop.post("/payment-intents", body, key="has space")
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_idempotency_key"


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 10.5, "currency": "CNY"},
        {"amount": "10", "currency": "CNY"},
        {"amount": True, "currency": "CNY"},
        {"amount": 0, "currency": "CNY"},
        {"amount": 2**63, "currency": "CNY"},
        {"amount": 100, "currency": "cny"},
        {"amount": 100, "currency": "CNY", "surprise": 1},
        {"amount": 100, "currency": "CNY", "description": "a\x00b"},
        {"amount": 100, "currency": "CNY", "confirm_within_seconds": 10},
    ],
)
def test_bad_bodies_are_422_problems(make_shop: Callable[..., Shop], body: object) -> None:
    refused = make_shop().post("/payment-intents", body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"


def test_unknown_currency_and_ids(make_shop: Callable[..., Shop]) -> None:
    shop = make_shop()
    unknown = shop.post("/payment-intents", {"amount": 100, "currency": "XQQ"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_asset"
    assert shop.get("/payment-intents/not-a-uuid").status_code == 422
    gone = shop.get(f"/payment-intents/{uuid.uuid4()}")
    assert gone.status_code == 404 and gone.json()["code"] == "payment_intent_not_found"
    assert shop.get(f"/mandates/{uuid.uuid4()}").json()["code"] == "mandate_not_found"


def test_sessions_are_not_merchant_keys(
    make_shop: Callable[..., Shop], holder: Callable[..., Person], client: TestClient
) -> None:
    person = holder()
    refused = client.get("/v1/merchant/me", headers=person.headers)
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_api_key"
    shop = make_shop()
    # ... and a merchant key is not a holder's session.
    assert client.get("/v1/me/mandates", headers=shop.headers).status_code == 401


def test_no_merchant_request_takes_money_unasked(
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None], container: Container,
) -> None:  # fmt: skip
    """Everything a merchant key can call, tried against a holder who agreed to nothing."""
    shop, person = make_shop(), holder()
    give(person, 100_00)
    intent_id = shop.intent(10_00)
    fake = str(uuid.uuid4())
    attempts = [
        ("/payment-intents/{i}/capture", None), ("/payment-intents/{i}/refunds", {}),
        ("/mandates/{f}/debits", {"amount": 1_00, "currency": "CNY"}),
    ]  # fmt: skip
    for path, body in attempts:
        answer = shop.post(path.format(i=intent_id, f=fake), body)
        assert answer.status_code in (404, 409), (path, answer.text)
    ends = (container.clock.now() + timedelta(days=90)).isoformat()
    proposal = shop.post("/mandates", {
        "currency": "CNY", "max_per_debit": 10_00, "frequency": "monthly",
        "debits_per_period": 1, "ends_at": ends,
    }).json()  # fmt: skip
    unsigned = shop.post(f"/mandates/{proposal['id']}/debits", {"amount": 1_00, "currency": "CNY"})
    assert unsigned.status_code == 409
    assert wallet(container, person) == {"posted": 100_00, "pending": 0, "available": 100_00}


def test_the_api_is_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/merchant/payment-intents", "/v1/merchant/payment-intents/{intent_id}/capture",
        "/v1/merchant/payment-intents/{intent_id}/refunds", "/v1/merchant/mandates",
        "/v1/merchant/mandates/{mandate_id}/debits", "/v1/me/payment-intents/{intent_id}/confirm",
        "/v1/me/mandates/{mandate_id}/accept", "/v1/me/transfers/quote",
        "/v1/me/transfers/{transfer_id}/confirm", "/v1/merchant/webhook-deliveries",
    ):  # fmt: skip
        assert path in paths, path
