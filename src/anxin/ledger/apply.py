"""Applying commands to an in-memory view of the accounts a batch touches.

This module is pure: no I/O. ``batch.py`` loads the accounts and transfers a batch refers
to, hands them to a ``BatchApplier``, and writes out what it produced (new transfers,
journal entries, changed counters) with set-based statements. Keeping the rules here makes
them easy to test exhaustively and keeps the database round trips per batch constant.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import uuid_utils

from anxin.kit.clock import to_micros
from anxin.kit.ids import new_id
from anxin.ledger.chain import encoded_entry_digest
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
from anxin.ledger.views import iso, json_text


@dataclass(slots=True)
class AccountState:
    id: uuid.UUID
    asset: str
    allow_negative: bool
    status: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    dirty: bool = False
    hex: str = ""  # id.hex, computed once per batch rather than once per entry
    text: str = ""  # str(id), for results
    key: bytes = b""  # the hex as bytes, as the journal's hash takes it

    def __post_init__(self) -> None:
        if not self.hex:  # loaders pass the hex they read
            self.hex = self.id.hex
        h = self.hex  # str(UUID) would format the hex digits again
        self.text = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        self.key = h.encode()

    def counters(self) -> tuple[int, int, int, int]:
        return (self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending)


@dataclass(slots=True)
class TransferState:
    """The parts of an existing transfer that later operations consult or change."""

    id: uuid.UUID
    action: str
    status: str
    source_id: uuid.UUID
    destination_id: uuid.UUID
    asset: str
    amount: int
    settled_amount: int
    expires_at: datetime | None
    dirty: bool = False


class Rejected(Exception):
    def __init__(self, code: str, detail: str | None = None) -> None:
        self.code = code
        self.detail = detail or REJECTIONS[code]
        super().__init__(self.detail)


def referenced_ids(commands: list[Command]) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """The accounts and existing transfers a batch needs loaded."""
    accounts: set[uuid.UUID] = set()
    transfers: set[uuid.UUID] = set()
    for command in commands:
        for op in command.operations:
            if isinstance(op, TransferOp):
                accounts.add(op.source)
                accounts.add(op.destination)
            elif isinstance(op, ReverseOp):
                transfers.add(op.transfer_id)
            else:
                transfers.add(op.pending_id)
    return accounts, transfers


class BatchApplier:
    def __init__(
        self,
        *,
        accounts: dict[uuid.UUID, AccountState],
        transfers: dict[uuid.UUID, TransferState],
        now: datetime,
        last_seq: int,
        last_hash: bytes,
        render_time: Callable[[datetime], str],
        made: dict[str, tuple[Any, ...]] | None = None,
    ) -> None:
        self.accounts = accounts
        self.transfers = transfers
        self.now = now
        self.seq = last_seq
        self.hash = last_hash
        # Rows in the column order of ``TRANSFER_COLUMNS`` and ``ENTRY_COLUMNS``, already in
        # the form the driver takes (ids as hex, times rendered by the writer, JSON as text),
        # so the bulk writer hands them over without touching each value again.
        self.new_transfers: list[tuple[Any, ...]] = []
        self.new_entries: list[tuple[Any, ...]] = []
        # Accounts in the order they first became dirty. ``accounts`` may hold far more than
        # this batch touches (the engine's cache), so changes are not found by scanning it. A
        # rolled-back linked group may leave an account here that is clean again.
        self.changed_accounts: list[AccountState] = []
        # Transfers made here, by hex id, as the rest of their TransferState's arguments:
        # only an operation that refers to one turns it into a state in ``transfers``.
        # Building a state and a UUID for every new transfer up front was a tenth of
        # applying it, and clients cannot refer to a transfer before its batch commits.
        # Appliers that stand for consecutive batches over shared maps (tests) share this too.
        self.made: dict[str, tuple[Any, ...]] = {} if made is None else made
        self._saving = False
        self._micros = to_micros(now)
        self._now_text = iso(now)
        self._render_time = render_time
        self._stamp = render_time(now)

    # -- commands ---------------------------------------------------------------------------

    def apply(self, command: Command) -> list[dict[str, Any]]:
        ops = command.operations
        if len(ops) == 1 or not command.linked:
            return [self._apply_alone(op) for op in ops]
        return self._apply_linked(ops)

    def _apply_alone(self, op: Operation) -> dict[str, Any]:
        # Every operation checks everything before it changes anything, so a lone
        # operation needs no savepoint: a rejection has nothing to undo.
        try:
            return {"transfer": self._apply_op(op, None)}
        except Rejected as rejection:
            return {"error": rejection.code, "detail": rejection.detail}

    def _apply_linked(self, ops: tuple[Operation, ...]) -> list[dict[str, Any]]:
        self._savepoint()
        link_id = new_id()
        results: list[dict[str, Any]] = []
        try:
            for index, op in enumerate(ops):
                try:
                    results.append({"transfer": self._apply_op(op, link_id)})
                except Rejected as rejection:
                    self._rollback()
                    failed = {"error": rejection.code, "detail": rejection.detail, "index": index}
                    linked = {
                        "error": "linked_event_failed",
                        "detail": REJECTIONS["linked_event_failed"],
                    }
                    return [failed if i == index else dict(linked) for i in range(len(ops))]
        finally:
            self._saving = False
        return results

    # -- savepoints: an operation or a linked group is all-or-none ---------------------------

    def _savepoint(self) -> None:
        self._saving = True
        self._mark = (len(self.new_transfers), len(self.new_entries), self.seq, self.hash)
        self._account_undo: dict[uuid.UUID, tuple[tuple[int, int, int, int], bool]] = {}
        self._transfer_undo: dict[uuid.UUID, tuple[str, int, bool]] = {}

    def _rollback(self) -> None:
        transfers_len, entries_len, self.seq, self.hash = self._mark
        del self.new_transfers[transfers_len:]
        del self.new_entries[entries_len:]
        for account_id, (counters, dirty) in self._account_undo.items():
            account = self.accounts[account_id]
            (
                account.debits_posted,
                account.credits_posted,
                account.debits_pending,
                account.credits_pending,
            ) = counters
            account.dirty = dirty
        for transfer_id, (status, settled, dirty) in self._transfer_undo.items():
            transfer = self.transfers[transfer_id]
            transfer.status, transfer.settled_amount, transfer.dirty = status, settled, dirty

    def _touch_account(self, account: AccountState) -> None:
        if account.id not in self._account_undo:
            self._account_undo[account.id] = (account.counters(), account.dirty)

    def _touch_transfer(self, transfer: TransferState) -> None:
        if self._saving and transfer.id not in self._transfer_undo:
            self._transfer_undo[transfer.id] = (
                transfer.status,
                transfer.settled_amount,
                transfer.dirty,
            )
        transfer.dirty = True

    # -- operations -------------------------------------------------------------------------

    def _apply_op(self, op: Operation, link_id: uuid.UUID | None) -> dict[str, Any]:
        if isinstance(op, TransferOp):
            return self._transfer(op, link_id)
        if isinstance(op, PostOp):
            return self._post(op, link_id)
        if isinstance(op, VoidOp):
            return self._release(op.pending_id, "void", "voided", op.metadata, link_id)
        if isinstance(op, ExpireOp):
            return self._release(op.pending_id, "expire", "expired", {}, link_id)
        return self._reverse(op, link_id)

    def _account(self, account_id: uuid.UUID, moving_money: bool = True) -> AccountState:
        account = self.accounts.get(account_id)
        if account is None:
            raise Rejected("account_not_found", f"account {account_id} not found")
        if moving_money and account.status != "active":
            code = "account_frozen" if account.status == "frozen" else "account_closed"
            raise Rejected(code, f"account {account_id} is {account.status}")
        return account

    def _find_transfer(self, transfer_id: uuid.UUID) -> TransferState | None:
        found = self.transfers.get(transfer_id)
        if found is None and self.made:
            made = self.made.pop(transfer_id.hex, None)
            if made is not None:
                found = self.transfers[transfer_id] = TransferState(transfer_id, *made)
        return found

    def _transfer(self, op: TransferOp, link_id: uuid.UUID | None) -> dict[str, Any]:
        accounts = self.accounts
        source = accounts.get(op.source)
        destination = accounts.get(op.destination)
        if (
            source is None
            or destination is None
            or source is destination
            or source.status != "active"
            or destination.status != "active"
        ):  # the uncommon cases, checked in the order their rejections take precedence
            if op.source == op.destination:
                raise Rejected("same_account")
            source = self._account(op.source)
            destination = self._account(op.destination)
        if not source.asset == destination.asset == op.asset:
            raise Rejected(
                "asset_mismatch",
                f"transfer is in {op.asset}; source holds {source.asset}, "
                f"destination holds {destination.asset}",
            )
        amount = op.amount
        if op.pending:
            self._check_debit(source, 0, amount)
            self._check_credit(destination, 0, amount)
            expires_at = None
            if op.timeout_seconds:
                expires_at = self.now + timedelta(seconds=op.timeout_seconds)
            return self._record(
                "hold", "pending", op.kind, source, destination, amount, 0, amount,
                op.reference, op.metadata, link_id, expires_at,
            )  # fmt: skip
        self._check_debit(source, amount, 0)
        self._check_credit(destination, amount, 0)
        return self._record(
            "transfer", "posted", op.kind, source, destination, amount, amount, 0,
            op.reference, op.metadata, link_id,
        )  # fmt: skip

    def _hold(self, pending_id: uuid.UUID) -> TransferState:
        hold = self._find_transfer(pending_id)
        if hold is None:
            raise Rejected("transfer_not_found", f"transfer {pending_id} not found")
        if hold.action != "hold":
            raise Rejected("transfer_not_pending")
        if hold.status != "pending":
            raise Rejected(
                "pending_transfer_already_resolved", f"pending transfer is already {hold.status}"
            )
        return hold

    def _post(self, op: PostOp, link_id: uuid.UUID | None) -> dict[str, Any]:
        hold = self._hold(op.pending_id)
        if hold.expires_at is not None and self.now >= hold.expires_at:
            raise Rejected("pending_transfer_expired")
        amount = hold.amount if op.amount is None else op.amount
        if amount > hold.amount:
            raise Rejected(
                "amount_exceeds_pending", f"{amount} is more than the {hold.amount} held"
            )
        source = self._account(hold.source_id)
        destination = self._account(hold.destination_id)
        # Posting releases the whole hold and posts the (possibly smaller) final amount, so
        # the balance rule that held for the hold still holds: no new funds check needed.
        self._check_debit(source, amount, -hold.amount)
        self._check_credit(destination, amount, -hold.amount)
        self._touch_transfer(hold)
        hold.status, hold.settled_amount = "posted", amount
        return self._record(
            "post", "posted", "post", source, destination, amount, amount, -hold.amount,
            None, op.metadata, link_id, None, hold.id,
        )  # fmt: skip

    def _release(
        self,
        pending_id: uuid.UUID,
        action: str,
        status: str,
        metadata: dict[str, Any],
        link_id: uuid.UUID | None,
    ) -> dict[str, Any]:
        hold = self._hold(pending_id)
        # Releasing a hold only gives funds back, so it is allowed on frozen accounts too.
        source = self._account(hold.source_id, False)
        destination = self._account(hold.destination_id, False)
        self._touch_transfer(hold)
        hold.status = status
        return self._record(
            action, "posted", action, source, destination, hold.amount, 0, -hold.amount,
            None, metadata, link_id, None, hold.id,
        )  # fmt: skip

    def _reverse(self, op: ReverseOp, link_id: uuid.UUID | None) -> dict[str, Any]:
        original = self._find_transfer(op.transfer_id)
        if original is None:
            raise Rejected("transfer_not_found", f"transfer {op.transfer_id} not found")
        if original.action not in ("transfer", "post", "reverse") or original.status != "posted":
            raise Rejected("transfer_not_reversible")
        remaining = original.amount - original.settled_amount
        amount = remaining if op.amount is None else op.amount
        if amount > remaining or remaining == 0:
            raise Rejected(
                "amount_exceeds_reversible", f"{remaining} of {original.amount} is left to reverse"
            )
        # Money goes back the way it came: the original destination pays the original source.
        source = self._account(original.destination_id)
        destination = self._account(original.source_id)
        self._check_debit(source, amount, 0)
        self._check_credit(destination, amount, 0)
        self._touch_transfer(original)
        original.settled_amount += amount
        return self._record(
            "reverse", "posted", op.kind, source, destination, amount, amount, 0,
            op.reference, op.metadata, link_id, None, None, original.id,
        )  # fmt: skip

    # -- rules ------------------------------------------------------------------------------

    @staticmethod
    def _check_debit(account: AccountState, posted: int, pending: int) -> None:
        debits_posted = account.debits_posted + posted
        debits_pending = account.debits_pending + pending
        if debits_posted > MAX_AMOUNT or debits_pending > MAX_AMOUNT:
            raise Rejected("overflow")
        if not account.allow_negative and debits_posted + debits_pending > account.credits_posted:
            available = account.credits_posted - account.debits_posted - account.debits_pending
            raise Rejected(
                "insufficient_funds", f"available {available}, needed {posted + max(pending, 0)}"
            )

    @staticmethod
    def _check_credit(account: AccountState, posted: int, pending: int) -> None:
        if (
            account.credits_posted + posted > MAX_AMOUNT
            or account.credits_pending + pending > MAX_AMOUNT
        ):
            raise Rejected("overflow")

    # -- output -----------------------------------------------------------------------------

    # Positional arguments and flat code below: this runs once per transfer, thousands of
    # times per batch, and keyword passing and helper calls were a measurable share of it.

    def _record(
        self,
        action: str,
        status: str,
        kind: str,
        source: AccountState,
        destination: AccountState,
        amount: int,
        posted: int,
        pending: int,
        reference: str | None,
        metadata: dict[str, Any],
        link_id: uuid.UUID | None,
        expires_at: datetime | None = None,
        pending_id: uuid.UUID | None = None,
        reverses_id: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        made = uuid_utils.uuid7()  # as kit.ids.new_id, but never needed as a uuid.UUID here
        transfer_hex, transfer_text = made.hex, str(made)
        first_seq = self.seq + 1
        if self._saving:
            self._touch_account(source)
            self._touch_account(destination)
        if not source.dirty:
            source.dirty = True
            self.changed_accounts.append(source)
        if not destination.dirty:
            destination.dirty = True
            self.changed_accounts.append(destination)
        transfer_key = transfer_hex.encode()
        source.debits_posted += posted
        source.debits_pending += pending
        self._entry(transfer_hex, transfer_key, source, "D", b"D", posted, pending)
        destination.credits_posted += posted
        destination.credits_pending += pending
        self._entry(transfer_hex, transfer_key, destination, "C", b"C", posted, pending)
        asset = source.asset
        self.new_transfers.append(
            (transfer_hex, action, kind, status, source.hex, destination.hex, asset, amount, 0,
             None if pending_id is None else pending_id.hex,
             None if reverses_id is None else reverses_id.hex,
             None if link_id is None else link_id.hex, reference,
             json_text(metadata) if metadata else "{}",
             None if expires_at is None else self._render_time(expires_at), self._stamp,
             first_seq)
        )  # fmt: skip
        if action in ("transfer", "hold", "post", "reverse"):
            # Later operations in this batch may refer to it (e.g. reversing a fresh transfer).
            self.made[transfer_hex] = (
                action, status, source.id, destination.id, asset, amount, 0, expires_at,
            )  # fmt: skip
        return {
            "id": transfer_text,
            "action": action,
            "kind": kind,
            "status": status,
            "source": source.text,
            "destination": destination.text,
            "asset": asset,
            "amount": amount,
            "pending_id": None if pending_id is None else str(pending_id),
            "reverses_id": None if reverses_id is None else str(reverses_id),
            "link_id": None if link_id is None else str(link_id),
            "reference": reference,
            "metadata": metadata,
            "expires_at": None if expires_at is None else iso(expires_at),
            "created_at": self._now_text,
        }

    def _entry(
        self,
        transfer_hex: str,
        transfer_key: bytes,
        account: AccountState,
        side: str,
        side_key: bytes,
        posted: int,
        pending: int,
    ) -> None:
        self.seq = seq = self.seq + 1
        dp, cp = account.debits_posted, account.credits_posted
        dpend, cpend = account.debits_pending, account.credits_pending
        self.hash = digest = encoded_entry_digest(
            self.hash, seq, transfer_key, account.key, side_key, posted, pending, dp, cp, dpend,
            cpend, self._micros,
        )  # fmt: skip
        self.new_entries.append(
            (seq, transfer_hex, account.hex, side, posted, pending, dp, cp, dpend, cpend,
             self._stamp, digest)
        )  # fmt: skip
