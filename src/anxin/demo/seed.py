"""Seed demo data once. Running it again finds the demo and changes nothing.

Everything goes through the same services and ledger batch path as real traffic, in one
unit of work: the demo is either all there or not there at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from anxin.apikeys.service import create_key
from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.assets import create_asset
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, TransferOp
from anxin.ledger.service import create_account
from anxin.models import Account, Asset
from anxin.wallet.demo import seed_fees_and_points

DEMO_ACCOUNTS = [
    # owner_ref, label, asset, allow_negative
    ("demo:bank", "Bank settlement (CNY)", "CNY", True),
    ("demo:fees", "Fee revenue (CNY)", "CNY", False),
    ("demo:rewards", "Reward points issued", "POINTS", True),
    ("demo:zhang", "张明 wallet (CNY)", "CNY", False),
    ("demo:zhang-points", "张明 points", "POINTS", False),
    ("demo:alice", "Alice Chen wallet (CNY)", "CNY", False),
    ("demo:teahouse", "Happy Tea merchant (CNY)", "CNY", False),
]


@dataclass(frozen=True)
class DemoSeed:
    created: bool
    accounts: dict[str, str]  # owner_ref -> account id
    api_key: str | None  # only when created now


def seed_demo(database: Database, clock: Clock, key_file: Path) -> DemoSeed:
    with UnitOfWork(database) as uow:
        session = uow.session
        existing = {
            str(a.owner_ref): str(a.id)
            for a in session.scalars(select(Account).where(Account.owner_ref.like("demo:%")))
        }
        if existing:
            return DemoSeed(created=False, accounts=existing, api_key=None)
        now = clock.now()
        if session.get(Asset, "POINTS") is None:
            create_asset(session, code="POINTS", name="Reward points", scale=0, now=now)
        ids = {
            ref: create_account(
                session, asset=asset, allow_negative=negative, owner_ref=ref, label=label, now=now
            ).id
            for ref, label, asset, negative in DEMO_ACCOUNTS
        }

        def move(
            src: str, dst: str, amount: int, asset: str, kind: str, **kw: object
        ) -> TransferOp:
            return TransferOp(ids[src], ids[dst], amount, asset, kind=kind, **kw)  # type: ignore[arg-type]

        order = "demo-order-1"
        commands = [
            Command((move("demo:bank", "demo:zhang", 500_00, "CNY", "topup"),)),
            Command((move("demo:bank", "demo:alice", 200_00, "CNY", "topup"),)),
            # A payment with its fee, linked: both or neither.
            Command((
                move("demo:zhang", "demo:teahouse", 38_00, "CNY", "payment", reference=order),
                move("demo:zhang", "demo:fees", 19, "CNY", "fee", reference=order),
            )),
            Command((move("demo:rewards", "demo:zhang-points", 38, "POINTS", "points_earned"),)),
            Command((move("demo:zhang", "demo:alice", 66_00, "CNY", "p2p",
                          metadata={"note": "午饭"}),)),
            # A hold, as for a withdrawal in progress.
            Command((move("demo:alice", "demo:bank", 50_00, "CNY", "withdrawal", pending=True,
                          timeout_seconds=7 * 86400),)),
        ]  # fmt: skip
        results = apply_batch(session.connection(), commands, now)
        if not all(r.ok for r in results):
            raise RuntimeError(f"demo seed failed: {results}")
        seed_fees_and_points(session, now)
        created = create_key(session, name="demo", scopes=["ledger"], now=now)
        uow.commit()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(created.plaintext + "\n")
    key_file.chmod(0o600)
    return DemoSeed(
        created=True, accounts={k: str(v) for k, v in ids.items()}, api_key=created.plaintext
    )
