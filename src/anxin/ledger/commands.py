"""What the ledger engine is asked to do.

A ``Command`` is one client request: one or more operations that are either linked
(all-or-none) or independent, plus an optional idempotency claim. The engine applies many
commands in one database transaction (group commit) and answers each with a
``CommandResult`` made of plain JSON-able outcomes, which is also what a replay returns.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

MAX_AMOUNT = 2**63 - 1


@dataclass(frozen=True, slots=True)
class TransferOp:
    source: uuid.UUID
    destination: uuid.UUID
    amount: int
    asset: str
    kind: str = "transfer"
    reference: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    pending: bool = False
    timeout_seconds: int | None = None  # for a pending transfer: expire after this long


@dataclass(frozen=True, slots=True)
class PostOp:
    pending_id: uuid.UUID
    amount: int | None = None  # None posts the full amount held
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VoidOp:
    pending_id: uuid.UUID
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExpireOp:
    """Issued by the engine's sweeper for a hold past its deadline."""

    pending_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class ReverseOp:
    transfer_id: uuid.UUID
    amount: int | None = None  # None reverses everything not yet reversed
    kind: str = "reversal"
    reference: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


Operation = TransferOp | PostOp | VoidOp | ExpireOp | ReverseOp


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    scope: str  # who owns the key, e.g. an API key id: keys never collide across clients
    key: str
    fingerprint: str  # hash of the request; the same key with another body is refused


@dataclass(frozen=True, slots=True)
class Command:
    operations: tuple[Operation, ...]
    linked: bool = True
    idempotency: IdempotencyClaim | None = None


@dataclass(frozen=True, slots=True)
class CommandResult:
    """Per operation, either ``{"transfer": {...}}`` or ``{"error": code, "detail": ...}``."""

    outcomes: list[dict[str, Any]]
    replayed: bool = False
    key_reused: bool = False

    @property
    def ok(self) -> bool:
        return not self.key_reused and all("transfer" in o for o in self.outcomes)

    def to_json(self) -> dict[str, Any]:
        return {"outcomes": self.outcomes}

    @classmethod
    def from_json(cls, data: dict[str, Any], *, replayed: bool) -> CommandResult:
        return cls(outcomes=list(data["outcomes"]), replayed=replayed)
