"""``verify_ledger`` and ``anxin ledger verify`` catch every kind of tampering."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from anxin.cli.main import app
from anxin.kit.clock import to_micros
from anxin.kit.db import Database
from anxin.ledger.chain import entry_digest
from anxin.ledger.commands import MAX_AMOUNT, Command, PostOp, ReverseOp, TransferOp
from anxin.models import ChainHead, Entry
from tests.ledger.helpers import START, create_accounts, run_batch, tampering, verify


@dataclass
class Ledger:
    bank: uuid.UUID
    alice: uuid.UUID
    bob: uuid.UUID
    payment: uuid.UUID  # alice -> bob, 30


def build(database: Database) -> Ledger:
    """Five transfers over three batches: ten journal entries."""
    [bank] = create_accounts(database, 1, allow_negative=True)
    alice, bob = create_accounts(database, 2)
    first = run_batch(
        database,
        [
            Command((TransferOp(bank, alice, 100, "CNY"),)),
            Command((TransferOp(bank, bob, 50, "CNY"),)),
        ],
    )
    second = run_batch(
        database,
        [
            Command((TransferOp(alice, bob, 30, "CNY"),)),
            Command((TransferOp(bob, alice, 20, "CNY", pending=True),)),
        ],
        START + timedelta(seconds=1),
    )
    payment = uuid.UUID(second[0].outcomes[0]["transfer"]["id"])
    held = uuid.UUID(second[1].outcomes[0]["transfer"]["id"])
    third = run_batch(
        database,
        [Command((ReverseOp(payment, amount=5),)), Command((PostOp(held, amount=15),))],
        START + timedelta(seconds=2),
    )
    assert all(r.ok for r in first + second + third)
    report = verify(database)
    assert report.ok, report.problems
    assert (report.entries_checked, report.accounts_checked, report.transfers_checked) == (
        12,
        3,
        6,
    )
    return Ledger(bank=bank, alice=alice, bob=bob, payment=payment)


def problems_after(database: Database, tamper: Callable[[Connection], None]) -> str:
    with tampering(database) as connection:
        tamper(connection)
    report = verify(database)
    assert not report.ok
    return "\n".join(report.problems)


def sql(statement: str, **params: object) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        connection.execute(text(statement), params)

    return run


def ident(database: Database, value: object) -> object:
    """An id as a raw SQL parameter: SQLite stores UUIDs as 32 hex digits."""
    assert isinstance(value, uuid.UUID)
    return value.hex if database.is_sqlite else value


def entry_row(connection: Connection, seq: int) -> dict[str, object]:
    return dict(connection.execute(select(Entry.__table__).where(Entry.seq == seq)).one()._mapping)


def test_a_good_ledger_verifies(database: Database) -> None:
    build(database)


def test_an_empty_ledger_verifies(database: Database) -> None:
    report = verify(database)
    assert report.ok
    assert report.entries_checked == 0


def test_huge_balances_verify(database: Database, request: pytest.FixtureRequest) -> None:
    """Balances near the largest counter on several accounts of one asset are legitimate."""
    banks = create_accounts(database, 2, allow_negative=True)
    wallets = create_accounts(database, 2)
    run_batch(
        database,
        [
            Command((TransferOp(banks[0], wallets[0], MAX_AMOUNT, "CNY"),)),
            Command((TransferOp(banks[1], wallets[1], 5, "CNY"),)),
        ],
    )
    report = verify(database)
    assert report.ok, report.problems


def test_altered_entry_amount(database: Database) -> None:
    build(database)
    found = problems_after(database, sql("UPDATE ledger_entries SET posted = 31 WHERE seq = 5"))
    assert "entry 5 does not match its hash" in found
    assert "differ from its journal" in found
    assert "its journal entries do not match it" in found


def test_altered_counters_after_an_entry(database: Database) -> None:
    build(database)
    found = problems_after(
        database, sql("UPDATE ledger_entries SET credits_posted = credits_posted + 1 WHERE seq = 6")
    )
    assert found == (
        "journal: entry 6 does not match its hash; it or an entry before it was altered or "
        "reordered"
    )


def test_altered_entry_time(database: Database) -> None:
    build(database)

    def tamper(connection: Connection) -> None:
        row = entry_row(connection, 3)
        connection.execute(
            Entry.__table__.update()
            .where(Entry.seq == 3)
            .values(created_at=row["created_at"] + timedelta(seconds=1))
        )

    assert "entry 3 does not match its hash" in problems_after(database, tamper)


@pytest.mark.parametrize("seq", [1, 5, 12])
def test_deleted_entry(database: Database, seq: int) -> None:
    build(database)
    found = problems_after(database, sql("DELETE FROM ledger_entries WHERE seq = :s", s=seq))
    if seq == 12:
        assert "the head records entry 12 as the last but the journal ends at 11" in found
    else:
        assert f"entry {seq} is missing or out of place (found {seq + 1})" in found
    assert "its journal entries do not match it" in found


def test_deleted_tail_transfer_with_its_entries(database: Database) -> None:
    """Cutting off the last transfer whole (its row and both entries) and restoring the
    account counters still leaves the head pointing past the end of the journal."""
    build(database)

    def tamper(connection: Connection) -> None:
        connection.execute(text("DELETE FROM ledger_transfers WHERE first_seq = 11"))
        connection.execute(text("DELETE FROM ledger_entries WHERE seq >= 11"))
        for seq in (9, 10):  # the last entries left on the two accounts involved
            row = entry_row(connection, seq)
            connection.execute(
                text(
                    "UPDATE ledger_accounts SET debits_posted = :dp, credits_posted = :cp, "
                    "debits_pending = :dpend, credits_pending = :cpend WHERE id = :id"
                ),
                {
                    "dp": row["debits_posted"], "cp": row["credits_posted"],
                    "dpend": row["debits_pending"], "cpend": row["credits_pending"],
                    "id": ident(database, row["account_id"]),
                },
            )  # fmt: skip

    found = problems_after(database, tamper)
    assert (
        "journal: the head records entry 12 as the last but the journal ends at 10; entries "
        "were removed from the end or the head altered"
    ) in found
    # The removed transfer was the post of a hold, whose row still says it was posted.
    assert "is posted but nothing resolved it" in found


def test_inserted_entry_with_a_valid_hash_at_the_end(database: Database) -> None:
    """A forger who recomputes the hash chain still cannot move the head unnoticed, and the
    account's stored counters disagree with its journal."""
    ledger = build(database)

    def tamper(connection: Connection) -> None:
        last = entry_row(connection, 12)
        forged = {
            **last, "seq": 13, "transfer_id": uuid.uuid4(), "account_id": ledger.alice,
            "side": "C", "posted": 1000, "pending": 0,
        }  # fmt: skip
        forged.update(debits_posted=0, credits_posted=0, debits_pending=0, credits_pending=0)
        forged["hash"] = entry_digest(
            bytes(last["hash"]), 13, forged["transfer_id"].hex, ledger.alice.hex, "C", 1000, 0,
            0, 0, 0, 0, to_micros(last["created_at"]),
        )  # fmt: skip
        connection.execute(Entry.__table__.insert().values(**forged))

    found = problems_after(database, tamper)
    assert "the head records entry 12 as the last but the journal ends at 13" in found
    assert f"account {ledger.alice}: stored counters" in found


def test_inserted_entry_in_a_gap(database: Database) -> None:
    build(database)

    def tamper(connection: Connection) -> None:
        row = entry_row(connection, 12)
        connection.execute(Entry.__table__.insert().values(**{**row, "seq": 20}))

    found = problems_after(database, tamper)
    assert "entry 13 is missing or out of place (found 20)" in found
    assert "the journal has 13 entries for 6 transfers (expected 12)" in found


def test_swapped_entries(database: Database) -> None:
    build(database)

    def tamper(connection: Connection) -> None:
        three, four = entry_row(connection, 3), entry_row(connection, 4)
        table = Entry.__table__
        connection.execute(table.delete().where(Entry.seq.in_([3, 4])))
        connection.execute(table.insert().values(**{**four, "seq": 3}))
        connection.execute(table.insert().values(**{**three, "seq": 4}))

    assert "entry 3 does not match its hash" in problems_after(database, tamper)


def test_altered_head(database: Database) -> None:
    build(database)
    found = problems_after(database, sql("UPDATE ledger_head SET last_hash = :h", h=b"\x07" * 32))
    assert "the head records entry 12 as the last but the journal ends at 12" in found


def test_head_rolled_back(database: Database) -> None:
    build(database)

    def tamper(connection: Connection) -> None:
        row = entry_row(connection, 10)
        connection.execute(ChainHead.__table__.update().values(last_seq=10, last_hash=row["hash"]))

    assert "head records entry 10" in problems_after(database, tamper)


def test_missing_head(database: Database) -> None:
    build(database)
    found = problems_after(database, sql("DELETE FROM ledger_head"))
    assert found == "the chain head row is missing"


def test_account_counter_changed(database: Database) -> None:
    ledger = build(database)
    found = problems_after(
        database,
        sql(
            "UPDATE ledger_accounts SET credits_posted = credits_posted + 7 WHERE id = :id",
            id=ident(database, ledger.alice),
        ),
    )
    assert f"account {ledger.alice}: stored counters" in found
    assert "asset CNY: balances sum to 7 posted and 0 pending, not zero" in found


def test_money_moved_between_stored_counters(database: Database) -> None:
    """Per-asset sums still zero; only the journal comparison sees it."""
    ledger = build(database)

    def tamper(connection: Connection) -> None:
        for account, delta in ((ledger.alice, 10), (ledger.bob, -10)):
            connection.execute(
                text(
                    "UPDATE ledger_accounts SET credits_posted = credits_posted + :d WHERE id = :id"
                ),
                {"d": delta, "id": ident(database, account)},
            )

    found = problems_after(database, tamper)
    assert f"account {ledger.alice}: stored counters" in found
    assert f"account {ledger.bob}: stored counters" in found
    assert "sum to" not in found


def test_balance_rule_broken(database: Database) -> None:
    ledger = build(database)
    bank = ident(database, ledger.bank)
    flip = "UPDATE ledger_accounts SET allow_negative = :v WHERE id = :id"
    constraint = "ck_ledger_accounts_balance_rule"
    if database.is_sqlite:
        found = problems_after(database, sql(flip, v=False, id=bank))
    else:
        # A CHECK constraint is not a trigger: only dropping it lets the row through. Put it
        # back (unvalidated) in the same transaction, and validated afterwards.
        def tamper(connection: Connection) -> None:
            connection.exec_driver_sql(f"ALTER TABLE ledger_accounts DROP CONSTRAINT {constraint}")
            connection.execute(text(flip), {"v": False, "id": bank})
            connection.exec_driver_sql(
                f"ALTER TABLE ledger_accounts ADD CONSTRAINT {constraint} CHECK "
                "(allow_negative OR debits_posted + debits_pending <= credits_posted) NOT VALID"
            )

        found = problems_after(database, tamper)
        with database.connect() as connection, connection.begin():
            connection.execute(text(flip), {"v": True, "id": bank})
            connection.exec_driver_sql(
                f"ALTER TABLE ledger_accounts VALIDATE CONSTRAINT {constraint}"
            )
    assert found == (
        f"account {ledger.bank}: balance below zero (-150 available) but it does not allow "
        "negative balances"
    )


def test_entry_leg_changed_so_the_transfer_does_not_balance(database: Database) -> None:
    build(database)

    found = problems_after(database, sql("UPDATE ledger_entries SET posted = 29 WHERE seq = 6"))
    assert "its journal entries do not match it" in found
    assert "credit" in found and "29/0" in found


def test_transfer_row_amount_changed(database: Database) -> None:
    ledger = build(database)
    payment = ident(database, ledger.payment)
    found = problems_after(
        database, sql("UPDATE ledger_transfers SET amount = 3000 WHERE id = :i", i=payment)
    )
    assert (
        f"transfer {ledger.payment} (transfer of 3000): its journal entries do not match it"
        in found
    )


def test_entry_moved_to_another_account(database: Database) -> None:
    ledger = build(database)
    bob = ident(database, ledger.bob)
    found = problems_after(
        database, sql("UPDATE ledger_entries SET account_id = :a WHERE seq = 2", a=bob)
    )
    assert "entry 2 does not match its hash" in found
    assert f"account {ledger.alice}: stored counters" in found
    assert f"account {ledger.bob}: stored counters" in found


def test_entry_of_an_unknown_account(database: Database) -> None:
    build(database)
    stranger = uuid.uuid4()
    found = problems_after(
        database,
        sql(
            "UPDATE ledger_entries SET account_id = :a WHERE seq = 2",
            a=ident(database, stranger),
        ),
    )
    assert "journal entries belong to 1 unknown account(s)" in found


# -- the append-only triggers ------------------------------------------------------------------


def test_the_journal_refuses_changes(database: Database) -> None:
    build(database)
    statements = [
        "UPDATE ledger_entries SET posted = posted + 1 WHERE seq = 1",
        "UPDATE ledger_entries SET hash = hash",
        "DELETE FROM ledger_entries WHERE seq = 12",
        "DELETE FROM ledger_entries",
    ]
    if not database.is_sqlite:
        statements.append("TRUNCATE ledger_entries")  # SQLite has no TRUNCATE
    for statement in statements:
        with (
            pytest.raises(DBAPIError, match="append-only"),
            database.connect() as connection,
            connection.begin(),
        ):
            connection.exec_driver_sql(statement)
    assert verify(database).ok


# -- the command line --------------------------------------------------------------------------


def test_cli_verify_ok(database: Database, db_url: str) -> None:
    build(database)
    result = CliRunner().invoke(app, ["ledger", "verify"], env={"ANXIN_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: 3 accounts, 6 transfers, 12 journal entries")


def test_cli_verify_reports_tampering(database: Database, db_url: str) -> None:
    build(database)
    with tampering(database) as connection:
        connection.execute(text("DELETE FROM ledger_entries WHERE seq = 5"))
    result = CliRunner().invoke(app, ["ledger", "verify"], env={"ANXIN_DATABASE_URL": db_url})
    assert result.exit_code == 1
    assert "problem: journal: entry 5 is missing or out of place" in result.output
    assert "ledger verification failed: 4 problem(s)" in result.output
    assert not result.output.startswith("ok")


def test_cli_verify_in_a_real_process(database: Database, db_url: str) -> None:
    build(database)
    command = [sys.executable, "-m", "anxin.cli.main", "ledger", "verify", "--db", db_url]
    with tampering(database) as connection:
        connection.execute(text("UPDATE ledger_entries SET pending = 1 WHERE seq = 8"))
    bad = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert bad.returncode == 1
    assert "entry 8 does not match its hash" in bad.stderr
    assert bad.stdout == ""
