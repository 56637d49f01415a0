from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from anxin.apikeys.service import create_key
from anxin.kit.clock import SystemClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from tests.api.conftest import Api, assert_problem


def _replays(api: Api, path: str, body: dict[str, Any], status: int) -> dict[str, Any]:
    """Send a keyed request twice; the second answer is the first one, marked as a replay."""
    key = api.key()
    first = api.post(path, body, key=key)
    assert first.status_code == status, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = api.post(path, body, key=key)
    assert again.status_code == status
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["Idempotent-Replayed"] == "true"
    answer: dict[str, Any] = first.json()
    return answer


def test_every_money_moving_request_replays(api: Api) -> None:
    _bank, wallet = api.funded(100)
    merchant = api.account()["id"]
    item = {"source": wallet, "destination": merchant, "amount": 10, "asset": "CNY"}

    _replays(api, "/v1/transfers", item, 201)
    hold = _replays(api, "/v1/transfers", {**item, "pending": True}, 201)
    _replays(api, f"/v1/transfers/{hold['id']}/post", {"amount": 5}, 201)
    hold2 = _replays(api, "/v1/transfers", {**item, "pending": True}, 201)
    _replays(api, f"/v1/transfers/{hold2['id']}/void", {}, 201)
    payment = _replays(api, "/v1/transfers", item, 201)
    _replays(api, f"/v1/transfers/{payment['id']}/reverse", {"amount": 3}, 201)
    _replays(api, "/v1/transfers/batch", {"transfers": [item, item]}, 201)
    _replays(api, "/v1/transfers/batch", {"transfers": [item, {**item, "amount": 10**6}]}, 200)
    _replays(api, "/v1/transfers/batch",
             {"linked": True, "transfers": [item, {**item, "amount": 10**6}]}, 422)  # fmt: skip

    # Each replay moved nothing: 10 + 5 + 10 - 3 + 20 + 10 left the wallet.
    assert api.balance(wallet)["posted"] == 100 - 52
    assert api.balance(merchant)["posted"] == 52


def test_a_replayed_rejection_stays_rejected(api: Api) -> None:
    bank, wallet = api.funded(0)
    merchant = api.account()["id"]
    body = {"source": wallet, "destination": merchant, "amount": 10, "asset": "CNY"}
    rejected = api.post("/v1/transfers", body, key="pay-1")
    assert assert_problem(rejected, 422, "insufficient_funds")
    assert "Idempotent-Replayed" not in rejected.headers
    api.ok_transfer(bank, wallet, 100)
    # The key's answer is fixed: funding the wallet later does not turn it into a transfer.
    late = api.post("/v1/transfers", body, key="pay-1")
    assert late.content == rejected.content
    assert_problem(late, 422, "insufficient_funds")
    assert late.headers["Idempotent-Replayed"] == "true"
    assert api.balance(merchant)["posted"] == 0


def test_same_key_other_request_is_refused(api: Api) -> None:
    bank, wallet = api.funded(0)
    body = {"source": bank, "destination": wallet, "amount": 10, "asset": "CNY"}
    assert api.post("/v1/transfers", body, key="order-1").status_code == 201
    reused = api.post("/v1/transfers", {**body, "amount": 11}, key="order-1")
    assert_problem(reused, 422, "idempotency_key_reused")
    other_route = api.post("/v1/transfers/batch", {"transfers": [body]}, key="order-1")
    assert_problem(other_route, 422, "idempotency_key_reused")
    # Spelling out a default is the same request, not another one.
    same = api.post("/v1/transfers", {**body, "kind": "transfer", "pending": False},
                    key="order-1")  # fmt: skip
    assert same.status_code == 201
    assert same.headers["Idempotent-Replayed"] == "true"
    assert api.balance(wallet)["posted"] == 10


def test_missing_key_is_refused(api: Api) -> None:
    bank, wallet = api.funded(10)
    hold = api.transfer(wallet, bank, 5, pending=True).json()
    payment = api.ok_transfer(wallet, bank, 1)
    body = {"source": bank, "destination": wallet, "amount": 1, "asset": "CNY"}
    requests = [
        ("/v1/transfers", body),
        ("/v1/transfers/batch", {"transfers": [body]}),
        (f"/v1/transfers/{hold['id']}/post", {}),
        (f"/v1/transfers/{hold['id']}/void", {}),
        (f"/v1/transfers/{payment}/reverse", {}),
    ]
    for path, payload in requests:
        response = api.client.post(path, json=payload, headers=api.auth)
        assert_problem(response, 400, "idempotency_key_required")
    assert api.balance(wallet) == {"posted": 9, "pending": -5, "available": 4}


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "tab\there", "ключ"])
def test_invalid_keys_are_refused(api: Api, key: str) -> None:
    bank, wallet = api.funded(0)
    body = {"source": bank, "destination": wallet, "amount": 1, "asset": "CNY"}
    headers = {**api.auth, "Idempotency-Key": key}
    response = api.client.post("/v1/transfers", json=body, headers={
        k: v.encode() if k == "Idempotency-Key" else v for k, v in headers.items()
    })  # fmt: skip
    assert_problem(response, 422, "invalid_idempotency_key")
    assert api.balance(wallet)["posted"] == 0


def test_longest_key_is_accepted(api: Api) -> None:
    bank, wallet = api.funded(0)
    body = {"source": bank, "destination": wallet, "amount": 1, "asset": "CNY"}
    key = "~" * 255
    assert api.post("/v1/transfers", body, key=key).status_code == 201
    assert api.post("/v1/transfers", body, key=key).headers["Idempotent-Replayed"] == "true"


def test_keys_are_scoped_per_api_key(api: Api, database: Database, client: TestClient) -> None:
    with UnitOfWork(database) as uow:
        other = create_key(uow.session, name="second app", scopes=["ledger"],
                           now=SystemClock().now())  # fmt: skip
        uow.commit()
    second = Api(client, {"Authorization": f"Bearer {other.plaintext}"})
    bank, wallet = api.funded(0)
    body = {"source": bank, "destination": wallet, "amount": 10, "asset": "CNY"}
    mine = api.post("/v1/transfers", body, key="shared-key")
    theirs = second.post("/v1/transfers", {**body, "amount": 20}, key="shared-key")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers
    assert (
        second.post("/v1/transfers", {**body, "amount": 20}, key="shared-key").headers[
            "Idempotent-Replayed"
        ]
        == "true"
    )
    assert api.balance(wallet)["posted"] == 30


def test_concurrent_requests_with_one_key_make_one_transfer(api: Api) -> None:
    bank, wallet = api.funded(0)
    body = {"source": bank, "destination": wallet, "amount": 7, "asset": "CNY"}

    def send(amount: int) -> httpx2.Response:
        return api.post("/v1/transfers", {**body, "amount": amount}, key="same-key")

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, [7] * 6 + [8] * 2))
    created = {r.json()["id"] for r in answers if r.status_code == 201}
    assert len(created) == 1
    for response in answers:
        if response.status_code == 409:
            assert_problem(response, 409, "idempotency_key_in_flight")
        elif response.status_code == 422:
            assert_problem(response, 422, "idempotency_key_reused")
        else:
            assert response.status_code == 201, response.text
    transfers = api.get("/v1/transfers", account=wallet).json()["data"]
    assert [t["id"] for t in transfers] == list(created)
    assert api.balance(wallet)["posted"] == transfers[0]["amount"]
