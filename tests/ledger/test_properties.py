"""Property tests: random sequences of valid and invalid ledger operations, on both databases.

Every step is applied through ``apply_batch`` and checked against ``Model`` (the rules written
the obvious way): same outcome per operation, same counters per account, same state per
transfer; and after every step the whole ledger passes ``verify_ledger``. The database is
shared by all examples of a test, so each example makes its own accounts in assets of its
own, and time only moves forward across examples.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from anxin.kit.canonical import fingerprint
from anxin.kit.db import Database
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger import service
from anxin.ledger.assets import create_asset
from anxin.ledger.batch import apply_batch, expire_due
from anxin.ledger.commands import (
    MAX_AMOUNT,
    Command,
    ExpireOp,
    IdempotencyClaim,
    Operation,
    PostOp,
    ReverseOp,
    TransferOp,
    VoidOp,
)
from anxin.models import Transfer
from tests.ledger.helpers import (
    START,
    Model,
    ModelAccount,
    ModelTransfer,
    counters,
    db_snapshot,
    verify,
)

_example_numbers = itertools.count(1)


@dataclass
class Clock:
    now: datetime = START


amounts = st.one_of(
    st.integers(1, 300),
    st.integers(1, 300),
    st.integers(1, MAX_AMOUNT),
    st.integers(MAX_AMOUNT - 500, MAX_AMOUNT),
)
optional_amounts = st.one_of(st.none(), amounts)
small_amounts = st.integers(1, 400)
# Accounts by position: 0 is the funding bank of asset A, 1-3 wallets in A, 4 the bank of
# asset B, 5 a wallet in B, 6 an account that does not exist.
account_positions = st.sampled_from([0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 5, 5, 6])
# Which transfer an operation refers to: a pending hold, any transfer, or one that does not
# exist; the integer picks among the candidates.
references = st.tuples(
    st.sampled_from(["pending", "pending", "any", "unknown"]), st.integers(0, 99)
)

transfer_specs = st.tuples(
    st.just("transfer"),
    account_positions,
    account_positions,
    amounts,
    st.booleans(),  # pending
    st.one_of(st.none(), st.integers(1, 120)),  # timeout_seconds
    st.sampled_from([False] * 9 + [True]),  # in the other asset
)
operation_specs = st.one_of(
    transfer_specs,
    transfer_specs,
    st.tuples(st.just("post"), references, optional_amounts),
    st.tuples(st.just("void"), references),
    st.tuples(st.just("reverse"), references, optional_amounts),
)


class LedgerMachine(RuleBasedStateMachine):
    database: ClassVar[Database]
    clock: ClassVar[Clock]

    def __init__(self) -> None:
        super().__init__()
        number = next(_example_numbers)
        self.assets = (f"PA{number:06d}", f"PB{number:06d}")
        self.now = self.clock.now
        with UnitOfWork(self.database) as uow:
            for code in self.assets:
                create_asset(uow.session, code=code, name=code, scale=0, now=self.now)
            layout = [(0, True), (0, False), (0, False), (0, False), (1, True), (1, False)]
            made = [
                service.create_account(
                    uow.session, asset=self.assets[a], allow_negative=neg, now=self.now
                )
                for a, neg in layout
            ]
            uow.commit()
        self.ids = [a.id for a in made] + [uuid.uuid4()]
        self.model = Model(
            accounts={a.id: ModelAccount(a.asset, a.allow_negative) for a in made}, transfers={}
        )
        self.order: list[uuid.UUID] = []  # this example's transfers, oldest first
        self.keys: list[tuple[Command, list[dict[str, Any]]]] = []
        funding = [TransferOp(self.ids[0], self.ids[w], 1000, self.assets[0]) for w in (1, 2, 3)]
        funding.append(TransferOp(self.ids[4], self.ids[5], 1000, self.assets[1]))
        self._submit([Command((op,)) for op in funding])

    # -- turning specs into commands ------------------------------------------------------------

    def _reference(self, ref: tuple[str, int]) -> uuid.UUID:
        kind, pick = ref
        transfers = self.model.transfers
        if kind == "pending":
            candidates = [t for t in self.order if transfers[t].status == "pending"] or self.order
        elif kind == "overdue":
            candidates = [t for t in self.order if self._overdue(transfers[t])]
        elif kind == "reversible":
            candidates = [
                t
                for t in self.order
                if transfers[t].action in ("transfer", "post", "reverse")
                and transfers[t].settled < transfers[t].amount
            ] or self.order
        else:
            candidates = self.order if kind == "any" else []
        return candidates[pick % len(candidates)] if candidates else uuid.uuid4()

    def _operation(self, spec: tuple[Any, ...]) -> Operation:
        if spec[0] == "transfer":
            _, source, destination, amount, pending, timeout, other_asset = spec
            source_id, destination_id = self.ids[source], self.ids[destination]
            asset = self.assets[(source >= 4) != other_asset]
            return TransferOp(
                source_id, destination_id, amount, asset, pending=pending,
                timeout_seconds=timeout, metadata={"n": amount % 7},
            )  # fmt: skip
        if spec[0] == "post":
            return PostOp(self._reference(spec[1]), amount=spec[2])
        if spec[0] == "void":
            return VoidOp(self._reference(spec[1]))
        return ReverseOp(self._reference(spec[1]), amount=spec[2])

    def _command(self, specs: list[tuple[Any, ...]], linked: bool, keyed: bool) -> Command:
        operations = tuple(self._operation(s) for s in specs)
        claim = None
        if keyed:
            body = [repr(op) for op in operations] + [linked]
            claim = IdempotencyClaim("machine", uuid.uuid4().hex, fingerprint(body))
        return Command(operations, linked=linked, idempotency=claim)

    # -- running and checking ------------------------------------------------------------------

    def _run(self, commands: list[Command]) -> list[Any]:
        with self.database.connect(write=True) as connection, connection.begin():
            return apply_batch(connection, commands, self.now)

    def _expect(self, command: Command, outcomes: list[dict[str, Any]]) -> None:
        predicted = self.model.apply_command(command, self.now)
        assert [o.get("error") for o in outcomes] == [
            p if isinstance(p, str) else None for p in predicted
        ], (command, outcomes)
        for outcome, expected in zip(outcomes, predicted, strict=True):
            if isinstance(expected, ModelTransfer):
                got = outcome["transfer"]
                assert (got["action"], got["amount"]) == (expected.action, expected.amount)
                assert (got["source"], got["destination"]) == (
                    str(expected.source),
                    str(expected.destination),
                )
                transfer_id = uuid.UUID(got["id"])
                self.model.transfers[transfer_id] = expected
                self.order.append(transfer_id)

    def _submit(self, commands: list[Command]) -> None:
        before = db_snapshot(self.database) if not any(c.idempotency for c in commands) else None
        results = self._run(commands)
        for command, result in zip(commands, results, strict=True):
            assert not result.replayed
            assert not result.key_reused
            self._expect(command, result.outcomes)
            if command.idempotency is not None:
                self.keys.append((command, result.outcomes))
        applied = any("transfer" in o for r in results for o in r.outcomes)
        if before is not None and not applied:
            assert db_snapshot(self.database) == before  # rejections leave nothing behind

    # Single operations, drawn so that most of them can succeed.

    @rule(
        source=st.sampled_from([1, 2, 3, 5]),
        destination=st.sampled_from([0, 1, 2, 3, 5]),
        amount=small_amounts,
        pending=st.booleans(),
        timeout=st.one_of(st.none(), st.integers(1, 120)),
        keyed=st.booleans(),
    )
    def pay(
        self,
        source: int,
        destination: int,
        amount: int,
        pending: bool,
        timeout: int | None,
        keyed: bool,
    ) -> None:
        spec = ("transfer", source, destination, amount, pending, timeout, False)
        self._submit([self._command([spec], linked=True, keyed=keyed)])

    @rule(destination=st.sampled_from([1, 2, 3]), amount=amounts, pending=st.booleans())
    def fund(self, destination: int, amount: int, pending: bool) -> None:
        """From the bank, any amount up to the largest: the counters' overflow guard."""
        spec = ("transfer", 0, destination, amount, pending, None, False)
        self._submit([self._command([spec], linked=True, keyed=False)])

    @rule(
        source=st.sampled_from([1, 2, 3]),
        destination=st.sampled_from([0, 1, 2, 3]),
        amount=small_amounts,
        timeout=st.one_of(st.none(), st.integers(1, 120)),
    )
    def hold(self, source: int, destination: int, amount: int, timeout: int | None) -> None:
        spec = ("transfer", source, destination, amount, True, timeout, False)
        self._submit([self._command([spec], linked=True, keyed=False)])

    def _overdue(self, transfer: ModelTransfer) -> bool:
        due = transfer.expires_at is not None and transfer.expires_at <= self.now
        return due and transfer.status == "pending"

    def _has(self, kind: str) -> bool:
        transfers = self.model.transfers.values()
        if kind == "overdue":
            return any(self._overdue(t) for t in transfers)
        if kind == "pending":
            return any(t.status == "pending" for t in transfers)
        return any(t.action in ("transfer", "post", "reverse") for t in transfers)

    @precondition(lambda self: self._has("pending"))
    @rule(pick=st.integers(0, 99), amount=st.one_of(st.none(), small_amounts), keyed=st.booleans())
    def post(self, pick: int, amount: int | None, keyed: bool) -> None:
        self._submit([self._command([("post", ("pending", pick), amount)], True, keyed)])

    @precondition(lambda self: self._has("pending"))
    @rule(pick=st.integers(0, 99), keyed=st.booleans())
    def void(self, pick: int, keyed: bool) -> None:
        self._submit([self._command([("void", ("pending", pick))], True, keyed)])

    @precondition(lambda self: self._has("overdue"))
    @rule(pick=st.integers(0, 99), void=st.booleans())
    def resolve_overdue(self, pick: int, void: bool) -> None:
        """A hold past its deadline that the sweep has not reached: void yes, post no."""
        spec = ("void", ("overdue", pick)) if void else ("post", ("overdue", pick), None)
        self._submit([self._command([spec], True, False)])

    @precondition(lambda self: self._has("reversible"))
    @rule(pick=st.integers(0, 99), amount=st.one_of(st.none(), small_amounts), keyed=st.booleans())
    def reverse(self, pick: int, amount: int | None, keyed: bool) -> None:
        self._submit([self._command([("reverse", ("reversible", pick), amount)], True, keyed)])

    @rule(
        legs=st.lists(
            st.tuples(
                st.sampled_from([1, 2, 3]), st.sampled_from([0, 1, 2, 3]), small_amounts,
                st.booleans(),
            ),
            min_size=2,
            max_size=4,
        ),
        linked=st.booleans(),
        keyed=st.booleans(),
    )  # fmt: skip
    def payments(self, legs: list[tuple[int, int, int, bool]], linked: bool, keyed: bool) -> None:
        """Several payments in one command: all-or-none when linked, else each alone."""
        specs = [("transfer", s, d, a, p, None, False) for s, d, a, p in legs]
        self._submit([self._command(specs, linked=linked, keyed=keyed)])

    # Anything at all, alone, linked or independent.

    @rule(
        specs=st.lists(operation_specs, min_size=1, max_size=3),
        linked=st.booleans(),
        keyed=st.booleans(),
    )
    def command(self, specs: list[tuple[Any, ...]], linked: bool, keyed: bool) -> None:
        self._submit([self._command(specs, linked, keyed)])

    @rule(
        batch=st.lists(
            st.tuples(st.lists(operation_specs, min_size=1, max_size=2), st.booleans()),
            min_size=2,
            max_size=5,
        )
    )
    def group_commit(self, batch: list[tuple[list[tuple[Any, ...]], bool]]) -> None:
        """Several commands in one transaction: each sees the ones before it."""
        commands = []
        for specs, keyed in batch:
            commands.append(self._command(specs, linked=True, keyed=keyed))
        # Commands refer to transfers known before the batch: resolve all, then run.
        self._submit(commands)

    @rule(
        position=st.integers(0, 5),
        action=st.sampled_from(["freeze", "unfreeze", "unfreeze", "close"]),
    )
    def change_status(self, position: int, action: str) -> None:
        account_id = self.ids[position]
        account = self.model.accounts[account_id]
        expected: str | None = None
        if action == "freeze":
            expected = "account_status_conflict" if account.status == "closed" else None
        elif action == "unfreeze":
            expected = None if account.status == "frozen" else "account_status_conflict"
        elif account.status == "closed":
            expected = "account_status_conflict"
        elif account.cp != account.dp or account.dpend or account.cpend:
            expected = "account_not_empty"
        change = {
            "freeze": service.freeze_account,
            "unfreeze": service.unfreeze_account,
            "close": service.close_account,
        }[action]
        try:
            with UnitOfWork(self.database) as uow:
                change(uow.session, account_id, reason="test", now=self.now)
                uow.commit()
        except AnxinError as error:
            assert error.code == expected
        else:
            assert expected is None
            account.status = {"freeze": "frozen", "unfreeze": "active", "close": "closed"}[action]

    @rule(seconds=st.integers(1, 90))
    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds, microseconds=seconds * 7)
        self.clock.now = self.now

    @rule()
    def sweep(self) -> None:
        with self.database.connect(write=True) as connection:
            while True:
                with connection.begin():
                    if not expire_due(connection, self.now, limit=50):
                        break
        for transfer_id, transfer in list(self.model.transfers.items()):
            due = transfer.expires_at is not None and transfer.expires_at <= self.now
            if transfer.status == "pending" and due:
                self.model.apply(ExpireOp(transfer_id), self.now)

    @precondition(lambda self: bool(self.keys))
    @rule(pick=st.integers(0, 999), same_body=st.booleans(), alone=st.booleans())
    def reuse_key(self, pick: int, same_body: bool, alone: bool) -> None:
        """A keyed command again: the same body replays; another body is refused. Neither
        changes anything."""
        command, outcomes = self.keys[pick % len(self.keys)]
        assert command.idempotency is not None
        if not same_body:
            claim = command.idempotency
            other = IdempotencyClaim(claim.scope, claim.key, fingerprint(["another body"]))
            command = Command(command.operations, command.linked, other)
        before = db_snapshot(self.database)
        batch = [command] if alone else [command, command]
        for result in self._run(batch):
            if same_body:
                assert result.replayed
                assert result.outcomes == outcomes
                assert result.ok == all("transfer" in o for o in outcomes)
            else:
                assert result.key_reused
                assert result.outcomes == []
                assert not result.ok
        assert db_snapshot(self.database) == before

    # -- invariants -----------------------------------------------------------------------------

    @invariant()
    def balances_match_the_model(self) -> None:
        stored = counters(self.database, self.ids[:6])
        for account_id in self.ids[:6]:
            assert stored[account_id] == self.model.accounts[account_id].counters()

    @invariant()
    def transfers_match_the_model(self) -> None:
        if not self.order:
            return
        with UnitOfWork(self.database, write=False) as uow:
            rows = uow.session.query(Transfer.id, Transfer.status, Transfer.settled_amount)
            found = {r.id: (r.status, r.settled_amount) for r in rows.filter(
                Transfer.id.in_(self.order[-50:]))}  # fmt: skip
        for transfer_id, state in found.items():
            expected = self.model.transfers[transfer_id]
            assert state == (expected.status, expected.settled), transfer_id

    @invariant()
    def ledger_verifies(self) -> None:
        report = verify(self.database)
        assert report.ok, report.problems


MACHINE_SETTINGS = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_random_operations_keep_every_invariant(database: Database) -> None:
    machine = type("Ledger", (LedgerMachine,), {"database": database, "clock": Clock()})
    run_state_machine_as_test(machine, settings=MACHINE_SETTINGS)
