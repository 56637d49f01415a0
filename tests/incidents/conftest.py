"""Fixtures for incident tests: the care-desk fixtures (an app on a manual clock, holders
and staff through the API, a vault and a unit of work for service tests, a ticket maker),
a burst of complaints, and the app's detector set to alarm without a day of warm-up.

The remediation tests may append fixtures here (small additions at the end)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from anxin.api.deps import Container
from anxin.collective import DetectorSettings
from anxin.incidents.detection import DetectionRuntime, TickReport
from anxin.models import User
from anxin.models.care import Ticket
from anxin.privacy.vault import Vault
from anxin.settings import Environment, Settings
from tests.care import conftest as care
from tests.identity.conftest import PASSWORD, Person


@pytest.fixture
def settings(db_url: str, tmp_path: Path, key_file: Path) -> Settings:
    # The stories here take simulated hours (every authenticator code moves the clock):
    # sessions must not expire in the middle of them.
    return Settings(
        env=Environment.TEST, home=tmp_path / "home", database_url=db_url, key_file=key_file,
        delivery_interval_seconds=0, holder_idle_timeout_seconds=IDLE,
        staff_idle_timeout_seconds=IDLE,
    )  # fmt: skip


clock = care.clock
client = care.client
container = care.container
runtime = care.runtime
sms = care.sms
mailbox = care.mailbox
deliver = care.deliver
last_code = care.last_code
holder = care.holder
make_staff = care.make_staff
totp_code = care.totp_code
enrol_totp = care.enrol_totp
ready_staff = care.ready_staff
vault = care.vault
uow = care.uow
make_user = care.make_user
fund = care.fund
new_ticket = care.new_ticket
NOW = care.NOW
__all__ = ["NOW", "PASSWORD", "Person", "new_ticket"]

IDLE = 8 * 3600
BURST_TEXT = "Shop Alpha charged me twice for one order, please refund"
# Alarms from the first complaint on (production waits a day to learn the usual rates).
TEST_DETECTOR = DetectorSettings(warmup_hours=0)


def burst(
    session: Session, vault: Vault, holders: list[User], *, start: datetime = NOW,
    text: str = BURST_TEXT, minutes: float = 1.0,
) -> list[Ticket]:  # fmt: skip
    """One complaint per holder, ``minutes`` apart, all saying the same thing."""
    return [
        new_ticket(session, vault, holder=h, now=start + timedelta(minutes=i * minutes),
                   subject="Charged twice", body=text, category="unauthorized_debit")
        for i, h in enumerate(holders)
    ]  # fmt: skip


@pytest.fixture
def detection(client: TestClient, container: Container) -> Callable[[], TickReport]:
    """One pass of the app's own detector (set to TEST_DETECTOR), at the app clock's now;
    the server's background passes are stopped so that the test decides when they run."""
    state = client.app.state  # type: ignore[attr-defined]
    state.incident_detection_worker.stop()
    app_runtime: DetectionRuntime = state.incident_detection
    app_runtime.configure(TEST_DETECTOR)

    def run() -> TickReport:
        return app_runtime.tick(container.database, container.keys.vault(), container.clock.now())

    return run


@pytest.fixture
def manager(ready_staff: Callable[[str], Person]) -> Person:
    return ready_staff("senior_agent")
