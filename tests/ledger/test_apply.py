"""The ledger's rules, applied in memory: no database, every rule and every rejection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from anxin.kit.clock import to_micros
from anxin.ledger.apply import AccountState, BatchApplier, TransferState
from anxin.ledger.chain import GENESIS, entry_digest
from anxin.ledger.commands import (
    MAX_AMOUNT,
    Command,
    ExpireOp,
    Operation,
    PostOp,
    ReverseOp,
    TransferOp,
    VoidOp,
)
from anxin.ledger.errors import REJECTIONS

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


class Book:
    """Accounts and transfers as a batch would load them, and an applier over them."""

    def __init__(self) -> None:
        self.accounts: dict[uuid.UUID, AccountState] = {}
        self.transfers: dict[uuid.UUID, TransferState] = {}
        self.made: dict[str, tuple[Any, ...]] = {}  # what appliers made, for later ones

    def account(
        self,
        *,
        asset: str = "CNY",
        allow_negative: bool = False,
        status: str = "active",
        dp: int = 0,
        cp: int = 0,
        dpend: int = 0,
        cpend: int = 0,
    ) -> uuid.UUID:
        account_id = uuid.uuid4()
        self.accounts[account_id] = AccountState(
            id=account_id, asset=asset, allow_negative=allow_negative, status=status,
            debits_posted=dp, credits_posted=cp, debits_pending=dpend, credits_pending=cpend,
        )  # fmt: skip
        return account_id

    def transfer(
        self,
        source: uuid.UUID,
        destination: uuid.UUID,
        amount: int,
        *,
        action: str = "transfer",
        status: str = "posted",
        settled: int = 0,
        expires_at: datetime | None = None,
    ) -> uuid.UUID:
        transfer_id = uuid.uuid4()
        self.transfers[transfer_id] = TransferState(
            id=transfer_id, action=action, status=status, source_id=source,
            destination_id=destination, asset=self.accounts[source].asset, amount=amount,
            settled_amount=settled, expires_at=expires_at,
        )  # fmt: skip
        return transfer_id

    def applier(self, now: datetime = NOW, seq: int = 0, last: bytes = GENESIS) -> BatchApplier:
        return BatchApplier(
            accounts=self.accounts, transfers=self.transfers, now=now, last_seq=seq,
            last_hash=last, render_time=lambda d: d.isoformat(), made=self.made,
        )  # fmt: skip

    def counters(self, account_id: uuid.UUID) -> tuple[int, int, int, int]:
        return self.accounts[account_id].counters()


def one(applier: BatchApplier, op: Operation) -> dict[str, Any]:
    [outcome] = applier.apply(Command((op,)))
    return outcome


def code(outcome: dict[str, Any]) -> str | None:
    return outcome.get("error")


def state(
    book: Book, applier: BatchApplier, known: set[uuid.UUID] | None = None
) -> tuple[Any, ...]:
    """Everything an operation may change (dirty flags included), over the ``known``
    transfers: a rolled-back group may leave its own new transfers in the map, unreachable
    (their ids were never returned) and clean, so never written."""
    transfers = book.transfers
    if known is not None:
        assert not any(t.dirty for k, t in transfers.items() if k not in known)
        transfers = {k: t for k, t in transfers.items() if k in known}
    return (
        {k: (a.counters(), a.dirty) for k, a in book.accounts.items()},
        {k: (t.status, t.settled_amount, t.dirty) for k, t in transfers.items()},
        applier.seq,
        applier.hash,
        list(applier.new_transfers),
        list(applier.new_entries),
    )


def rejected(book: Book, applier: BatchApplier, op: Operation) -> str:
    """Apply ``op`` expecting a rejection; check that it changed nothing at all."""
    transfer_ids, made = set(book.transfers), set(book.made)
    before = state(book, applier, transfer_ids)
    outcome = one(applier, op)
    assert "error" in outcome, outcome
    assert outcome["error"] in REJECTIONS
    assert outcome["detail"]
    assert state(book, applier, transfer_ids) == before
    # Looking one up may have moved a transfer made earlier from ``made`` to the map, clean
    # (``state`` checks that); nothing else may appear.
    assert {k.hex for k in set(book.transfers) - transfer_ids} <= made
    return str(outcome["error"])


@pytest.fixture
def book() -> Book:
    return Book()


# -- plain transfers --------------------------------------------------------------------------


def test_transfer_moves_posted_money_and_records_two_chained_entries(book: Book) -> None:
    bank = book.account(allow_negative=True)
    wallet = book.account()
    applier = book.applier(seq=7, last=b"\x01" * 32)
    outcome = one(applier, TransferOp(bank, wallet, 250, "CNY", kind="topup", reference="r1"))
    transfer = outcome["transfer"]
    assert transfer["action"] == "transfer"
    assert transfer["status"] == "posted"
    assert transfer["kind"] == "topup"
    assert transfer["reference"] == "r1"
    assert (transfer["source"], transfer["destination"]) == (str(bank), str(wallet))
    assert transfer["amount"] == 250
    assert transfer["link_id"] is None
    assert book.counters(bank) == (250, 0, 0, 0)
    assert book.counters(wallet) == (0, 250, 0, 0)
    assert applier.seq == 9
    assert len(applier.new_transfers) == 1
    assert applier.new_transfers[0][-1] == 8  # first_seq
    debit, credit = applier.new_entries
    assert debit[:6] == (8, uuid.UUID(transfer["id"]).hex, bank.hex, "D", 250, 0)
    assert debit[6:10] == (250, 0, 0, 0)
    assert credit[:6] == (9, uuid.UUID(transfer["id"]).hex, wallet.hex, "C", 250, 0)
    assert credit[6:10] == (0, 250, 0, 0)
    previous = b"\x01" * 32
    for entry in applier.new_entries:
        digest = entry_digest(previous, *entry[:10], to_micros(NOW))
        assert entry[-1] == digest
        previous = digest
    assert applier.hash == previous


def test_transfer_may_spend_exactly_the_available_balance(book: Book) -> None:
    wallet = book.account(cp=100, dpend=30)
    other = book.account()
    applier = book.applier()
    assert rejected(book, applier, TransferOp(wallet, other, 71, "CNY")) == "insufficient_funds"
    assert "transfer" in one(applier, TransferOp(wallet, other, 70, "CNY"))
    assert book.counters(wallet) == (70, 100, 30, 0)


def test_incoming_pending_credits_are_not_spendable(book: Book) -> None:
    wallet = book.account(cpend=500)
    other = book.account()
    assert rejected(book, book.applier(), TransferOp(wallet, other, 1, "CNY")) == (
        "insufficient_funds"
    )


def test_allow_negative_accounts_go_below_zero(book: Book) -> None:
    bank = book.account(allow_negative=True)
    wallet = book.account()
    assert "transfer" in one(book.applier(), TransferOp(bank, wallet, MAX_AMOUNT, "CNY"))
    assert book.counters(bank) == (MAX_AMOUNT, 0, 0, 0)


@pytest.mark.parametrize(
    ("side", "status", "expected"),
    [
        ("source", "frozen", "account_frozen"),
        ("destination", "frozen", "account_frozen"),
        ("source", "closed", "account_closed"),
        ("destination", "closed", "account_closed"),
    ],
)
def test_inactive_accounts_neither_send_nor_receive(
    book: Book, side: str, status: str, expected: str
) -> None:
    source = book.account(cp=100, status=status if side == "source" else "active")
    destination = book.account(status=status if side == "destination" else "active")
    op = TransferOp(source, destination, 10, "CNY")
    assert rejected(book, book.applier(), op) == expected
    held = TransferOp(source, destination, 10, "CNY", pending=True)
    assert rejected(book, book.applier(), held) == expected


def test_unknown_accounts_are_refused(book: Book) -> None:
    known = book.account(cp=100)
    applier = book.applier()
    assert rejected(book, applier, TransferOp(uuid.uuid4(), known, 1, "CNY")) == (
        "account_not_found"
    )
    assert rejected(book, applier, TransferOp(known, uuid.uuid4(), 1, "CNY")) == (
        "account_not_found"
    )


def test_same_account_is_refused(book: Book) -> None:
    wallet = book.account(cp=100)
    assert rejected(book, book.applier(), TransferOp(wallet, wallet, 1, "CNY")) == "same_account"


def test_assets_must_all_match(book: Book) -> None:
    cny = book.account(cp=100)
    cny2 = book.account()
    jpy = book.account(asset="JPY")
    applier = book.applier()
    assert rejected(book, applier, TransferOp(cny, jpy, 1, "CNY")) == "asset_mismatch"
    assert rejected(book, applier, TransferOp(cny, jpy, 1, "JPY")) == "asset_mismatch"
    assert rejected(book, applier, TransferOp(cny, cny2, 1, "JPY")) == "asset_mismatch"


@pytest.mark.parametrize(
    ("source_counters", "destination_counters", "pending"),
    [
        ({"dp": MAX_AMOUNT - 5}, {}, False),  # source debits would pass 2**63 - 1
        ({"dpend": MAX_AMOUNT - 5}, {}, True),
        ({}, {"cp": MAX_AMOUNT - 5}, False),  # destination credits would
        ({}, {"cpend": MAX_AMOUNT - 5}, True),
    ],
)
def test_counters_never_pass_the_largest_bigint(
    book: Book,
    source_counters: dict[str, int],
    destination_counters: dict[str, int],
    pending: bool,
) -> None:
    source = book.account(allow_negative=True, **source_counters)
    destination = book.account(allow_negative=True, **destination_counters)
    applier = book.applier()
    op = TransferOp(source, destination, 6, "CNY", pending=pending)
    assert rejected(book, applier, op) == "overflow"
    assert "transfer" in one(applier, TransferOp(source, destination, 5, "CNY", pending=pending))


def test_overflow_is_checked_before_funds(book: Book) -> None:
    source = book.account(dp=MAX_AMOUNT - 1, cp=MAX_AMOUNT)
    other = book.account()
    assert rejected(book, book.applier(), TransferOp(source, other, 2, "CNY")) == "overflow"


def test_rejection_codes_are_all_known(book: Book) -> None:
    wallet = book.account()
    outcome = one(book.applier(), TransferOp(wallet, book.account(), 1, "CNY"))
    assert outcome == {"error": "insufficient_funds", "detail": "available 0, needed 1"}


# -- holds ------------------------------------------------------------------------------------


def hold(book: Book, applier: BatchApplier, source: uuid.UUID, destination: uuid.UUID,
         amount: int, timeout: int | None = None) -> uuid.UUID:  # fmt: skip
    op = TransferOp(source, destination, amount, "CNY", pending=True, timeout_seconds=timeout)
    outcome = one(applier, op)
    assert outcome["transfer"]["status"] == "pending", outcome
    return uuid.UUID(outcome["transfer"]["id"])


def test_hold_reserves_funds_and_sets_its_deadline(book: Book) -> None:
    wallet = book.account(cp=100)
    shop = book.account()
    applier = book.applier()
    outcome = one(applier, TransferOp(wallet, shop, 60, "CNY", pending=True, timeout_seconds=90))
    assert outcome["transfer"]["action"] == "hold"
    assert outcome["transfer"]["expires_at"] == "2030-01-01T12:01:30Z"
    assert book.counters(wallet) == (0, 100, 60, 0)
    assert book.counters(shop) == (0, 0, 0, 60)
    assert rejected(book, applier, TransferOp(wallet, shop, 41, "CNY")) == "insufficient_funds"
    assert rejected(book, applier, TransferOp(wallet, shop, 41, "CNY", pending=True)) == (
        "insufficient_funds"
    )


def test_post_full_amount(book: Book) -> None:
    wallet, shop = book.account(cp=100), book.account()
    applier = book.applier()
    held = hold(book, applier, wallet, shop, 60)
    outcome = one(applier, PostOp(held))["transfer"]
    assert (outcome["action"], outcome["amount"], outcome["pending_id"]) == ("post", 60, str(held))
    assert book.counters(wallet) == (60, 100, 0, 0)
    assert book.counters(shop) == (0, 60, 0, 0)
    assert (book.transfers[held].status, book.transfers[held].settled_amount) == ("posted", 60)


def test_partial_post_releases_the_rest(book: Book) -> None:
    wallet, shop = book.account(cp=100), book.account()
    applier = book.applier()
    held = hold(book, applier, wallet, shop, 60)
    assert rejected(book, applier, PostOp(held, amount=61)) == "amount_exceeds_pending"
    assert one(applier, PostOp(held, amount=45))["transfer"]["amount"] == 45
    assert book.counters(wallet) == (45, 100, 0, 0)
    assert book.counters(shop) == (0, 45, 0, 0)
    assert book.transfers[held].settled_amount == 45
    # A posted hold is resolved: neither posted again nor voided.
    assert rejected(book, applier, PostOp(held)) == "pending_transfer_already_resolved"
    assert rejected(book, applier, VoidOp(held)) == "pending_transfer_already_resolved"


@pytest.mark.parametrize(("op_type", "status"), [(VoidOp, "voided"), (ExpireOp, "expired")])
def test_void_and_expire_give_the_funds_back(
    book: Book, op_type: type[VoidOp] | type[ExpireOp], status: str
) -> None:
    wallet, shop = book.account(cp=100), book.account()
    applier = book.applier()
    held = hold(book, applier, wallet, shop, 60)
    outcome = one(applier, op_type(held))["transfer"]
    assert outcome["amount"] == 60
    assert outcome["action"] == ("void" if op_type is VoidOp else "expire")
    assert book.counters(wallet) == (0, 100, 0, 0)
    assert book.counters(shop) == (0, 0, 0, 0)
    assert book.transfers[held].status == status
    assert rejected(book, applier, PostOp(held)) == "pending_transfer_already_resolved"
    assert rejected(book, applier, VoidOp(held)) == "pending_transfer_already_resolved"
    assert rejected(book, applier, ExpireOp(held)) == "pending_transfer_already_resolved"


def test_post_refused_at_and_after_the_deadline_but_void_allowed(book: Book) -> None:
    wallet, shop = book.account(cp=100), book.account()
    held = hold(book, book.applier(), wallet, shop, 60, timeout=30)
    before = book.applier(now=NOW + timedelta(seconds=29, microseconds=999_999))
    at = book.applier(now=NOW + timedelta(seconds=30))
    assert rejected(book, at, PostOp(held)) == "pending_transfer_expired"
    assert rejected(book, book.applier(now=NOW + timedelta(days=1)), PostOp(held, amount=1)) == (
        "pending_transfer_expired"
    )
    assert "transfer" in one(before, PostOp(held, amount=1))

    other = hold(book, book.applier(), wallet, shop, 10, timeout=30)
    assert "transfer" in one(at, VoidOp(other))


def test_resolving_something_that_is_not_a_hold(book: Book) -> None:
    wallet, shop = book.account(cp=100), book.account()
    applier = book.applier()
    plain = uuid.UUID(one(applier, TransferOp(wallet, shop, 5, "CNY"))["transfer"]["id"])
    for op in (PostOp(plain), VoidOp(plain), ExpireOp(plain)):
        assert rejected(book, applier, op) == "transfer_not_pending"
    for op in (PostOp(uuid.uuid4()), VoidOp(uuid.uuid4()), ExpireOp(uuid.uuid4())):
        assert rejected(book, applier, op) == "transfer_not_found"


def test_frozen_accounts_release_holds_but_cannot_post_them(book: Book) -> None:
    wallet, shop = book.account(cp=100), book.account()
    first = hold(book, book.applier(), wallet, shop, 30)
    second = hold(book, book.applier(), wallet, shop, 20)
    third = hold(book, book.applier(), wallet, shop, 10)
    book.accounts[wallet].status = "frozen"
    applier = book.applier()
    assert rejected(book, applier, PostOp(first)) == "account_frozen"
    assert "transfer" in one(applier, VoidOp(first))
    assert "transfer" in one(applier, ExpireOp(second))
    book.accounts[wallet].status = "active"
    book.accounts[shop].status = "frozen"
    assert rejected(book, applier, PostOp(third)) == "account_frozen"
    assert "transfer" in one(applier, VoidOp(third))
    assert book.counters(wallet) == (0, 100, 0, 0)


def test_post_checks_counter_overflow(book: Book) -> None:
    bank = book.account(allow_negative=True)
    shop = book.account(cp=MAX_AMOUNT - 10)
    held = book.transfer(bank, shop, 20, action="hold", status="pending")
    book.accounts[bank].debits_pending = 20
    book.accounts[shop].credits_pending = 20
    applier = book.applier()
    assert rejected(book, applier, PostOp(held)) == "overflow"
    assert "transfer" in one(applier, PostOp(held, amount=10))
    assert book.counters(shop) == (0, MAX_AMOUNT, 0, 0)


# -- reversals ---------------------------------------------------------------------------------


def test_full_reversal_sends_the_money_back(book: Book) -> None:
    wallet, shop = book.account(cp=100), book.account()
    applier = book.applier()
    paid = uuid.UUID(one(applier, TransferOp(wallet, shop, 40, "CNY"))["transfer"]["id"])
    outcome = one(applier, ReverseOp(paid, reference="refund-1"))["transfer"]
    assert outcome["action"] == "reverse"
    assert outcome["kind"] == "reversal"
    assert (outcome["source"], outcome["destination"]) == (str(shop), str(wallet))
    assert (outcome["amount"], outcome["reverses_id"]) == (40, str(paid))
    assert book.counters(wallet) == (40, 140, 0, 0)
    assert book.counters(shop) == (40, 40, 0, 0)
    assert rejected(book, applier, ReverseOp(paid)) == "amount_exceeds_reversible"
    assert rejected(book, applier, ReverseOp(paid, amount=1)) == "amount_exceeds_reversible"


def test_partial_reversals_until_exhausted(book: Book) -> None:
    wallet, shop = book.account(cp=100), book.account()
    applier = book.applier()
    paid = uuid.UUID(one(applier, TransferOp(wallet, shop, 10, "CNY"))["transfer"]["id"])
    for amount, remaining in ((3, 10), (4, 7)):
        assert rejected(book, applier, ReverseOp(paid, amount=remaining + 1)) == (
            "amount_exceeds_reversible"
        )
        assert one(applier, ReverseOp(paid, amount=amount))["transfer"]["amount"] == amount
        assert book.transfers[paid].settled_amount == 10 - remaining + amount
    assert one(applier, ReverseOp(paid))["transfer"]["amount"] == 3
    assert rejected(book, applier, ReverseOp(paid)) == "amount_exceeds_reversible"
    assert book.counters(shop) == (10, 10, 0, 0)
    assert book.counters(wallet) == (10, 110, 0, 0)


def test_reversal_needs_funds_on_the_receiving_side(book: Book) -> None:
    wallet, shop, third = book.account(cp=100), book.account(), book.account()
    applier = book.applier()
    paid = uuid.UUID(one(applier, TransferOp(wallet, shop, 40, "CNY"))["transfer"]["id"])
    one(applier, TransferOp(shop, third, 35, "CNY"))
    assert rejected(book, applier, ReverseOp(paid)) == "insufficient_funds"
    assert one(applier, ReverseOp(paid, amount=5))["transfer"]["amount"] == 5


def test_reversal_checks_account_status_and_overflow(book: Book) -> None:
    bank = book.account(allow_negative=True, cp=MAX_AMOUNT - 3)
    shop = book.account(cp=100)
    paid = book.transfer(bank, shop, 10)
    applier = book.applier()
    assert rejected(book, applier, ReverseOp(paid)) == "overflow"
    book.accounts[bank].credits_posted = 0
    book.accounts[shop].status = "frozen"
    assert rejected(book, applier, ReverseOp(paid)) == "account_frozen"
    book.accounts[shop].status = "active"
    book.accounts[bank].status = "closed"
    assert rejected(book, applier, ReverseOp(paid)) == "account_closed"


def test_what_can_and_cannot_be_reversed(book: Book) -> None:
    wallet, shop = book.account(cp=1000), book.account()
    applier = book.applier()
    assert rejected(book, applier, ReverseOp(uuid.uuid4())) == "transfer_not_found"
    pending = hold(book, applier, wallet, shop, 50)
    assert rejected(book, applier, ReverseOp(pending)) == "transfer_not_reversible"
    post = uuid.UUID(one(applier, PostOp(pending, amount=30))["transfer"]["id"])
    # The hold itself is now "posted", but it is the post that moved money.
    assert rejected(book, applier, ReverseOp(pending)) == "transfer_not_reversible"
    reversal = uuid.UUID(one(applier, ReverseOp(post, amount=20))["transfer"]["id"])
    assert book.counters(wallet) == (30, 1020, 0, 0)
    # A reversal can itself be reversed (money goes forth again), never beyond its amount.
    assert rejected(book, applier, ReverseOp(reversal, amount=21)) == "amount_exceeds_reversible"
    assert one(applier, ReverseOp(reversal))["transfer"]["amount"] == 20
    voided = hold(book, applier, wallet, shop, 5)
    void = uuid.UUID(one(applier, VoidOp(voided))["transfer"]["id"])
    assert rejected(book, applier, ReverseOp(voided)) == "transfer_not_reversible"
    # Release records are not loaded as reversible transfers.
    assert rejected(book, applier, ReverseOp(void)) == "transfer_not_found"
    stored_void = book.transfer(wallet, shop, 5, action="void")
    assert rejected(book, applier, ReverseOp(stored_void)) == "transfer_not_reversible"


# -- linked and independent commands -----------------------------------------------------------


def test_linked_commands_share_a_link_id(book: Book) -> None:
    wallet, shop, fees = book.account(cp=100), book.account(), book.account()
    applier = book.applier()
    outcomes = applier.apply(
        Command((TransferOp(wallet, shop, 90, "CNY"), TransferOp(wallet, fees, 10, "CNY")))
    )
    links = {o["transfer"]["link_id"] for o in outcomes}
    assert len(links) == 1
    assert None not in links
    assert book.counters(wallet) == (100, 100, 0, 0)


def test_linked_commands_are_all_or_none(book: Book) -> None:
    bank = book.account(allow_negative=True)
    wallet, shop = book.account(cp=100), book.account()
    pending = book.transfer(wallet, shop, 30, action="hold", status="pending")
    paid = book.transfer(bank, wallet, 70)
    book.accounts[wallet].debits_pending = 30
    book.accounts[shop].credits_pending = 30
    applier = book.applier(seq=4, last=b"\x02" * 32)
    one(applier, TransferOp(bank, shop, 1, "CNY"))  # an earlier command in the same batch
    before = state(book, applier)
    known = set(book.transfers)
    ops: tuple[Operation, ...] = (
        TransferOp(wallet, shop, 50, "CNY"),
        PostOp(pending, amount=10),
        ReverseOp(paid, amount=20),
        TransferOp(shop, bank, 5, "CNY", pending=True),
        TransferOp(wallet, shop, 1000, "CNY"),  # fails
        TransferOp(bank, wallet, 1, "CNY"),
    )
    outcomes = applier.apply(Command(ops))
    assert [code(o) for o in outcomes] == [
        "linked_event_failed", "linked_event_failed", "linked_event_failed",
        "linked_event_failed", "insufficient_funds", "linked_event_failed",
    ]  # fmt: skip
    assert outcomes[4]["index"] == 4
    assert all(o["detail"] for o in outcomes)
    assert state(book, applier, known) == before
    # The applier goes on normally after a failed group.
    assert "transfer" in one(applier, PostOp(pending))
    assert applier.seq == before[2] + 2


def test_linked_failure_on_the_first_operation(book: Book) -> None:
    wallet, shop = book.account(cp=10), book.account()
    applier = book.applier()
    outcomes = applier.apply(
        Command((TransferOp(wallet, wallet, 1, "CNY"), TransferOp(wallet, shop, 1, "CNY")))
    )
    assert [code(o) for o in outcomes] == ["same_account", "linked_event_failed"]
    assert outcomes[0]["index"] == 0
    assert applier.new_entries == []


def test_a_linked_group_sees_its_own_earlier_operations(book: Book) -> None:
    wallet, shop = book.account(cp=100), book.account()
    applier = book.applier()
    outcomes = applier.apply(
        Command((TransferOp(wallet, shop, 100, "CNY"), TransferOp(shop, wallet, 100, "CNY")))
    )
    assert all("transfer" in o for o in outcomes)
    # ... and a group that would overspend with its second leg fails as a whole.
    outcomes = applier.apply(
        Command((TransferOp(wallet, shop, 60, "CNY"), TransferOp(wallet, shop, 60, "CNY")))
    )
    assert [code(o) for o in outcomes] == ["linked_event_failed", "insufficient_funds"]
    assert book.counters(wallet) == (100, 200, 0, 0)


def test_resolving_a_hold_twice_in_one_linked_group_fails_the_group(book: Book) -> None:
    wallet, shop = book.account(cp=100), book.account()
    applier = book.applier()
    held = hold(book, applier, wallet, shop, 50)
    before, known = state(book, applier), set(book.transfers)
    outcomes = applier.apply(Command((PostOp(held, amount=10), VoidOp(held))))
    assert [code(o) for o in outcomes] == [
        "linked_event_failed",
        "pending_transfer_already_resolved",
    ]
    assert state(book, applier, known) == before
    assert book.transfers[held].status == "pending"


def test_independent_operations_succeed_or_fail_alone(book: Book) -> None:
    wallet, shop = book.account(cp=100), book.account()
    applier = book.applier()
    outcomes = applier.apply(
        Command(
            (
                TransferOp(wallet, shop, 60, "CNY"),
                TransferOp(wallet, shop, 60, "CNY"),
                TransferOp(wallet, shop, 40, "CNY"),
            ),
            linked=False,
        )
    )
    assert [code(o) for o in outcomes] == [None, "insufficient_funds", None]
    assert all(o["transfer"]["link_id"] is None for o in (outcomes[0], outcomes[2]))
    assert book.counters(wallet) == (100, 100, 0, 0)
    assert applier.seq == 4


def test_a_single_linked_operation_has_no_link(book: Book) -> None:
    wallet, shop = book.account(cp=100), book.account()
    outcome = one(book.applier(), TransferOp(wallet, shop, 1, "CNY"))
    assert outcome["transfer"]["link_id"] is None


def test_operations_within_a_batch_see_each_other(book: Book) -> None:
    bank, wallet, shop = book.account(allow_negative=True), book.account(), book.account()
    applier = book.applier()
    assert rejected(book, applier, TransferOp(wallet, shop, 1, "CNY")) == "insufficient_funds"
    one(applier, TransferOp(bank, wallet, 10, "CNY"))
    paid = uuid.UUID(one(applier, TransferOp(wallet, shop, 10, "CNY"))["transfer"]["id"])
    assert one(applier, ReverseOp(paid, amount=4))["transfer"]["amount"] == 4
    assert book.counters(wallet) == (10, 14, 0, 0)
    assert {a.id for a in book.accounts.values() if a.dirty} == {bank, wallet, shop}
    assert book.transfers[paid].dirty
    assert book.transfers[paid].settled_amount == 4
