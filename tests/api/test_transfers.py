from __future__ import annotations

from typing import Any

from tests.api.conftest import UNKNOWN_ID, Api, assert_problem


def test_create_get_transfer(api: Api) -> None:
    bank, wallet = api.funded(0)
    response = api.transfer(
        bank, wallet, 500, kind="topup", reference="order-1", metadata={"channel": "alipay"}
    )
    assert response.status_code == 201, response.text
    transfer = response.json()
    assert transfer["action"] == "transfer"
    assert transfer["status"] == "posted"
    assert transfer["kind"] == "topup"
    assert (transfer["source"], transfer["destination"]) == (bank, wallet)
    assert (transfer["asset"], transfer["amount"]) == ("CNY", 500)
    assert transfer["reference"] == "order-1"
    assert transfer["metadata"] == {"channel": "alipay"}
    assert transfer["pending_id"] is None
    assert transfer["reverses_id"] is None
    assert transfer["link_id"] is None
    assert transfer["expires_at"] is None
    assert "response" not in transfer

    got = api.get(f"/v1/transfers/{transfer['id']}")
    assert got.status_code == 200
    stored = got.json()
    assert stored["settled_amount"] == 0
    assert {k: v for k, v in stored.items() if k != "settled_amount"} == {
        k: v for k, v in transfer.items() if k != "settled_amount"
    }
    assert api.balance(wallet) == {"posted": 500, "pending": 0, "available": 500}
    assert api.balance(bank) == {"posted": -500, "pending": 0, "available": -500}


def test_get_unknown_or_malformed_transfer(api: Api) -> None:
    assert_problem(api.get(f"/v1/transfers/{UNKNOWN_ID}"), 404, "transfer_not_found")
    assert_problem(api.get("/v1/transfers/12345"), 422, "validation_failed")


def _pages(api: Api, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(20):
        query = {**params, "limit": 2}
        if cursor:
            query["cursor"] = cursor
        response = api.get("/v1/transfers", **query)
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError("pagination did not end")


def test_list_transfers_by_reference_and_account(api: Api) -> None:
    bank, alice = api.funded(0)
    bob = api.account()["id"]
    to_alice = [api.ok_transfer(bank, alice, n, reference="batch-7") for n in (1, 2, 3)]
    to_bob = api.ok_transfer(bank, bob, 4, reference="other")
    alice_to_bob = api.ok_transfer(alice, bob, 1)

    assert [t["id"] for t in _pages(api, reference="batch-7")] == to_alice
    assert [t["id"] for t in _pages(api, reference="other")] == [to_bob]
    assert _pages(api, reference="missing") == []
    assert [t["id"] for t in _pages(api, account=alice)] == [*to_alice, alice_to_bob]
    assert [t["id"] for t in _pages(api, account=bob)] == [to_bob, alice_to_bob]
    assert [t["id"] for t in _pages(api, account=alice, reference="batch-7")] == to_alice
    assert len(_pages(api)) == 5
    assert _pages(api, account=UNKNOWN_ID) == []


def test_list_transfers_bad_parameters(api: Api) -> None:
    assert_problem(api.get("/v1/transfers", account="x"), 422, "validation_failed")
    assert_problem(api.get("/v1/transfers", cursor="x"), 422, "validation_failed")
    assert_problem(api.get("/v1/transfers", limit=5000), 422, "validation_failed")
    assert_problem(api.get("/v1/transfers", reference="r" * 201), 422, "validation_failed")
    assert_problem(api.get("/v1/transfers", reference="a\x00b"), 422, "validation_failed")


def test_rejections_move_nothing(api: Api) -> None:
    _bank, wallet = api.funded(100)
    usd = api.account("USD")["id"]
    other = api.account()["id"]
    body = assert_problem(api.transfer(wallet, other, 101), 422, "insufficient_funds")
    assert "available 100" in body["detail"]
    assert_problem(api.transfer(wallet, wallet, 1), 422, "same_account")
    assert_problem(api.transfer(wallet, usd, 1), 422, "asset_mismatch")
    assert_problem(api.transfer(wallet, other, 1, asset="USD"), 422, "asset_mismatch")
    assert_problem(api.transfer(wallet, other, 1, asset="ZZZ"), 422, "asset_mismatch")
    assert_problem(api.transfer(UNKNOWN_ID, wallet, 1), 404, "account_not_found")
    assert_problem(api.transfer(wallet, UNKNOWN_ID, 1), 404, "account_not_found")
    assert api.balance(wallet) == {"posted": 100, "pending": 0, "available": 100}
    assert api.balance(other)["posted"] == 0
    assert len(api.get("/v1/transfers", account=wallet).json()["data"]) == 1


def test_overflow_is_refused(api: Api) -> None:
    bank, wallet = api.funded(0)
    api.ok_transfer(bank, wallet, 2**63 - 1)
    assert_problem(api.transfer(bank, wallet, 1), 422, "overflow")
    assert api.balance(wallet)["posted"] == 2**63 - 1
