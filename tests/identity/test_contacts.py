"""Phone and email normalisation, masking, blind-index lookups and changing a contact."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from anxin.identity.contacts import (
    InvalidContact,
    normalise_email,
    normalise_phone,
    parse_contact,
    parse_identifier,
)
from anxin.identity.delivery import FakeEmailSender, FakeSmsProvider
from anxin.privacy.masking import mask_email, mask_name, mask_phone
from tests.identity.conftest import Person


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("+86-138-1234-5678", "+8613812345678"),
        ("008613812345678", "+8613812345678"),
        ("+1 650 253 0000", "+16502530000"),
        ("+852 6123 4567", "+85261234567"),
    ],
)
def test_phones_become_e164_with_cn_default(typed: str, e164: str) -> None:
    assert normalise_phone(typed) == e164


@pytest.mark.parametrize("bad", ["", "12345", "abc", "+86 000 0000 0000", "1381234567890123"])
def test_invalid_phones_are_refused(bad: str) -> None:
    with pytest.raises(InvalidContact):
        normalise_phone(bad)


def test_emails_are_normalised_and_lower_cased() -> None:
    assert normalise_email("  Zhang.Wei@Example.COM ") == "zhang.wei@example.com"
    assert normalise_email("张伟@例子.中国") == "张伟@例子.中国"
    for bad in ("no-at-sign", "a@", "@b.com", "a b@c.com"):
        with pytest.raises(InvalidContact):
            normalise_email(bad)


def test_identifiers_pick_their_kind() -> None:
    assert parse_identifier("Li@Example.com").kind == "email"
    assert parse_identifier(" 13812345678 ").value == "+8613812345678"
    assert parse_contact("email", "x@example.com").masked == "x***@example.com"
    with pytest.raises(InvalidContact):
        parse_identifier("   ")


def test_masks() -> None:
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone("+16502530000") == "+1 650***0000"
    assert mask_phone("+85261234567") == "+852 6*****67"
    assert mask_email("zhang.wei@example.com") == "z***@example.com"
    assert mask_email("a@example.com") == "a***@example.com"
    assert mask_name("张三明") == "张*明"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_name("Zhang  Wei") == "Z**** W**"
    assert mask_name("") == "" and mask_name("李") == "*"


def test_invalid_contact_is_a_problem_document(client: TestClient) -> None:
    response = client.post("/v1/auth/signup", json={"phone": "12", "password": "x" * 20})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_contact"
    both = client.post(
        "/v1/auth/signup", json={"phone": "13812345678", "email": "a@example.com", "password": "x"}
    )
    assert both.status_code == 422 and both.json()["code"] == "validation_failed"


def _change(
    client: TestClient, person: Person, body: dict[str, Any], token: str | None = None
) -> Any:
    headers = dict(person.headers)
    if token:
        headers["X-Step-Up-Token"] = token
    return client.post("/v1/me/contacts", json=body, headers=headers)


def test_add_an_email_and_replace_the_phone(
    client: TestClient, holder: Callable[..., Person], last_code: Callable[[str], str],
    sms: FakeSmsProvider, deliver: Callable[[], object],
) -> None:  # fmt: skip
    person = holder(phone="13812345678")
    added = _change(client, person, {"email": "New.Mail@Example.com"})
    assert added.status_code == 202, added.text
    assert added.json() == {"status": "verification_sent", "contact": "n***@example.com"}
    code = last_code("new.mail@example.com")
    wrong = client.post(
        "/v1/me/contacts/verify",
        json={"code": "000000" if code != "000000" else "1"},
        headers=person.headers,
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_code"
    ok = client.post("/v1/me/contacts/verify", json={"code": code}, headers=person.headers)
    assert ok.status_code == 200 and ok.json() == {
        "kind": "email",
        "masked": "n***@example.com",
        "verified": True,
    }
    # Replace the phone: the old number is told, then removed.
    assert _change(client, person, {"phone": "13900001234"}).status_code == 202
    client.post(
        "/v1/me/contacts/verify", json={"code": last_code("13900001234")}, headers=person.headers
    )
    contacts = client.get("/v1/me", headers=person.headers).json()["contacts"]
    assert sorted(c["masked"] for c in contacts) == ["139****1234", "n***@example.com"]
    deliver()
    old = [m.body for m in sms.sent if m.recipient == "+8613812345678"]
    assert any("139****1234" in body for body in old)
    signed = client.post(
        "/v1/auth/signin", json={"identifier": "13900001234", "password": person.password}
    )
    assert signed.status_code == 200
    gone = client.post(
        "/v1/auth/signin", json={"identifier": "13812345678", "password": person.password}
    )
    assert gone.status_code == 401


def test_a_taken_contact_is_not_disclosed(
    client: TestClient, holder: Callable[..., Person], mailbox: FakeEmailSender,
    deliver: Callable[[], object],
) -> None:  # fmt: skip
    owner = holder(email="taken@example.com")
    other = holder()
    answer = _change(client, other, {"email": "taken@example.com"})
    assert answer.status_code == 202 and answer.json()["contact"] == "t***@example.com"
    deliver()
    assert (
        "另一个安心账户" in mailbox.sent[-1].body
        and mailbox.sent[-1].recipient == "taken@example.com"
    )
    # No code was sent that could attach it.
    for guess in ("000000", "123456"):
        refused = client.post("/v1/me/contacts/verify", json={"code": guess}, headers=other.headers)
        assert refused.status_code == 400
    assert (
        client.get("/v1/me", headers=owner.headers).json()["contacts"][0]["masked"]
        == "t***@example.com"
    )
    unchanged = _change(client, owner, {"email": "taken@example.com"})
    assert unchanged.status_code == 422 and unchanged.json()["code"] == "contact_unchanged"


def test_contact_change_needs_step_up_for_exactly_that_value(
    client: TestClient, holder: Callable[..., Person], enrol_totp: Callable[[Person], str],
    totp_code: Callable[[str], str], last_code: Callable[[str], str],
) -> None:  # fmt: skip
    person = holder()
    secret = enrol_totp(person)
    refused = _change(client, person, {"email": "mine@example.com"})
    assert refused.status_code == 401 and refused.json()["code"] == "step_up_required"
    assert "mine" not in str(refused.json())  # the challenge holds no personal data
    token = client.post(
        f"/v1/auth/step-up/{refused.json()['challenge_id']}", headers=person.headers,
        json={"method": "totp", "proof": {"code": totp_code(secret)}},
    ).json()["step_up_token"]  # fmt: skip
    other_value = _change(client, person, {"email": "attacker@example.com"}, token)
    assert other_value.status_code == 401 and other_value.json()["code"] == "step_up_required"
    assert _change(client, person, {"email": "mine@example.com"}, token).status_code == 202
    code = last_code("mine@example.com")
    assert (
        client.post(
            "/v1/me/contacts/verify", json={"code": code}, headers=person.headers
        ).status_code
        == 200
    )
