"""Password policy (NIST SP 800-63B), the strength meter, and Argon2id hashing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from argon2 import PasswordHasher as Argon2
from argon2 import Type
from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.identity.passwords import (
    PasswordHasher,
    WeakPassword,
    blocklist,
    check_new_password,
    context_words,
    estimate,
)
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from tests.identity.conftest import PASSWORD, Person

HASHER = PasswordHasher(memory_kib=19_456, time_cost=2, parallelism=1)


def reason(password: str, *, staff: bool = False, context: list[str] | None = None) -> str:
    with pytest.raises(WeakPassword) as refused:
        check_new_password(password, staff=staff, context=context or [])
    return str(refused.value.extra["reason"])


def test_length_rules_holders_and_staff() -> None:
    assert reason("x7#Kp2!") == "too_short"  # 7 characters
    check_new_password("tapir-quiver", staff=False)  # 12 unrelated characters are fine
    assert reason("tapir-quiver", staff=True) == "too_short"  # staff need 15
    check_new_password("tapir quiver on a yacht", staff=True)
    assert reason("x" * 129) == "too_long"
    # At least 64 characters are allowed, of any kind, without composition rules.
    check_new_password(
        "a sentence of ordinary lowercase words can be long" + " and fine" * 2, staff=True
    )


def test_unicode_is_allowed_and_normalised() -> None:
    strength = check_new_password("我的钱包密码是月亮上的兔子🐇", staff=False)
    assert strength.score >= 2
    # NFKC: full-width letters and the ligature verify as their plain forms.
    stored = HASHER.hash("\uff46\uff55\uff4c\uff4c \uff57\uff49\uff44\uff54\uff48 \ufb01sh")
    assert HASHER.verify(stored, "full width fish")


def test_blocklist_is_zxcvbn_common_passwords_plus_ours() -> None:
    common = blocklist()
    assert {"password", "qwertyuiop", "woaini1314", "anxin123"} <= common
    assert len(common) > 30_000
    assert reason("Password1") != "too_short"
    assert reason("iloveyou") == "common"
    assert reason("WOAINI1314") == "common"  # case does not help


def test_context_words_refused_with_a_clear_message() -> None:
    words = context_words("+8613812345678", "zhang.wei@example.com", "张伟")
    assert "13812345678" in words and "zhang.wei" in words and "anxin" in words
    with pytest.raises(WeakPassword) as refused:
        check_new_password("my number 13812345678", staff=False, context=words)
    assert refused.value.extra["reason"] == "contains_personal_data"
    assert "phone number" in refused.value.detail
    assert reason("zhang.wei-rocks", context=words) == "contains_personal_data"


def test_guessable_passwords_refused_with_zxcvbn_feedback() -> None:
    with pytest.raises(WeakPassword) as refused:
        check_new_password("abcabcabcabc", staff=False)
    error = refused.value
    assert error.extra["reason"] == "too_guessable"
    assert error.extra["strength"]["score"] < 2
    assert error.extra["strength"]["warning"] or error.extra["strength"]["suggestions"]
    meter = estimate("correct horse battery staple")
    assert meter.score == 4


def test_hash_is_argon2id_with_owasp_parameters() -> None:
    stored = HASHER.hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert HASHER.verify(stored, PASSWORD)
    assert not HASHER.verify(stored, PASSWORD + "!")
    assert not HASHER.verify(None, PASSWORD)  # no account: same work, still no
    assert not HASHER.verify("not a hash", PASSWORD)
    assert not HASHER.needs_rehash(stored)
    stronger = PasswordHasher(memory_kib=19_456, time_cost=3, parallelism=1)
    assert stronger.needs_rehash(stored)
    assert stronger.needs_rehash("garbage")


def test_settings_refuse_parameters_below_owasp() -> None:
    from pydantic import ValidationError

    from anxin.settings import Settings

    with pytest.raises(ValidationError):
        Settings(password_hash_memory_kib=8192)
    with pytest.raises(ValidationError):
        Settings(password_hash_time_cost=1)


def test_rehash_on_login_when_parameters_changed(
    client: TestClient, container: Container, holder: Callable[..., Person]
) -> None:
    person = holder()
    weaker = Argon2(time_cost=2, memory_cost=19_456, parallelism=1, type=Type.ID, salt_len=8)
    with UnitOfWork(container.database) as uow:
        user = uow.session.scalars(select(User)).one()
        user.password_hash = weaker.hash(PASSWORD)  # as an older version stored it
        uow.commit()
    signed = client.post(
        "/v1/auth/signin", json={"identifier": person.identifier, "password": PASSWORD}
    )
    assert signed.status_code == 200, signed.text
    with UnitOfWork(container.database, write=False) as uow:
        rehashed = uow.session.scalars(select(User.password_hash)).one()
    assert rehashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert not HASHER.needs_rehash(rehashed)
    assert HASHER.verify(rehashed, PASSWORD)


def test_strength_meter_endpoint(client: TestClient) -> None:
    weak = client.post("/v1/auth/password-strength", json={"password": "password1"})
    assert weak.status_code == 200, weak.text
    assert weak.json()["score"] == 0 and weak.json()["acceptable"] is False
    assert "common" in weak.json()["problem"]
    personal = client.post(
        "/v1/auth/password-strength",
        json={"password": "wang.fang-2024-xyz", "context": ["wang.fang@example.com"]},
    ).json()
    assert personal["acceptable"] is False
    strong = client.post(
        "/v1/auth/password-strength", json={"password": "correct horse battery staple"}
    ).json()
    assert strong == {
        "score": 4,
        "warning": "",
        "suggestions": [],
        "acceptable": True,
        "problem": None,
    }
    staff = client.post(
        "/v1/auth/password-strength", json={"password": "tapir-quiver", "staff": True}
    ).json()
    assert staff["acceptable"] is False and "15" in staff["problem"]


def test_signup_with_weak_password_explains(client: TestClient) -> None:
    refused = client.post("/v1/auth/signup", json={"phone": "13900001111", "password": "12345678"})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == "weak_password" and body["reason"] == "common"
