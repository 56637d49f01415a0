"""The funding provider contract and the simulated bank: idempotent instructions,
asynchronous settlement, statements of settled records, and recovery when the provider
was down."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from anxin.api.deps import Container
from anxin.kit.db import Database
from anxin.settings import Environment, Settings
from anxin.wallet.funding import (
    FundingProvider,
    Instruction,
    ProviderStatus,
    SettlementRecord,
    SimulatedBankRail,
)
from anxin.wallet.settlement import sync_pending
from tests.identity.conftest import Person
from tests.wallet.conftest import START, Api
from tests.wallet.test_topup import link, topup, wallet


def instruction(reference: str, number: str = "4111111111111111", amount: int = 10_00
                ) -> Instruction:  # fmt: skip
    return Instruction(
        reference=reference, direction="collection", asset="CNY", amount=amount,
        instrument_kind="card", instrument_number=number, instrument_masked=f"****{number[-4:]}",
        customer_ref="someone",
    )  # fmt: skip


def test_the_simulated_bank(database: Database) -> None:
    bank: FundingProvider = SimulatedBankRail(database)
    assert isinstance(bank, SimulatedBankRail)
    first = bank.submit(instruction("o1"), START)
    assert first.status == "pending" and first.provider_ref.startswith("sim_")
    assert bank.submit(instruction("o1"), START) == first  # the same order, once
    declined = bank.submit(instruction("o2", "4000000000000002"), START)
    assert (declined.status, declined.reason) == ("failed", "declined by the bank")
    bank.submit(instruction("o3", "4000000000000077"), START)
    later = START + timedelta(hours=1)
    done = {s.reference: s.status for s in bank.settle_pending(later)}
    assert done == {"o1": "settled", "o3": "failed"}
    assert bank.status(first.provider_ref) == ProviderStatus(
        first.provider_ref, "o1", "settled", 10_00, None, later
    )
    assert bank.status("sim_nope") is None and bank.find("payout", "o1") is None
    records = bank.settlement_records(START, later + timedelta(seconds=1))
    # In settlement order: the declined one at once, the other two an hour later.
    assert (records[0].reference, records[0].status) == ("o2", "failed")
    assert sorted((r.reference, r.status) for r in records[1:]) == [
        ("o1", "settled"),
        ("o3", "failed"),
    ]
    assert all(isinstance(r, SettlementRecord) for r in records)
    assert bank.settlement_records(later + timedelta(seconds=1), later + timedelta(days=1)) == []
    with pytest.raises(LookupError):
        bank.settle("sim_nope", later)


class DownThenUp:
    """A provider that fails to take instructions until told it is back."""

    name = "simulated"

    def __init__(self, bank: SimulatedBankRail) -> None:
        self.bank, self.down = bank, True

    def submit(self, instruction: Instruction, now: datetime) -> ProviderStatus:
        if self.down:
            raise ConnectionError("provider unreachable")
        return self.bank.submit(instruction, now)

    def status(self, provider_ref: str) -> ProviderStatus | None:
        return self.bank.status(provider_ref)

    def find(self, direction: str, reference: str) -> ProviderStatus | None:
        return self.bank.find(direction, reference)  # type: ignore[arg-type]

    def settlement_records(self, since: datetime, until: datetime) -> list[SettlementRecord]:
        return self.bank.settlement_records(since, until)


def test_an_instruction_the_provider_missed_is_sent_again_by_the_job(
    client: TestClient, holder: Callable[..., Person], api_for: Callable[[Person], Api],
    container: Container,
) -> None:  # fmt: skip
    bank = SimulatedBankRail(container.database)
    flaky = DownThenUp(bank)
    client.app.state.funding_provider = flaky  # type: ignore[attr-defined]
    api = api_for(holder())
    order = topup(api, link(api), 10_00, "t-down").json()
    assert order["status"] == "pending"  # taken and held; the bank has not heard of it
    assert bank.find("collection", order["id"]) is None
    flaky.down = False
    report = sync_pending(container.database, flaky, container.keys.vault(), container.clock)
    assert (report.checked, report.submitted, report.still_pending) == (1, 1, 1)
    bank.settle_pending(container.clock.now())
    report = sync_pending(container.database, flaky, container.keys.vault(), container.clock)
    assert report.completed == 1
    assert wallet(api)["balance"]["available"] == 10_00


def test_production_refuses_the_simulated_bank(
    settings: Settings, holder: Callable[..., Person], api_for: Callable[[Person], Api],
    client: TestClient,
) -> None:  # fmt: skip
    api = api_for(holder())
    card = link(api)
    settings.env = Environment.PRODUCTION  # as if configured so; the provider is chosen late
    refused = topup(api, card, 1_00, "t-prod")
    assert (refused.status_code, refused.json()["code"]) == (503, "service_unavailable")
