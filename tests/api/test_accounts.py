from __future__ import annotations

import base64
from datetime import timedelta

from fastapi.testclient import TestClient

from anxin.kit.clock import ManualClock
from tests.api.conftest import START, UNKNOWN_ID, Api, assert_problem


def test_create_and_get_account(api: Api) -> None:
    created = api.account(
        "CNY", owner_ref="user:42", label="Main wallet", metadata={"tier": "gold", "n": [1, 2]}
    )
    assert created["asset"] == "CNY"
    assert created["allow_negative"] is False
    assert created["status"] == "active"
    assert created["status_reason"] is None
    assert created["owner_ref"] == "user:42"
    assert created["label"] == "Main wallet"
    assert created["metadata"] == {"tier": "gold", "n": [1, 2]}
    assert created["balance"] == {"posted": 0, "pending": 0, "available": 0}
    assert created["created_at"] == created["updated_at"]

    got = api.get(f"/v1/accounts/{created['id']}")
    assert got.status_code == 200
    assert got.json() == created


def test_get_unknown_or_malformed_account(api: Api) -> None:
    assert_problem(api.get(f"/v1/accounts/{UNKNOWN_ID}"), 404, "account_not_found")
    body = assert_problem(api.get("/v1/accounts/not-a-uuid"), 422, "validation_failed")
    assert body["errors"][0]["field"] == "account_id"


def test_list_accounts_by_owner_with_cursor_pages(api: Api) -> None:
    mine = [api.account(owner_ref="owner:a")["id"] for _ in range(5)]
    api.account(owner_ref="owner:b")
    api.account()

    seen: list[str] = []
    cursor = None
    for _ in range(10):  # bounded: 5 accounts in pages of 2 take at most 4 requests
        params = {"owner_ref": "owner:a", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/v1/accounts", **params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["data"]) <= 2
        assert all(a["owner_ref"] == "owner:a" for a in body["data"])
        seen += [a["id"] for a in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(mine)  # ids are time-ordered: pages come in creation order

    everything = api.get("/v1/accounts", limit=1000).json()
    assert len(everything["data"]) == 7
    assert everything["next_cursor"] is None
    assert api.get("/v1/accounts", owner_ref="nobody").json() == {"data": [], "next_cursor": None}


def test_list_accounts_bad_parameters(api: Api) -> None:
    assert_problem(api.get("/v1/accounts", limit=0), 422, "validation_failed")
    assert_problem(api.get("/v1/accounts", limit=1001), 422, "validation_failed")
    assert_problem(api.get("/v1/accounts", limit="ten"), 422, "validation_failed")
    assert_problem(api.get("/v1/accounts", cursor="nope"), 422, "validation_failed")
    assert_problem(api.get("/v1/accounts", owner_ref="x" * 201), 422, "validation_failed")


def test_balance_now_and_in_the_past(clocked_api: Api, clock: ManualClock) -> None:
    api = clocked_api
    bank, wallet = api.funded(0)
    clock.advance(timedelta(hours=1))  # 10:00
    api.ok_transfer(bank, wallet, 100)
    clock.advance(timedelta(hours=1))  # 11:00
    api.ok_transfer(wallet, bank, 30)
    clock.advance(timedelta(hours=1))  # 12:00
    api.ok_transfer(wallet, bank, 20, pending=True)

    assert api.balance(wallet) == {"posted": 70, "pending": -20, "available": 50}

    def at(moment: str) -> dict[str, int]:
        response = api.get(f"/v1/accounts/{wallet}/balance", at=moment)
        assert response.status_code == 200, response.text
        balance: dict[str, int] = response.json()
        return balance

    assert at("2030-01-01T09:30:00Z") == {"posted": 0, "pending": 0, "available": 0}
    assert at("2030-01-01T10:00:00Z") == {"posted": 100, "pending": 0, "available": 100}
    assert at("2030-01-01T10:59:59+00:00") == {"posted": 100, "pending": 0, "available": 100}
    # The same moment written with another offset.
    assert at("2030-01-01T19:30:00+08:00") == {"posted": 70, "pending": 0, "available": 70}
    assert at("2030-01-01T12:00:00Z") == {"posted": 70, "pending": -20, "available": 50}
    assert at("2031-01-01T00:00:00Z") == {"posted": 70, "pending": -20, "available": 50}
    assert at("1999-01-01T00:00:00Z") == {"posted": 0, "pending": 0, "available": 0}


def test_balance_bad_moments(api: Api) -> None:
    _, wallet = api.funded(10)
    path = f"/v1/accounts/{wallet}/balance"
    assert_problem(api.get(path, at="2030-01-01T10:00:00"), 422, "invalid_time")
    assert_problem(api.get(path, at="yesterday"), 422, "validation_failed")
    # Valid ISO 8601 that no UTC datetime can hold.
    assert_problem(api.get(path, at="0001-01-01T00:00:00+14:00"), 422, "invalid_time")
    assert_problem(api.get(path, at="9999-12-31T23:59:59-14:00"), 422, "invalid_time")
    assert_problem(
        api.get(f"/v1/accounts/{UNKNOWN_ID}/balance", at=START.isoformat()),
        404,
        "account_not_found",
    )
    assert_problem(api.get(f"/v1/accounts/{UNKNOWN_ID}/balance"), 404, "account_not_found")


def _all_entries(api: Api, account_id: str, order: str) -> list[dict[str, object]]:
    entries: list[dict[str, object]] = []
    cursor = None
    for _ in range(20):
        params: dict[str, object] = {"limit": 2, "order": order}
        if cursor:
            params["cursor"] = cursor
        response = api.get(f"/v1/accounts/{account_id}/entries", **params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["data"]) <= 2
        entries += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return entries
    raise AssertionError("pagination did not end")


def test_entries_paginate_both_ways(api: Api) -> None:
    bank, wallet = api.funded(0)
    transfers = [api.ok_transfer(bank, wallet, amount) for amount in (1, 2, 3, 4, 5)]
    spend = api.ok_transfer(wallet, bank, 6)

    oldest = _all_entries(api, wallet, "oldest")
    newest = _all_entries(api, wallet, "newest")
    assert newest == list(reversed(oldest))
    assert [e["transfer_id"] for e in oldest] == [*transfers, spend]
    assert [e["side"] for e in oldest] == ["credit"] * 5 + ["debit"]
    assert [e["posted"] for e in oldest] == [1, 2, 3, 4, 5, 6]
    # Each entry carries the balance right after it.
    assert [e["balance"]["posted"] for e in oldest] == [1, 3, 6, 10, 15, 9]  # type: ignore[index]
    seqs = [e["seq"] for e in oldest]
    assert seqs == sorted(seqs)

    default = api.get(f"/v1/accounts/{wallet}/entries").json()
    assert default["data"] == newest
    assert default["next_cursor"] is None


def test_entries_bad_parameters(api: Api) -> None:
    _, wallet = api.funded(10)
    path = f"/v1/accounts/{wallet}/entries"
    assert_problem(api.get(path, cursor="!!!"), 422, "invalid_cursor")
    assert_problem(api.get(path, cursor="YWJj"), 422, "invalid_cursor")
    for forged in (b"99999999999999999999:1", b"-99999999999999999:1", b"1:99999999999999999999"):
        cursor = base64.urlsafe_b64encode(forged).decode().rstrip("=")
        assert_problem(api.get(path, cursor=cursor), 422, "invalid_cursor")
    assert_problem(api.get(path, order="sideways"), 422, "validation_failed")
    assert_problem(api.get(path, limit=0), 422, "validation_failed")
    assert_problem(api.get(f"/v1/accounts/{UNKNOWN_ID}/entries"), 404, "account_not_found")


def test_freeze_unfreeze_close(api: Api) -> None:
    bank, wallet = api.funded(100)
    frozen = api.client.post(
        f"/v1/accounts/{wallet}/freeze", json={"reason": "fraud check"}, headers=api.auth
    )
    assert frozen.status_code == 200, frozen.text
    assert frozen.json()["status"] == "frozen"
    assert frozen.json()["status_reason"] == "fraud check"

    assert_problem(api.transfer(wallet, bank, 1), 422, "account_frozen")
    assert_problem(api.transfer(bank, wallet, 1), 422, "account_frozen")
    assert api.balance(wallet)["posted"] == 100

    again = api.client.post(
        f"/v1/accounts/{wallet}/freeze", json={"reason": "still"}, headers=api.auth
    )
    assert again.status_code == 200  # freezing a frozen account only updates the reason

    thawed = api.client.post(
        f"/v1/accounts/{wallet}/unfreeze", json={"reason": "cleared"}, headers=api.auth
    )
    assert thawed.status_code == 200
    assert thawed.json()["status"] == "active"
    assert_problem(
        api.client.post(f"/v1/accounts/{wallet}/unfreeze", json={"reason": "x"}, headers=api.auth),
        409,
        "account_status_conflict",
    )

    assert_problem(
        api.client.post(f"/v1/accounts/{wallet}/close", json={"reason": "bye"}, headers=api.auth),
        409,
        "account_not_empty",
    )
    api.ok_transfer(wallet, bank, 100)
    closed = api.client.post(
        f"/v1/accounts/{wallet}/close", json={"reason": "bye"}, headers=api.auth
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert_problem(api.transfer(bank, wallet, 1), 422, "account_closed")
    for action in ("freeze", "close"):
        assert_problem(
            api.client.post(
                f"/v1/accounts/{wallet}/{action}", json={"reason": "x"}, headers=api.auth
            ),
            409,
            "account_status_conflict",
        )


def test_close_refuses_pending_holds(api: Api) -> None:
    bank, wallet = api.funded(100)
    api.ok_transfer(wallet, bank, 100, pending=True)
    response = api.client.post(
        f"/v1/accounts/{wallet}/close", json={"reason": "x"}, headers=api.auth
    )
    assert_problem(response, 409, "account_not_empty")


def test_status_changes_bad_input(client: TestClient, auth: dict[str, str]) -> None:
    for action in ("freeze", "unfreeze", "close"):
        unknown = client.post(
            f"/v1/accounts/{UNKNOWN_ID}/{action}", json={"reason": "x"}, headers=auth
        )
        assert_problem(unknown, 404, "account_not_found")
        malformed = client.post(f"/v1/accounts/123/{action}", json={"reason": "x"}, headers=auth)
        assert_problem(malformed, 422, "validation_failed")
        no_body = client.post(f"/v1/accounts/{UNKNOWN_ID}/{action}", headers=auth)
        assert_problem(no_body, 422, "validation_failed")
        empty_reason = client.post(
            f"/v1/accounts/{UNKNOWN_ID}/{action}", json={"reason": ""}, headers=auth
        )
        assert_problem(empty_reason, 422, "validation_failed")
