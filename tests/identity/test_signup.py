"""Sign-up and contact verification: pending until verified, a data key per holder,
personal data encrypted, and no answer that tells whether a contact is registered."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from anxin.api.deps import Container
from anxin.identity.delivery import FakeEmailSender, FakeSmsProvider
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Contact, DataKey, User
from tests.identity.conftest import PASSWORD, Person

OTHER = "another fine passphrase indeed"


def signup(client: TestClient, **body: object) -> dict[str, object]:
    response = client.post("/v1/auth/signup", json={"password": PASSWORD, **body})
    assert response.status_code == 202, response.text
    out: dict[str, object] = response.json()
    return out


def verify(client: TestClient, identifier: str, code: str, password: str = PASSWORD) -> int:
    return client.post(
        "/v1/auth/verify-contact",
        json={"identifier": identifier, "password": password, "code": code},
    ).status_code


def test_signup_verify_signin(client: TestClient, holder: Callable[..., Person]) -> None:
    person = holder(phone="13812345678", name="张三明")
    me = client.get("/v1/me", headers=person.headers)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["contacts"] == [{"kind": "phone", "masked": "138****5678", "verified": True}]
    assert body["display_name"] == "张*明"
    assert (body["kind"], body["status"], body["tier"], body["locale"]) == (
        "holder", "active", "unverified", "zh-CN",
    )  # fmt: skip
    signed = client.post(
        "/v1/auth/signin", json={"identifier": "13812345678", "password": PASSWORD}
    )
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "signed_in"


def test_pending_until_verified_with_a_data_key_and_encrypted_contact(
    client: TestClient, container: Container, last_code: Callable[[str], str],
    mailbox: FakeEmailSender,
) -> None:  # fmt: skip
    answer = signup(client, email="Wang.Fang@Example.com", display_name="王芳", locale="en")
    assert answer == {
        "status": "verification_sent", "channel": "email", "contact": "w***@example.com",
        "expires_in_seconds": 600,
    }  # fmt: skip
    with UnitOfWork(container.database, write=False) as uow:
        user = uow.session.scalars(select(User)).one()
        contact = uow.session.scalars(select(Contact)).one()
        assert (user.status, user.kind, user.locale) == ("pending", "holder", "en")
        assert uow.session.get(DataKey, user.id) is not None
        assert b"wang.fang" not in contact.value_enc and contact.verified_at is None
        assert contact.masked == "w***@example.com" and len(contact.lookup) == 64
        assert user.display_name_enc is not None and "王芳".encode() not in user.display_name_enc
    code = last_code("wang.fang@example.com")
    assert mailbox.sent[-1].subject == "Your Anxin code"  # in the chosen language
    assert verify(client, "wang.fang@example.com", code) == 200
    with UnitOfWork(container.database, write=False) as uow:
        assert uow.session.scalars(select(User.status)).one() == "active"


def test_verification_never_says_which_part_was_wrong(
    client: TestClient, last_code: Callable[[str], str]
) -> None:
    signup(client, phone="13711112222")
    code = last_code("13711112222")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = [
        client.post("/v1/auth/verify-contact", json=body).json()
        for body in (
            {"identifier": "13711112222", "password": PASSWORD, "code": wrong},
            {"identifier": "13711112222", "password": OTHER, "code": code},
            {"identifier": "13799998888", "password": PASSWORD, "code": code},
        )
    ]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["code"] == "invalid_code" and answers[0]["status"] == 400
    assert verify(client, "13711112222", code) == 200
    assert verify(client, "13711112222", code) == 400  # already active


def test_five_wrong_codes_kill_the_code(
    client: TestClient, last_code: Callable[[str], str]
) -> None:
    signup(client, phone="13711113333")
    code = last_code("13711113333")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert [verify(client, "13711113333", wrong) for _ in range(5)] == [400] * 5
    assert verify(client, "13711113333", code) == 400
    signup(client, phone="13711113333")  # signing up again sends a fresh code
    assert verify(client, "13711113333", last_code("13711113333")) == 200


def test_registered_contact_gets_a_notice_not_a_second_account(
    client: TestClient, container: Container, holder: Callable[..., Person],
    sms: FakeSmsProvider, deliver: Callable[[], object],
) -> None:  # fmt: skip
    holder(phone="13812345678")
    again = signup(client, phone="138 1234 5678")
    fresh = signup(client, phone="13912345678")
    assert again.keys() == fresh.keys() and again["status"] == fresh["status"]
    deliver()
    notice = sms.last_to("+8613812345678")
    assert notice is not None and "已经注册" in notice.body
    with UnitOfWork(container.database, write=False) as uow:
        assert uow.session.scalar(select(func.count()).select_from(User)) == 2


def test_an_unverified_signup_is_claimed_by_whoever_proves_the_contact(
    client: TestClient, last_code: Callable[[str], str]
) -> None:
    signup(client, phone="13655556666")  # someone typed a number that is not theirs
    stale = last_code("13655556666")
    signup(client, phone="13655556666", password=OTHER)  # the number's owner signs up
    fresh = last_code("13655556666")
    assert verify(client, "13655556666", stale, OTHER) == 400  # the first code is dead
    assert verify(client, "13655556666", fresh, PASSWORD) == 400  # the first password too
    assert verify(client, "13655556666", fresh, OTHER) == 200
    signed = client.post("/v1/auth/signin", json={"identifier": "13655556666", "password": OTHER})
    assert signed.status_code == 200


def test_signup_is_rate_limited_per_contact(client: TestClient) -> None:
    for _ in range(5):
        signup(client, phone="13600000001")
    limited = client.post("/v1/auth/signup", json={"phone": "13600000001", "password": PASSWORD})
    assert limited.status_code == 429 and limited.json()["code"] == "too_many_attempts"
    assert int(limited.json()["retry_after"]) > 0


def test_profile_update(client: TestClient, holder: Callable[..., Person]) -> None:
    person = holder()
    changed = client.patch(
        "/v1/me", json={"locale": "en", "display_name": "Li Lei"}, headers=person.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["locale"] == "en" and changed.json()["display_name"] == "L* L**"
    bad = client.patch("/v1/me", json={"tier": "full"}, headers=person.headers)
    assert bad.status_code == 422
    assert uuid.UUID(changed.json()["id"]) == uuid.UUID(person.user_id)
