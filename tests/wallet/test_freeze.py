"""Freezes: only risk and compliance staff, a reason from a fixed list and a note, the
holder told at once with what to do, appeals, logged unfreezing, no silent path."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.identity.delivery import FakeEmailSender, FakeSmsProvider
from anxin.identity.outbox import DeliveryReport
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger import repository
from anxin.models import Freeze, FreezeAppeal, FundingSource
from anxin.models.insider import AccessLogEntry, AuditEntry
from anxin.wallet import accounts
from anxin.wallet.funding import SimulatedBankRail
from tests.identity.conftest import Person
from tests.wallet.conftest import Api
from tests.wallet.test_topup import link, settle, topup, verify, wallet
from tests.wallet.test_withdraw import ACCOUNT, withdraw


def freeze_body(scope: str = "outgoing", **kw: Any) -> dict[str, Any]:
    return {"scope": scope, "reason_code": "suspected_fraud",
            "note": "three cards in an hour", **kw}  # fmt: skip


def ledger_status(container: Container, person: Person) -> str:
    with UnitOfWork(container.database) as uow:
        account = accounts.find_wallet_account(uow.session, uuid.UUID(person.user_id), "CNY")
        assert account is not None
        return repository.get_account(uow.session, account.id).status


def test_outgoing_freeze_blocks_money_out_but_not_in(
    client: TestClient, holder: Callable[..., Person], api_for: Callable[[Person], Api],
    ready_staff: Callable[[str], Person], give: Callable[..., None], rail: SimulatedBankRail,
    container: Container, deliver: Callable[[], DeliveryReport], sms: FakeSmsProvider,
) -> None:  # fmt: skip
    risk = ready_staff("risk_officer")
    api = api_for(holder())
    give(api.person, 100_00)
    account = link(api, ACCOUNT, "bank_account")
    made = client.post(f"/v1/staff/holders/{api.person.user_id}/freezes",
                       json=freeze_body(), headers=risk.headers)  # fmt: skip
    assert made.status_code == 201, made.text
    frozen = made.json()
    assert frozen["note"] == "three cards in an hour" and frozen["status"] == "active"
    with UnitOfWork(container.database) as uow:  # the note is about the holder: encrypted
        row = uow.session.scalars(select(Freeze)).one()
        assert b"three cards" not in row.note_enc
    # The holder is told at once, in the app and by SMS, in plain words with a deadline.
    notice = api.call("GET", "/v1/me/notifications").json()["data"][0]
    assert notice["kind"] == "wallet.frozen"
    assert frozen["review_by"][:10] in notice["body"]
    deliver()
    sent = sms.last_to(api.person.identifier)
    assert sent is not None and "冻结" in sent.body
    mine = api.call("GET", "/v1/me/freezes").json()["data"]
    assert mine[0]["explanation"] and mine[0]["next_steps"] and mine[0]["review_by"]
    assert "note" not in mine[0]  # staff notes stay internal
    shown = api.call("GET", "/v1/me/wallet").json()["freezes"]
    assert [f["id"] for f in shown] == [frozen["id"]]
    # Money out is refused, with the explanation.
    out = withdraw(api, account, 10_00, "w-frozen", stepped=False)
    assert (out.status_code, out.json()["code"]) == (403, "wallet_frozen")
    assert out.json()["review_by"] and out.json()["scope"] == "outgoing"
    # Money in still arrives.
    card = link(api, "4111111111111111")
    assert topup(api, card, 5_00, "t-in").status_code == 201
    settle(container, rail)
    assert wallet(api)["balance"]["available"] == 105_00
    assert ledger_status(container, api.person) == "active"


def test_full_freeze_stops_everything_in_the_ledger_and_lifting_credits_what_arrived(
    client: TestClient, holder: Callable[..., Person], api_for: Callable[[Person], Api],
    ready_staff: Callable[[str], Person], give: Callable[..., None], rail: SimulatedBankRail,
    container: Container,
) -> None:  # fmt: skip
    compliance = ready_staff("compliance_officer")
    api = api_for(holder())
    give(api.person, 50_00)
    card = link(api, "4111111111111111")
    pending = topup(api, card, 20_00, "t-before").json()  # sent before the freeze
    made = client.post(f"/v1/staff/holders/{api.person.user_id}/freezes",
                       json=freeze_body("all", reason_code="aml_review"),
                       headers=compliance.headers).json()  # fmt: skip
    assert ledger_status(container, api.person) == "frozen"
    refused = topup(api, card, 1_00, "t-during")
    assert (refused.status_code, refused.json()["code"]) == (403, "wallet_frozen")
    # The bank settles the earlier top-up during the freeze: held, not lost, not credited.
    settle(container, rail)
    assert api.call("GET", f"/v1/me/topups/{pending['id']}").json()["status"] == "blocked"
    assert wallet(api)["balance"] == {"posted": 50_00, "pending": 20_00, "available": 50_00}
    kinds = [n["kind"] for n in api.call("GET", "/v1/me/notifications").json()["data"]]
    assert kinds[0] == "topup.on_hold"
    lifted = client.post(f"/v1/staff/holders/{api.person.user_id}/freezes/{made['id']}/lift",
                         json={"note": "funds explained"}, headers=compliance.headers)  # fmt: skip
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["status"] == "lifted" and lifted.json()["lift_note"] == "funds explained"
    assert ledger_status(container, api.person) == "active"
    assert api.call("GET", f"/v1/me/topups/{pending['id']}").json()["status"] == "completed"
    assert wallet(api)["balance"]["available"] == 70_00
    kinds = [n["kind"] for n in api.call("GET", "/v1/me/notifications").json()["data"]]
    assert kinds[:2] == ["topup.completed", "wallet.unfrozen"]
    again = client.post(f"/v1/staff/holders/{api.person.user_id}/freezes/{made['id']}/lift",
                        json={"note": "again"}, headers=compliance.headers)  # fmt: skip
    assert (again.status_code, again.json()["code"]) == (409, "freeze_not_active")
    verify(container)


def test_only_risk_and_compliance_freeze_and_only_with_a_listed_reason_and_a_note(
    client: TestClient, holder: Callable[..., Person], ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    person = holder()
    path = f"/v1/staff/holders/{person.user_id}/freezes"
    for role in ("agent", "senior_agent", "admin"):
        denied = client.post(path, json=freeze_body(), headers=ready_staff(role).headers)
        assert (denied.status_code, denied.json()["code"]) == (403, "missing_permission")
    risk = ready_staff("risk_officer")
    unknown = client.post(path, json=freeze_body(reason_code="dislike"), headers=risk.headers)
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_reason_code")
    no_note = client.post(path, json=freeze_body(note="   "), headers=risk.headers)
    assert (no_note.status_code, no_note.json()["code"]) == (422, "note_required")
    missing = client.post(path, json={"scope": "all", "reason_code": "aml_review"},
                          headers=risk.headers)  # fmt: skip
    assert missing.status_code == 422
    as_holder = client.post(path, json=freeze_body(), headers=person.headers)
    assert as_holder.json()["code"] == "wrong_account_kind"
    nobody = client.post(f"/v1/staff/holders/{uuid.uuid4()}/freezes", json=freeze_body(),
                         headers=risk.headers)  # fmt: skip
    assert (nobody.status_code, nobody.json()["code"]) == (404, "holder_not_found")
    # Nothing was frozen by any refused attempt: no silent or partial freeze.
    assert client.get(path, headers=risk.headers).json()["data"] == []


def test_appeal_is_recorded_encrypted_and_staff_can_read_it(
    client: TestClient, holder: Callable[..., Person], api_for: Callable[[Person], Api],
    ready_staff: Callable[[str], Person], container: Container, mailbox: FakeEmailSender,
) -> None:  # fmt: skip
    risk = ready_staff("risk_officer")
    api = api_for(holder())
    other = api_for(holder())
    made = client.post(f"/v1/staff/holders/{api.person.user_id}/freezes",
                       json=freeze_body(), headers=risk.headers).json()  # fmt: skip
    message = "那是我自己的三张卡"
    theirs = other.call("POST", f"/v1/me/freezes/{made['id']}/appeals", json={"message": "x"})
    assert (theirs.status_code, theirs.json()["code"]) == (404, "freeze_not_found")
    appealed = api.call("POST", f"/v1/me/freezes/{made['id']}/appeals",
                        json={"message": message})  # fmt: skip
    assert appealed.status_code == 201, appealed.text
    assert appealed.json()["status"] == "open"
    assert appealed.json()["care_ticket_id"] is not None  # a care ticket carries the appeal
    kinds = [n["kind"] for n in api.call("GET", "/v1/me/notifications").json()["data"]]
    assert kinds[0] == "wallet.appeal_received"
    with UnitOfWork(container.database) as uow:
        row = uow.session.scalars(select(FreezeAppeal)).one()
        assert message.encode() not in row.message_enc
    listed = client.get(f"/v1/staff/holders/{api.person.user_id}/freezes",
                        headers=risk.headers).json()["data"]  # fmt: skip
    appeal_id = listed[0]["appeals"][0]["id"]
    assert listed[0]["note"] == "three cards in an hour"
    with UnitOfWork(container.database) as uow:
        actions = uow.session.scalars(
            select(AccessLogEntry.action).where(
                AccessLogEntry.holder_id == uuid.UUID(api.person.user_id)
            )
        ).all()
        assert sorted(actions) == ["freeze", "view"]  # reading the notes is logged too
    read = client.get(
        f"/v1/staff/holders/{api.person.user_id}/freezes/{made['id']}/appeals/{appeal_id}",
        headers=risk.headers,
    )
    assert read.status_code == 200 and read.json()["message"] == message
    client.post(f"/v1/staff/holders/{api.person.user_id}/freezes/{made['id']}/lift",
                json={"note": "ok"}, headers=risk.headers)  # fmt: skip
    closed = client.get(f"/v1/staff/holders/{api.person.user_id}/freezes",
                        headers=risk.headers).json()["data"][0]["appeals"][0]  # fmt: skip
    assert closed["status"] == "closed"
    late = api.call("POST", f"/v1/me/freezes/{made['id']}/appeals", json={"message": "hi"})
    assert (late.status_code, late.json()["code"]) == (409, "freeze_not_active")


def test_freezing_and_unfreezing_are_in_the_audit_log_and_the_holders_access_log(
    client: TestClient, holder: Callable[..., Person], ready_staff: Callable[[str], Person],
    container: Container,
) -> None:  # fmt: skip
    risk = ready_staff("risk_officer")
    person = holder()
    made = client.post(f"/v1/staff/holders/{person.user_id}/freezes", json=freeze_body(),
                       headers=risk.headers).json()  # fmt: skip
    client.post(f"/v1/staff/holders/{person.user_id}/freezes/{made['id']}/lift",
                json={"note": "ok"}, headers=risk.headers)  # fmt: skip
    with UnitOfWork(container.database) as uow:
        logged = uow.session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.holder_id == uuid.UUID(person.user_id))
            .order_by(AccessLogEntry.at, AccessLogEntry.id)
        ).all()  # fmt: skip
        assert [(e.action, e.staff_role) for e in logged] == [
            ("freeze", "risk_officer"),
            ("unfreeze", "risk_officer"),
        ]
        events = uow.session.scalars(
            select(AuditEntry.event).where(AuditEntry.subject_id == uuid.UUID(person.user_id))
        ).all()
        assert {"wallet.freeze", "wallet.unfreeze"} <= set(events)


def test_card_numbers_notes_and_appeals_are_nowhere_in_plaintext(
    client: TestClient, holder: Callable[..., Person], api_for: Callable[[Person], Api],
    ready_staff: Callable[[str], Person], rail: SimulatedBankRail, container: Container,
    deliver: Callable[[], DeliveryReport],
) -> None:  # fmt: skip
    from sqlalchemy import text

    from anxin.models import Base

    risk = ready_staff("risk_officer")
    api = api_for(holder())
    card = link(api, "4000 0566 5566 5556")
    link(api, "6222 0299 8877 6655", "bank_account")
    topup(api, card, 10_00, "t")
    settle(container, rail)
    made = client.post(
        f"/v1/staff/holders/{api.person.user_id}/freezes",
        headers=risk.headers,
        json=freeze_body(note="saw 张三明 use card 4000056655665556"),
    ).json()
    api.call("POST", f"/v1/me/freezes/{made['id']}/appeals",
             json={"message": "my friend 李四 lent me card 4000056655665556"})  # fmt: skip
    client.post(
        f"/v1/staff/holders/{api.person.user_id}/freezes/{made['id']}/lift",
        json={"note": "张三明 proved the card is theirs"},
        headers=risk.headers,
    )
    deliver()
    needles = [b"4000056655665556", b"6222029988776655", "张三明".encode(), "李四".encode()]
    found = []
    with container.database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(text(f'SELECT * FROM "{table.name}"')):
                cells = b"\x00".join(
                    bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row
                )
                found += [f"{n!r} in {table.name}" for n in needles if n in cells]
    assert found == []
    # The scan does see the data: the masked forms are there.
    with UnitOfWork(container.database) as uow:
        assert {s.masked for s in uow.session.scalars(select(FundingSource))} == {
            "****5556",
            "****6655",
        }
