"""Disputes in the console, without a browser (SQLite and PostgreSQL): only
``care:disputes`` (others get the 403 page), open disputes soonest due first, upholding and
rejecting move the money exactly once (a double submit too; the ledger verifies), a second
decision is refused, CSRF on the decision form."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.care import disputes
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, TransferOp
from anxin.ledger.service import balance_of
from anxin.ledger.verify import verify_ledger
from anxin.models import User
from anxin.models.care import Dispute, SlaClock
from anxin.wallet import accounts
from tests.care import conftest as care
from tests.identity.conftest import Person
from tests.web.test_care_pages import Tab, tab, token

__all__ = ["tab"]


def disputed(container: Container, person: Person, amount: int, shop: str = "Tea*") -> str:
    """``person`` has 1,000.00, pays ``amount`` to a shop and disputes it (provisional credit
    under the default policy, up to 500.00)."""
    now = container.clock.now()
    with UnitOfWork(container.database) as uow:
        user = uow.session.get(User, uuid.UUID(person.user_id))
        assert user is not None
        care.fund(uow.session, user.id, 1_000_00, now)
        wallet = accounts.wallet_account(uow.session, user.id, "CNY", now)
        till = accounts.system_account(uow.session, "merchant_settlement:shop", "CNY", now)
        op = TransferOp(wallet.id, till.id, amount, "CNY", kind="payment",
                        reference=f"pay-{uuid.uuid4()}",
                        metadata={"counterparty": shop, "category": "shopping"})  # fmt: skip
        [result] = apply_batch(uow.session.connection(), [Command((op,))], now)
        assert result.ok
        debit = uuid.UUID(result.outcomes[0]["transfer"]["id"])
        made = disputes.open_dispute(uow.session, container.keys.vault(), user,
                                     transfer_id=debit, reason="not_me",
                                     note="I was asleep", now=now)  # fmt: skip
        uow.commit()
        return str(made.id)


def balance(container: Container, person: Person) -> int:
    with UnitOfWork(container.database) as uow:
        account = accounts.find_wallet_account(uow.session, uuid.UUID(person.user_id), "CNY")
        assert account is not None
        return balance_of(account).posted


def verify(container: Container) -> None:
    with container.database.connect(write=False) as connection:
        report = verify_ledger(connection)
    assert report.ok, report.problems


def decide(web: TestClient, dispute_id: str, outcome: str, note: str,
           key: str | None = None) -> object:  # fmt: skip
    """Send the decision form as shown (``key``: the one an earlier showing carried)."""
    if key is None:
        page = web.get(f"/console/disputes/{dispute_id}").text
        found = re.search(r'name="idempotency_key" value="([^"]+)"', page)
        assert found is not None
        key = found.group(1)
    return web.post(f"/console/disputes/{dispute_id}/decision", data={
        "outcome": outcome, "note": note, "idempotency_key": key,
        "csrf_token": token(web, f"/console/disputes/{dispute_id}"),
    }, follow_redirects=False)  # fmt: skip


def test_only_care_disputes_sees_disputes(
    holder: Callable[..., Person], tab: Tab, agent: Person, ready_staff: Callable[[str], Person],
    container: Container,
) -> None:  # fmt: skip
    dispute_id = disputed(container, holder(), 50_00)
    for who in (agent, ready_staff("compliance_officer")):
        web = tab(who)
        for path in ("/console/disputes", f"/console/disputes/{dispute_id}"):
            assert web.get(path).status_code == 403
        token(web, "/console/sign-in")
        refused = web.post(f"/console/disputes/{dispute_id}/decision", data={
            "outcome": "upheld", "note": "x", "idempotency_key": "k",
            "csrf_token": token(web, "/console/sign-in"),
        })  # fmt: skip
        assert refused.status_code == 403
    english = tab(agent)
    english.headers["Accept-Language"] = "en"
    assert "the agent role lacks &#39;care:disputes&#39;" in english.get("/console/disputes").text
    risk = tab(ready_staff("risk_officer"))
    assert risk.get("/console/disputes").status_code == 200
    assert risk.get(f"/console/disputes/{uuid.uuid4()}").status_code == 404
    assert risk.get("/console/disputes/not-an-id").status_code == 404


def test_open_disputes_soonest_due_first(
    holder: Callable[..., Person], tab: Tab, senior: Person, container: Container
) -> None:
    first = disputed(container, holder(name="王小红"), 40_00, shop="Book*")
    second = disputed(container, holder(name="李小明"), 60_00, shop="Tea*")
    web = tab(senior)
    web.headers["Accept-Language"] = "en"
    page = web.get("/console/disputes").text
    assert page.index(first) < page.index(second)  # same SLA: filed first, due first
    # The second's ticket becomes due sooner: it comes first.
    with UnitOfWork(container.database) as uow:
        ticket_id = uow.session.get(Dispute, uuid.UUID(second)).ticket_id  # type: ignore[union-attr]
        for clock_row in uow.session.scalars(
            select(SlaClock).where(SlaClock.ticket_id == ticket_id, SlaClock.status == "running")
        ):  # fmt: skip
            clock_row.due_at = container.clock.now() + timedelta(minutes=20)
        uow.commit()
    page = web.get("/console/disputes").text
    assert page.index(second) < page.index(first)
    row = re.search(rf'<tr class="(sla-\w+)">(?:(?!</tr>).)*{second}.*?</tr>', page, re.S)
    assert row is not None and row.group(1) == "sla-near"
    assert "李*明" in row.group(0) and "李小明" not in page
    assert "60.00 CNY" in row.group(0) and "Tea*" in row.group(0) and "given" in row.group(0)
    assert "AX-" in row.group(0)


def test_uphold_moves_money_once_and_a_second_decision_is_refused(
    holder: Callable[..., Person], tab: Tab, senior: Person, container: Container
) -> None:
    person = holder()
    dispute_id = disputed(container, person, 120_00)
    assert balance(container, person) == 1_000_00  # paid 120.00, credited 120.00 at once
    web = tab(senior)
    web.headers["Accept-Language"] = "en"
    page = web.get(f"/console/disputes/{dispute_id}").text
    assert "I was asleep" in page and "Tea*" in page and "-120.00 CNY" in page
    assert "given" in page
    empty = decide(web, dispute_id, "upheld", "  ")
    assert empty.status_code == 422 and 'role="alert"' in empty.text  # type: ignore[attr-defined]
    key = str(uuid.uuid4())
    done = decide(web, dispute_id, "upheld", "card reported stolen the day before", key)
    assert done.status_code == 303  # type: ignore[attr-defined]
    # The same form sent again (a double submit): nothing more moves.
    again = decide(web, dispute_id, "upheld", "card reported stolen the day before", key)
    assert again.status_code == 303  # type: ignore[attr-defined]
    after = web.get(done.headers["location"]).text  # type: ignore[attr-defined]
    assert "The decision is recorded and the holder was told." in after
    assert "The provisional credit stays with the holder for good." in after
    assert 'action="/console/disputes/' not in after  # no second form
    assert balance(container, person) == 1_000_00
    second = decide_anyway(web, dispute_id, "rejected", "changed my mind")
    assert second.status_code == 409  # type: ignore[attr-defined]
    assert "already upheld" in second.text  # type: ignore[attr-defined]
    assert balance(container, person) == 1_000_00
    verify(container)


def decide_anyway(web: TestClient, dispute_id: str, outcome: str, note: str) -> object:
    """Post a decision without the form (it is gone once decided)."""
    return web.post(f"/console/disputes/{dispute_id}/decision", data={
        "outcome": outcome, "note": note, "idempotency_key": str(uuid.uuid4()),
        "csrf_token": token(web, "/console/disputes"),
    }, follow_redirects=False)  # fmt: skip


def test_reject_reverses_the_provisional_credit_once(
    holder: Callable[..., Person], tab: Tab, ready_staff: Callable[[str], Person],
    container: Container,
) -> None:  # fmt: skip
    person = holder()
    dispute_id = disputed(container, person, 80_00)
    web = tab(ready_staff("risk_officer"))
    web.headers["Accept-Language"] = "en"
    done = decide(web, dispute_id, "rejected", "the payment was made with the holder's passkey")
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert balance(container, person) == 920_00
    page = web.get(f"/console/disputes/{dispute_id}").text
    assert "Provisional credit reversed: 80.00 CNY" in page
    again = decide_anyway(web, dispute_id, "rejected", "once more")
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert balance(container, person) == 920_00
    verify(container)
    # The holder hears of it on their ticket; the list shows it as decided.
    listing = web.get("/console/disputes").text
    assert "No open disputes." in listing and "Decided recently" in listing


def test_the_decision_form_needs_its_token(
    holder: Callable[..., Person], tab: Tab, senior: Person, container: Container
) -> None:
    person = holder()
    dispute_id = disputed(container, person, 30_00)
    web = tab(senior)
    token(web, "/console/disputes")
    for data in ({}, {"csrf_token": "0" * 64}):
        answer = web.post(f"/console/disputes/{dispute_id}/decision",
                          data={"outcome": "upheld", "note": "n", "idempotency_key": "k",
                                **data})  # fmt: skip
        assert answer.status_code == 403
    with UnitOfWork(container.database) as uow:
        assert uow.session.get(Dispute, uuid.UUID(dispute_id)).status == "investigating"  # type: ignore[union-attr]
