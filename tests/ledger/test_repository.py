"""Ledger reads: history pages with cursors, lookups and listings, on both databases."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import pytest

from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger import repository, service
from anxin.ledger.commands import Command, PostOp, ReverseOp, TransferOp
from anxin.ledger.errors import AccountNotFound, TransferNotFound
from anxin.ledger.repository import InvalidCursor, decode_cursor, encode_cursor
from tests.ledger.helpers import START, create_accounts, run_batch, run_one


def history(database: Database) -> tuple[uuid.UUID, list[int]]:
    """A wallet with 9 journal entries over 5 moments, several sharing one moment."""
    [bank] = create_accounts(database, 1, allow_negative=True)
    wallet, shop = create_accounts(database, 2)
    at = [START + timedelta(seconds=s) for s in range(5)]
    run_batch(
        database, [Command((TransferOp(bank, wallet, n, "CNY"),)) for n in (10, 20, 30)], at[0]
    )
    paid = run_one(database, Command((TransferOp(wallet, shop, 15, "CNY"),)), at[1])
    held = run_batch(
        database,
        [
            Command((TransferOp(wallet, shop, 5, "CNY", pending=True),)),
            Command((TransferOp(bank, wallet, 1, "CNY"),)),
        ],
        at[2],
    )
    run_batch(
        database,
        [
            Command((PostOp(uuid.UUID(held[0].outcomes[0]["transfer"]["id"]), amount=4),)),
            Command((ReverseOp(uuid.UUID(paid.outcomes[0]["transfer"]["id"]), amount=6),)),
        ],
        at[3],
    )
    run_one(database, Command((TransferOp(wallet, bank, 2, "CNY"),)), at[4])
    # Posted balance after each of the wallet's entries, oldest first.
    posted = [10, 30, 60, 45, 45, 46, 42, 48, 46]
    return wallet, posted


def walk(database: Database, account_id: uuid.UUID, *, newest_first: bool, limit: int,
         **bounds: object) -> list[tuple[int, int]]:  # fmt: skip
    """Every page in turn; (seq, posted balance after) per entry."""
    seen: list[tuple[int, int]] = []
    cursor = None
    pages = 0
    while True:
        with UnitOfWork(database, write=False) as uow:
            page = repository.entries_page(
                uow.session, account_id, cursor=cursor, limit=limit, newest_first=newest_first,
                **bounds,  # type: ignore[arg-type]
            )  # fmt: skip
            assert len(page.entries) <= limit
            seen += [(e.seq, e.credits_posted - e.debits_posted) for e in page.entries]
        pages += 1
        assert pages < 100
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_pages_cover_every_entry_once(database: Database) -> None:
    wallet, posted = history(database)
    for limit in (1, 2, 3, 4, 8, 9, 50):
        seen = walk(database, wallet, newest_first=False, limit=limit)
        assert [balance for _, balance in seen] == posted
        seqs = [seq for seq, _ in seen]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == len(posted)
        newest = walk(database, wallet, newest_first=True, limit=limit)
        assert newest == seen[::-1]


def test_pages_within_a_time_window(database: Database) -> None:
    wallet, posted = history(database)
    window = {
        "since": START + timedelta(seconds=1),
        "until": START + timedelta(seconds=3),
    }
    seen = walk(database, wallet, newest_first=False, limit=2, **window)
    assert [balance for _, balance in seen] == posted[3:6]
    seen = walk(database, wallet, newest_first=True, limit=2, **window)
    assert [balance for _, balance in seen] == posted[3:6][::-1]


def test_a_full_last_page_has_no_cursor(database: Database) -> None:
    wallet, posted = history(database)
    with UnitOfWork(database, write=False) as uow:
        page = repository.entries_page(
            uow.session, wallet, cursor=None, limit=len(posted), newest_first=True
        )
    assert page.next_cursor is None
    assert len(page.entries) == len(posted)


def test_cursor_round_trip() -> None:
    moment = START + timedelta(microseconds=123_456)
    cursor = encode_cursor(moment, 42)
    assert "=" not in cursor
    assert decode_cursor(cursor) == (moment, 42)


INVALID_CURSORS = [
    "",
    "not a cursor",
    "!!!!",
    base64.urlsafe_b64encode(b"12:34:56").decode(),
    base64.urlsafe_b64encode(b"abc:1").decode(),
    base64.urlsafe_b64encode(b"\xff\xfe:1").decode(),
]


def test_invalid_cursors_are_refused(database: Database) -> None:
    [wallet] = create_accounts(database, 1)
    for cursor in INVALID_CURSORS:
        with UnitOfWork(database, write=False) as uow, pytest.raises(InvalidCursor) as refused:
            repository.entries_page(uow.session, wallet, cursor=cursor, limit=5, newest_first=True)
        assert (refused.value.status, refused.value.code) == (422, "invalid_cursor")


@pytest.mark.parametrize("micros", [10**20, -(10**20)])
def test_cursor_out_of_range_is_invalid(micros: int) -> None:
    forged = base64.urlsafe_b64encode(f"{micros}:1".encode()).decode()
    with pytest.raises(InvalidCursor):
        decode_cursor(forged)


def test_lookups_of_missing_rows(database: Database) -> None:
    with UnitOfWork(database, write=False) as uow:
        with pytest.raises(AccountNotFound):
            repository.get_account(uow.session, uuid.uuid4())
        with pytest.raises(TransferNotFound) as missing:
            repository.get_transfer(uow.session, uuid.uuid4())
    assert (missing.value.status, missing.value.code) == (404, "transfer_not_found")


def test_list_accounts_by_owner_in_pages(database: Database) -> None:
    with UnitOfWork(database) as uow:
        mine = sorted(
            service.create_account(uow.session, asset="CNY", owner_ref="me", now=START).id
            for _ in range(5)
        )
        service.create_account(uow.session, asset="CNY", owner_ref="them", now=START)
        uow.commit()
    found: list[uuid.UUID] = []
    after = None
    while True:
        with UnitOfWork(database, write=False) as uow:
            page = [
                a.id
                for a in repository.list_accounts(uow.session, owner_ref="me", after=after, limit=2)
            ]
        found += page
        if len(page) < 2:
            break
        after = page[-1]
    assert found == mine
    with UnitOfWork(database, write=False) as uow:
        assert len(repository.list_accounts(uow.session, owner_ref=None, after=None, limit=50)) == 6


def test_list_transfers_by_reference_and_account(database: Database) -> None:
    [bank] = create_accounts(database, 1, allow_negative=True)
    wallet, shop = create_accounts(database, 2)
    results = run_batch(
        database,
        [
            Command((TransferOp(bank, wallet, 10, "CNY", reference="order-1"),)),
            Command((TransferOp(wallet, shop, 3, "CNY", reference="order-2"),)),
            Command((TransferOp(bank, shop, 4, "CNY", reference="order-1"),)),
        ],
    )
    ids = [uuid.UUID(r.outcomes[0]["transfer"]["id"]) for r in results]
    with UnitOfWork(database, write=False) as uow:

        def listed(**query: object) -> list[uuid.UUID]:
            found = repository.list_transfers(uow.session, limit=10, **query)  # type: ignore[arg-type]
            return [t.id for t in found]

        assert listed(reference="order-1", account_id=None, after=None) == [ids[0], ids[2]]
        assert listed(reference=None, account_id=wallet, after=None) == [ids[0], ids[1]]
        assert listed(reference=None, account_id=shop, after=ids[1]) == [ids[2]]
        assert listed(reference="order-3", account_id=None, after=None) == []
        transfer = repository.get_transfer(uow.session, ids[1])
        assert (transfer.amount, transfer.reference, transfer.status) == (3, "order-2", "posted")


def test_entry_as_of(database: Database) -> None:
    wallet, _ = history(database)
    with UnitOfWork(database, write=False) as uow:
        assert repository.entry_as_of(uow.session, wallet, START - timedelta(seconds=1)) is None
        first = repository.entry_as_of(uow.session, wallet, START)
        assert first is not None
        assert first.credits_posted == 60  # the last of three entries at that moment
        later = repository.entry_as_of(
            uow.session, wallet, START + timedelta(seconds=2, microseconds=5)
        )
        assert later is not None
        assert later.credits_posted - later.debits_posted == 46
