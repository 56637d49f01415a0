"""Pending transfers (holds): post in full or in part, void, expire; and reversals."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from anxin.kit.clock import ManualClock
from tests.api.conftest import UNKNOWN_ID, Api, assert_problem


def _hold(api: Api, source: str, destination: str, amount: int, **fields: Any) -> dict[str, Any]:
    response = api.transfer(source, destination, amount, pending=True, **fields)
    assert response.status_code == 201, response.text
    hold: dict[str, Any] = response.json()
    assert (hold["action"], hold["status"]) == ("hold", "pending")
    return hold


def test_hold_reserves_funds(api: Api) -> None:
    bank, wallet = api.funded(100)
    merchant = api.account()["id"]
    _hold(api, wallet, merchant, 60)
    assert api.balance(wallet) == {"posted": 100, "pending": -60, "available": 40}
    assert api.balance(merchant) == {"posted": 0, "pending": 60, "available": 0}
    assert_problem(api.transfer(wallet, bank, 41), 422, "insufficient_funds")
    assert_problem(api.transfer(wallet, bank, 41, pending=True), 422, "insufficient_funds")
    assert api.transfer(wallet, bank, 40).status_code == 201


def test_post_in_full(api: Api) -> None:
    _, wallet = api.funded(100)
    merchant = api.account()["id"]
    hold = _hold(api, wallet, merchant, 60)
    posted = api.post(f"/v1/transfers/{hold['id']}/post", {})
    assert posted.status_code == 201, posted.text
    post = posted.json()
    assert (post["action"], post["status"], post["amount"]) == ("post", "posted", 60)
    assert post["pending_id"] == hold["id"]
    assert api.balance(wallet) == {"posted": 40, "pending": 0, "available": 40}
    assert api.balance(merchant) == {"posted": 60, "pending": 0, "available": 60}
    stored = api.get(f"/v1/transfers/{hold['id']}").json()
    assert (stored["status"], stored["settled_amount"]) == ("posted", 60)
    again = api.post(f"/v1/transfers/{hold['id']}/post", {})
    assert_problem(again, 422, "pending_transfer_already_resolved")
    assert_problem(api.post(f"/v1/transfers/{hold['id']}/void", {}), 422,
                   "pending_transfer_already_resolved")  # fmt: skip


def test_post_in_part_releases_the_rest(api: Api) -> None:
    _, wallet = api.funded(100)
    merchant = api.account()["id"]
    hold = _hold(api, wallet, merchant, 60)
    assert_problem(api.post(f"/v1/transfers/{hold['id']}/post", {"amount": 61}), 422,
                   "amount_exceeds_pending")  # fmt: skip
    for bad in (0, -1, "10", 1.5, True, 2**63):
        response = api.post(f"/v1/transfers/{hold['id']}/post", {"amount": bad})
        assert_problem(response, 422, "validation_failed")
    posted = api.post(f"/v1/transfers/{hold['id']}/post", {"amount": 25, "metadata": {"n": 1}})
    assert posted.status_code == 201, posted.text
    assert posted.json()["amount"] == 25
    assert api.balance(wallet) == {"posted": 75, "pending": 0, "available": 75}
    assert api.balance(merchant) == {"posted": 25, "pending": 0, "available": 25}
    assert api.get(f"/v1/transfers/{hold['id']}").json()["settled_amount"] == 25


def test_explicit_null_amount_posts_everything(api: Api) -> None:
    _, wallet = api.funded(100)
    merchant = api.account()["id"]
    hold = _hold(api, wallet, merchant, 60)
    posted = api.post(f"/v1/transfers/{hold['id']}/post", {"amount": None})
    assert posted.status_code == 201, posted.text
    assert posted.json()["amount"] == 60


def test_void_releases_funds(api: Api) -> None:
    _, wallet = api.funded(100)
    merchant = api.account()["id"]
    hold = _hold(api, wallet, merchant, 60)
    voided = api.post(f"/v1/transfers/{hold['id']}/void", {"metadata": {"why": "cancelled"}})
    assert voided.status_code == 201, voided.text
    assert (voided.json()["action"], voided.json()["pending_id"]) == ("void", hold["id"])
    assert api.balance(wallet) == {"posted": 100, "pending": 0, "available": 100}
    assert api.balance(merchant) == {"posted": 0, "pending": 0, "available": 0}
    assert api.get(f"/v1/transfers/{hold['id']}").json()["status"] == "voided"
    assert_problem(api.post(f"/v1/transfers/{hold['id']}/void", {}), 422,
                   "pending_transfer_already_resolved")  # fmt: skip
    assert_problem(api.post(f"/v1/transfers/{hold['id']}/post", {}), 422,
                   "pending_transfer_already_resolved")  # fmt: skip


def test_void_is_allowed_on_frozen_accounts(api: Api) -> None:
    _, wallet = api.funded(100)
    merchant = api.account()["id"]
    hold = _hold(api, wallet, merchant, 60)
    api.client.post(f"/v1/accounts/{wallet}/freeze", json={"reason": "x"}, headers=api.auth)
    assert_problem(api.post(f"/v1/transfers/{hold['id']}/post", {}), 422, "account_frozen")
    assert api.post(f"/v1/transfers/{hold['id']}/void", {}).status_code == 201
    assert api.balance(wallet)["available"] == 100


def test_resolving_what_is_not_a_hold(api: Api) -> None:
    bank, wallet = api.funded(100)
    plain = api.ok_transfer(wallet, bank, 1)
    for action in ("post", "void"):
        assert_problem(api.post(f"/v1/transfers/{plain}/{action}", {}), 422,
                       "transfer_not_pending")  # fmt: skip
        assert_problem(api.post(f"/v1/transfers/{UNKNOWN_ID}/{action}", {}), 404,
                       "transfer_not_found")  # fmt: skip
        assert_problem(api.post(f"/v1/transfers/nope/{action}", {}), 422, "validation_failed")
        assert_problem(api.post(f"/v1/transfers/{plain}/{action}", {"extra": 1}), 422,
                       "validation_failed")  # fmt: skip


def test_post_after_the_deadline_is_refused(clocked_api: Api, clock: ManualClock) -> None:
    api = clocked_api
    _, wallet = api.funded(100)
    merchant = api.account()["id"]
    hold = _hold(api, wallet, merchant, 60, timeout_seconds=60)
    assert hold["expires_at"] == "2030-01-01T09:01:00Z"
    clock.advance(timedelta(seconds=59))
    assert api.post(f"/v1/transfers/{hold['id']}/post", {"amount": 1}).status_code == 201

    late = _hold(api, wallet, merchant, 10, timeout_seconds=60)
    clock.advance(timedelta(seconds=60))  # exactly at the deadline: too late to post
    assert_problem(api.post(f"/v1/transfers/{late['id']}/post", {}), 422,
                   "pending_transfer_expired")  # fmt: skip
    # Voiding a hold past its deadline is still allowed: it only gives funds back.
    assert api.post(f"/v1/transfers/{late['id']}/void", {}).status_code == 201
    assert api.balance(wallet) == {"posted": 99, "pending": 0, "available": 99}


def test_sweeper_expires_holds_past_their_deadline(sweeping_api: Api, clock: ManualClock) -> None:
    api = sweeping_api
    _, wallet = api.funded(100)
    merchant = api.account()["id"]
    due = _hold(api, wallet, merchant, 60, timeout_seconds=60)
    later = _hold(api, wallet, merchant, 10, timeout_seconds=3600)
    forever = _hold(api, wallet, merchant, 5)
    clock.advance(timedelta(seconds=61))

    # The sweeper runs on its own; wait for it without assuming how soon that is.
    deadline = time.monotonic() + 30
    while api.get(f"/v1/transfers/{due['id']}").json()["status"] == "pending":
        assert time.monotonic() < deadline, "the hold was never expired"
        time.sleep(0.02)
    assert api.get(f"/v1/transfers/{due['id']}").json()["status"] == "expired"
    assert api.get(f"/v1/transfers/{later['id']}").json()["status"] == "pending"
    assert api.get(f"/v1/transfers/{forever['id']}").json()["status"] == "pending"
    assert api.balance(wallet) == {"posted": 100, "pending": -15, "available": 85}
    actions = [t["action"] for t in api.get("/v1/transfers", account=merchant).json()["data"]]
    assert actions == ["hold", "hold", "hold", "expire"]
    assert_problem(api.post(f"/v1/transfers/{due['id']}/void", {}), 422,
                   "pending_transfer_already_resolved")  # fmt: skip


def test_timeout_bounds(api: Api) -> None:
    _, wallet = api.funded(100)
    merchant = api.account()["id"]
    for bad in (0, -5, 366 * 86400 + 1, "60", 1.5):
        response = api.transfer(wallet, merchant, 1, pending=True, timeout_seconds=bad)
        assert_problem(response, 422, "validation_failed")
    # A timeout only makes sense on a hold.
    assert_problem(api.transfer(wallet, merchant, 1, timeout_seconds=60), 422,
                   "validation_failed")  # fmt: skip
    assert api.balance(wallet)["available"] == 100


def test_full_reversal(api: Api) -> None:
    _bank, wallet = api.funded(100)
    merchant = api.account()["id"]
    payment = api.ok_transfer(wallet, merchant, 70)
    reversed_ = api.post(f"/v1/transfers/{payment}/reverse", {"reference": "refund-1"})
    assert reversed_.status_code == 201, reversed_.text
    refund = reversed_.json()
    assert (refund["action"], refund["kind"], refund["amount"]) == ("reverse", "reversal", 70)
    assert refund["reverses_id"] == payment
    assert (refund["source"], refund["destination"]) == (merchant, wallet)
    assert api.balance(wallet)["posted"] == 100
    assert api.balance(merchant)["posted"] == 0
    assert api.get(f"/v1/transfers/{payment}").json()["settled_amount"] == 70
    assert_problem(api.post(f"/v1/transfers/{payment}/reverse", {}), 422,
                   "amount_exceeds_reversible")  # fmt: skip


def test_partial_reversals_never_exceed_the_original(api: Api) -> None:
    _, wallet = api.funded(100)
    merchant = api.account()["id"]
    payment = api.ok_transfer(wallet, merchant, 100)
    assert_problem(api.post(f"/v1/transfers/{payment}/reverse", {"amount": 101}), 422,
                   "amount_exceeds_reversible")  # fmt: skip
    first = api.post(f"/v1/transfers/{payment}/reverse", {"amount": 30, "kind": "refund"})
    assert first.status_code == 201
    assert first.json()["kind"] == "refund"
    assert_problem(api.post(f"/v1/transfers/{payment}/reverse", {"amount": 71}), 422,
                   "amount_exceeds_reversible")  # fmt: skip
    rest = api.post(f"/v1/transfers/{payment}/reverse", {})
    assert rest.status_code == 201
    assert rest.json()["amount"] == 70
    assert_problem(api.post(f"/v1/transfers/{payment}/reverse", {"amount": 1}), 422,
                   "amount_exceeds_reversible")  # fmt: skip
    assert api.balance(wallet)["posted"] == 100
    assert api.get(f"/v1/transfers/{payment}").json()["settled_amount"] == 100


def test_reversal_needs_funds_and_a_posted_transfer(api: Api) -> None:
    bank, wallet = api.funded(100)
    merchant = api.account()["id"]
    payment = api.ok_transfer(wallet, merchant, 100)
    api.ok_transfer(merchant, bank, 90)  # the merchant already paid most of it out
    assert_problem(api.post(f"/v1/transfers/{payment}/reverse", {}), 422, "insufficient_funds")
    assert api.post(f"/v1/transfers/{payment}/reverse", {"amount": 10}).status_code == 201

    hold = _hold(api, bank, wallet, 5)
    assert_problem(api.post(f"/v1/transfers/{hold['id']}/reverse", {}), 422,
                   "transfer_not_reversible")  # fmt: skip
    assert_problem(api.post(f"/v1/transfers/{UNKNOWN_ID}/reverse", {}), 404,
                   "transfer_not_found")  # fmt: skip
    for bad in ({"amount": 0}, {"amount": "1"}, {"kind": "Bad Kind"}, {"reference": ""}):
        assert_problem(api.post(f"/v1/transfers/{payment}/reverse", bad), 422,
                       "validation_failed")  # fmt: skip


def test_posted_hold_can_be_reversed(api: Api) -> None:
    _, wallet = api.funded(100)
    merchant = api.account()["id"]
    hold = _hold(api, wallet, merchant, 60)
    post = api.post(f"/v1/transfers/{hold['id']}/post", {"amount": 50}).json()
    refund = api.post(f"/v1/transfers/{post['id']}/reverse", {})
    assert refund.status_code == 201, refund.text
    assert refund.json()["amount"] == 50
    assert api.balance(wallet) == {"posted": 100, "pending": 0, "available": 100}
