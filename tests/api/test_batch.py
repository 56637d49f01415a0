from __future__ import annotations

from typing import Any

from tests.api.conftest import UNKNOWN_ID, Api, assert_problem


def _item(source: str, destination: str, amount: int, **fields: Any) -> dict[str, Any]:
    return {"source": source, "destination": destination, "amount": amount, "asset": "CNY",
            **fields}  # fmt: skip


def test_independent_batch_all_ok_is_201(api: Api) -> None:
    bank, wallet = api.funded(0)
    other = api.account()["id"]
    response = api.post(
        "/v1/transfers/batch",
        {"transfers": [_item(bank, wallet, 10), _item(bank, other, 20, reference="r")]},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["linked"] is False
    assert [r["status"] for r in body["results"]] == ["created", "created"]
    assert [r["index"] for r in body["results"]] == [0, 1]
    assert [r["transfer"]["amount"] for r in body["results"]] == [10, 20]
    assert all(r["transfer"]["link_id"] is None for r in body["results"])
    assert api.balance(wallet)["posted"] == 10
    assert api.balance(other)["posted"] == 20


def test_independent_batch_with_failures_is_200(api: Api) -> None:
    bank, wallet = api.funded(50)
    other = api.account()["id"]
    response = api.post(
        "/v1/transfers/batch",
        {"transfers": [
            _item(wallet, other, 30),
            _item(wallet, other, 30),  # only 20 left now
            _item(wallet, UNKNOWN_ID, 1),
            _item(bank, other, 5),
        ]},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "rejected", "created"]
    assert results[1]["error"]["code"] == "insufficient_funds"
    assert results[1]["transfer"] is None
    assert results[2]["error"]["code"] == "account_not_found"
    assert api.balance(wallet)["posted"] == 20
    assert api.balance(other)["posted"] == 35


def test_linked_batch_all_ok_shares_a_link(api: Api) -> None:
    _, wallet = api.funded(100)
    merchant, fees = api.account()["id"], api.account()["id"]
    response = api.post(
        "/v1/transfers/batch",
        {"linked": True, "transfers": [_item(wallet, merchant, 90), _item(wallet, fees, 10)]},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["linked"] is True
    links = {r["transfer"]["link_id"] for r in body["results"]}
    assert len(links) == 1
    assert None not in links
    assert api.balance(wallet)["posted"] == 0


def test_linked_batch_is_all_or_none(api: Api) -> None:
    _, wallet = api.funded(100)
    merchant, fees = api.account()["id"], api.account()["id"]
    response = api.post(
        "/v1/transfers/batch",
        {"linked": True, "transfers": [
            _item(wallet, merchant, 90, reference="order-9"),
            _item(wallet, fees, 20, reference="order-9"),  # the fee no longer fits
            _item(wallet, merchant, 1, reference="order-9"),
        ]},
    )  # fmt: skip
    body = assert_problem(response, 422, "insufficient_funds")
    assert body["index"] == 1
    assert body["detail"].startswith("transfer 1: ")
    assert "no transfer was made" in body["detail"]
    assert [r["status"] for r in body["results"]] == ["rejected"] * 3
    assert [r["error"]["code"] for r in body["results"]] == [
        "linked_event_failed", "insufficient_funds", "linked_event_failed",
    ]  # fmt: skip
    assert api.balance(wallet) == {"posted": 100, "pending": 0, "available": 100}
    assert api.balance(merchant)["posted"] == 0
    assert api.get("/v1/transfers", reference="order-9").json()["data"] == []


def test_linked_batch_failure_keeps_the_failing_status(api: Api) -> None:
    _, wallet = api.funded(100)
    merchant = api.account()["id"]
    response = api.post(
        "/v1/transfers/batch",
        {"linked": True, "transfers": [_item(wallet, merchant, 1), _item(wallet, UNKNOWN_ID, 1)]},
    )
    body = assert_problem(response, 404, "account_not_found")
    assert body["index"] == 1
    assert api.balance(merchant)["posted"] == 0


def test_batch_holds_can_be_posted_later(api: Api) -> None:
    _, wallet = api.funded(100)
    merchant = api.account()["id"]
    response = api.post(
        "/v1/transfers/batch",
        {"transfers": [_item(wallet, merchant, 30, pending=True, timeout_seconds=600)] * 2},
    )
    assert response.status_code == 201, response.text
    holds = [r["transfer"] for r in response.json()["results"]]
    assert {h["status"] for h in holds} == {"pending"}
    assert holds[0]["id"] != holds[1]["id"]
    assert api.post(f"/v1/transfers/{holds[0]['id']}/post", {}).status_code == 201
    assert api.balance(wallet) == {"posted": 70, "pending": -30, "available": 40}


def test_batch_size_limits(api: Api) -> None:
    bank, wallet = api.funded(0)
    too_many = {"transfers": [_item(bank, wallet, 1)] * 1001}
    assert_problem(api.post("/v1/transfers/batch", too_many), 422, "validation_failed")
    assert_problem(api.post("/v1/transfers/batch", {"transfers": []}), 422, "validation_failed")
    assert_problem(api.post("/v1/transfers/batch", {}), 422, "validation_failed")
    assert_problem(
        api.post("/v1/transfers/batch", {"transfers": [_item(bank, wallet, 1)], "linked": 1}),
        422,
        "validation_failed",
    )
    body = assert_problem(
        api.post("/v1/transfers/batch", {"transfers": [_item(bank, wallet, 1),
                                                        _item(bank, wallet, "2")]}),
        422,
        "validation_failed",
    )  # fmt: skip
    assert body["errors"][0]["field"] == "transfers.1.amount"
    assert api.balance(wallet)["posted"] == 0

    full = api.post("/v1/transfers/batch", {"transfers": [_item(bank, wallet, 1)] * 1000})
    assert full.status_code == 201
    assert len(full.json()["results"]) == 1000
    assert api.balance(wallet)["posted"] == 1000
