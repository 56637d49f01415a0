"""Passkeys against a software authenticator: the ceremonies and every check that matters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from anxin.identity import factors, passkeys
from anxin.identity.passkeys import PasskeyAlreadyRegistered, PasskeyRejected, RelyingParty
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Challenge, Passkey, User
from anxin.privacy.keyring import load_keyring
from anxin.privacy.keys import KeyService
from anxin.privacy.vault import Vault
from anxin.settings import Settings
from tests.identity.conftest import Person
from tests.identity.softauthn import SoftAuthenticator, unb64url
from tests.identity.test_factors_api import problem
from tests.identity.test_totp import make_user

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
RP = RelyingParty(id="wallet.example", name="Anxin", origin="https://wallet.example")


@pytest.fixture
def vault(settings: Settings) -> Vault:
    keyring = load_keyring(settings.resolved_key_file, None, None)
    assert keyring is not None
    return KeyService(keyring).vault()


@pytest.fixture
def uow(database: Database) -> Iterator[UnitOfWork]:
    with UnitOfWork(database) as unit:
        yield unit


@pytest.fixture
def device() -> SoftAuthenticator:
    return SoftAuthenticator(origin=RP.origin, rp_id=RP.id)


def _options(uow: UnitOfWork, user: User) -> tuple[Any, dict[str, Any]]:
    return passkeys.registration_options(
        uow.session, user.id, auth_session_id=None, user_name="138****5678", rp=RP, now=NOW
    )


def _register(uow: UnitOfWork, user: User, device: SoftAuthenticator, **bend: Any) -> Passkey:
    challenge_id, options = _options(uow, user)
    credential = device.create(options, **bend)
    return passkeys.register(
        uow.session, user.id, challenge_id=challenge_id, credential=credential,
        name="phone", now=NOW,
    )  # fmt: skip


def _assert(
    uow: UnitOfWork, user: User | None, device: SoftAuthenticator, *,
    as_user: User | None = None, **bend: Any,
) -> Passkey | None:  # fmt: skip
    challenge_id, options = passkeys.assertion_options(
        uow.session, user.id if user else None, rp=RP, now=NOW
    )
    credential = device.get(options, **bend)
    checked = as_user if as_user is not None else user
    return passkeys.verify_assertion(
        uow.session, challenge_id=challenge_id, credential=credential,
        user_id=checked.id if checked else None, now=NOW,
    )  # fmt: skip


# -- registration ---------------------------------------------------------------------------


def test_options_require_user_verification_and_carry_no_personal_data(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator
) -> None:
    user = make_user(uow.session, vault, NOW)
    challenge_id, options = _options(uow, user)
    assert options["rp"] == {"id": RP.id, "name": "Anxin"}
    assert unb64url(options["user"]["id"]) == user.id.bytes
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert {"type": "public-key", "alg": -7} in options["pubKeyCredParams"]
    stored = uow.session.get(Challenge, challenge_id)
    assert stored is not None and stored.purpose == "webauthn_register"
    assert unb64url(options["challenge"]) == stored.challenge
    assert len(stored.challenge) >= 16 and stored.expires_at == NOW + timedelta(minutes=5)


def test_registration_stores_the_credential(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator
) -> None:
    user = make_user(uow.session, vault, NOW)
    passkey = _register(uow, user, device)
    assert passkey.credential_id in device.credentials
    assert passkey.sign_count == 0 and passkey.transports == ["internal"]
    assert passkeys.active_passkeys(uow.session, user.id) == [passkey]
    # A second registration excludes the first credential.
    _, options = _options(uow, user)
    excluded = [unb64url(d["id"]) for d in options["excludeCredentials"]]
    assert excluded == [passkey.credential_id]


@pytest.mark.parametrize(
    ("bend", "why"),
    [
        ({"origin": "https://wallet.example.evil"}, "origin"),
        ({"origin": "http://wallet.example"}, "origin"),
        ({"rp_id": "evil.example"}, "RP ID"),
        ({"user_verified": False}, "verif"),
        ({"user_present": False}, "presen"),
    ],
)
def test_registration_refuses_bent_responses(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator, bend: dict[str, Any], why: str
) -> None:
    user = make_user(uow.session, vault, NOW)
    with pytest.raises(PasskeyRejected, match=why):
        _register(uow, user, device, **bend)
    assert passkeys.active_passkeys(uow.session, user.id) == []


def test_a_registration_challenge_works_once(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator
) -> None:
    user = make_user(uow.session, vault, NOW)
    challenge_id, options = _options(uow, user)
    credential = device.create(options, user_verified=False)
    with pytest.raises(PasskeyRejected):  # a failed attempt consumes the challenge too
        passkeys.register(
            uow.session, user.id, challenge_id=challenge_id, credential=credential,
            name="phone", now=NOW,
        )  # fmt: skip
    good = device.create(options)
    with pytest.raises(PasskeyRejected, match="used or expired"):
        passkeys.register(
            uow.session, user.id, challenge_id=challenge_id, credential=good, name="x", now=NOW
        )


def test_registration_challenges_expire_and_belong_to_their_user(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator
) -> None:
    user, other = make_user(uow.session, vault, NOW), make_user(uow.session, vault, NOW)
    challenge_id, options = _options(uow, user)
    with pytest.raises(PasskeyRejected):
        passkeys.register(
            uow.session, other.id, challenge_id=challenge_id, credential=device.create(options),
            name="x", now=NOW,
        )  # fmt: skip
    challenge_id, options = _options(uow, user)
    with pytest.raises(PasskeyRejected):
        passkeys.register(
            uow.session, user.id, challenge_id=challenge_id, credential=device.create(options),
            name="x", now=NOW + timedelta(minutes=5),
        )  # fmt: skip


def test_the_same_authenticator_cannot_be_registered_twice(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator
) -> None:
    user, other = make_user(uow.session, vault, NOW), make_user(uow.session, vault, NOW)
    first = _register(uow, user, device)
    challenge_id, options = _options(uow, other)
    again = device.create(options, reuse=first.credential_id)
    with pytest.raises(PasskeyAlreadyRegistered):
        passkeys.register(
            uow.session, other.id, challenge_id=challenge_id, credential=again, name="x", now=NOW
        )


@pytest.mark.parametrize(
    "credential", [{}, {"id": "x"}, {"id": "AA", "rawId": "AA", "type": "public-key"}]
)
def test_malformed_registrations_are_rejected_not_crashes(
    uow: UnitOfWork, vault: Vault, credential: dict[str, Any]
) -> None:
    user = make_user(uow.session, vault, NOW)
    challenge_id, _ = _options(uow, user)
    with pytest.raises(PasskeyRejected):
        passkeys.register(
            uow.session, user.id, challenge_id=challenge_id, credential=credential, name="x",
            now=NOW,
        )  # fmt: skip


# -- authentication -------------------------------------------------------------------------


def test_assertion_verifies_and_counts(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator
) -> None:
    user = make_user(uow.session, vault, NOW)
    registered = _register(uow, user, device)
    found = _assert(uow, user, device)
    assert found is not None and found.id == registered.id
    assert found.sign_count == 1 and found.last_used_at == NOW
    assert _assert(uow, user, device) is not None
    assert found.sign_count == 2


@pytest.mark.parametrize(
    "bend",
    [
        {"origin": "https://phish.example"},
        {"rp_id": "phish.example"},
        {"user_verified": False},
        {"user_present": False},
    ],
)
def test_assertion_refuses_bent_responses(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator, bend: dict[str, Any]
) -> None:
    user = make_user(uow.session, vault, NOW)
    _register(uow, user, device)
    assert _assert(uow, user, device, **bend) is None


def test_a_cloned_authenticator_with_a_stale_count_is_refused(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator
) -> None:
    user = make_user(uow.session, vault, NOW)
    _register(uow, user, device)
    assert _assert(uow, user, device, sign_count=5) is not None
    assert _assert(uow, user, device, sign_count=5) is None  # not greater than stored 5
    assert _assert(uow, user, device, sign_count=3) is None
    assert _assert(uow, user, device, sign_count=6) is not None


def test_a_login_challenge_works_once(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator
) -> None:
    user = make_user(uow.session, vault, NOW)
    _register(uow, user, device)
    challenge_id, options = passkeys.assertion_options(uow.session, user.id, rp=RP, now=NOW)
    first, replay = device.get(options), device.get(options)
    ok = passkeys.verify_assertion(
        uow.session, challenge_id=challenge_id, credential=first, user_id=user.id, now=NOW
    )
    assert ok is not None
    assert (
        passkeys.verify_assertion(
            uow.session, challenge_id=challenge_id, credential=replay, user_id=user.id, now=NOW
        )
        is None
    )


def test_expired_login_challenge(uow: UnitOfWork, vault: Vault, device: SoftAuthenticator) -> None:
    user = make_user(uow.session, vault, NOW)
    _register(uow, user, device)
    challenge_id, options = passkeys.assertion_options(uow.session, user.id, rp=RP, now=NOW)
    found = passkeys.verify_assertion(
        uow.session, challenge_id=challenge_id, credential=device.get(options),
        user_id=user.id, now=NOW + passkeys.CHALLENGE_TTL,
    )  # fmt: skip
    assert found is None


def test_someone_elses_passkey_is_not_a_factor_for_me(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator
) -> None:
    alice, bob = make_user(uow.session, vault, NOW), make_user(uow.session, vault, NOW)
    _register(uow, alice, device)
    _register(uow, bob, SoftAuthenticator(origin=RP.origin, rp_id=RP.id))
    # A challenge issued for Bob, answered with Alice's passkey.
    challenge_id, options = passkeys.assertion_options(uow.session, bob.id, rp=RP, now=NOW)
    alice_key = next(iter(device.credentials))
    forged = device.get(options, credential_id=alice_key)
    assert (
        passkeys.verify_assertion(
            uow.session, challenge_id=challenge_id, credential=forged, user_id=bob.id, now=NOW
        )
        is None
    )
    # And a challenge issued for Alice cannot be answered on Bob's behalf.
    assert _assert(uow, alice, device, as_user=bob) is None


def test_passwordless_assertion_identifies_the_owner(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator
) -> None:
    user = make_user(uow.session, vault, NOW)
    registered = _register(uow, user, device)
    challenge_id, options = passkeys.assertion_options(uow.session, None, rp=RP, now=NOW)
    assert options["allowCredentials"] == [] and options["userVerification"] == "required"
    found = passkeys.verify_assertion(
        uow.session, challenge_id=challenge_id, credential=device.get(options), user_id=None,
        now=NOW,
    )  # fmt: skip
    assert found is not None and found.id == registered.id and found.user_id == user.id


def test_a_disabled_passkey_no_longer_works(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator
) -> None:
    user = make_user(uow.session, vault, NOW)
    passkey = _register(uow, user, device)
    passkeys.disable(uow.session, user.id, passkey.id, NOW)
    assert _assert(uow, user, device) is None
    with pytest.raises(passkeys.NotFound):
        passkeys.disable(uow.session, user.id, passkey.id, NOW)


@pytest.mark.parametrize(
    "proof",
    [
        {},
        {"challenge_id": "nope", "credential": {}},
        {"challenge_id": "0190a000-0000-7000-8000-000000000000", "credential": {"rawId": 5}},
        {"challenge_id": 7, "credential": "x"},
    ],
)
def test_verify_second_factor_never_raises_for_junk(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator, proof: dict[str, Any]
) -> None:
    user = make_user(uow.session, vault, NOW)
    _register(uow, user, device)
    assert not factors.verify_second_factor(
        uow.session, vault, user, method="passkey", proof=proof, now=NOW
    )


def test_verify_second_factor_with_a_passkey(
    uow: UnitOfWork, vault: Vault, device: SoftAuthenticator
) -> None:
    user = make_user(uow.session, vault, NOW)
    _register(uow, user, device)
    challenge_id, options = factors.start_passkey_assertion(uow.session, user.id, NOW, rp=RP)
    proof = {"challenge_id": str(challenge_id), "credential": device.get(options)}
    assert factors.verify_second_factor(
        uow.session, vault, user, method="passkey", proof=proof, now=NOW
    )
    assert factors.enrolled_methods(uow.session, user.id) == ["passkey"]
    assert factors.has_second_factor(uow.session, user.id)


# -- sign-in through the API ---------------------------------------------------------------


def test_signin_with_a_passkey_as_second_factor_and_passwordless(
    client: TestClient, holder: Callable[..., Person], settings: Settings
) -> None:
    alice = holder()
    device = SoftAuthenticator(origin=settings.webauthn_origin, rp_id=settings.webauthn_rp_id)
    options = client.post("/v1/me/factors/passkeys/options", headers=alice.headers).json()
    created = client.post("/v1/me/factors/passkeys", headers=alice.headers, json={
        "challenge_id": options["challenge_id"], "credential": device.create(options["options"]),
    })  # fmt: skip
    assert created.status_code == 201, created.text
    first = client.post(
        "/v1/auth/signin", json={"identifier": alice.identifier, "password": alice.password}
    ).json()
    assert first["methods"] == ["passkey"] and first["passkey"]["challenge_id"]
    proof = {"challenge_id": first["passkey"]["challenge_id"],
             "credential": device.get(first["passkey"]["options"])}  # fmt: skip
    body = {"pending_token": first["pending_token"], "method": "passkey", "proof": proof}
    done = client.post("/v1/auth/signin/second-factor", json=body)
    assert done.status_code == 200 and done.json()["status"] == "signed_in", done.text
    # Passwordless: the passkey alone (with user verification).
    options = client.post("/v1/auth/passkey/options").json()
    assert options["options"]["allowCredentials"] == []
    answer = {"challenge_id": options["challenge_id"], "credential": device.get(options["options"])}
    signed = client.post("/v1/auth/passkey/verify", json=answer)
    assert signed.status_code == 200, signed.text
    token = signed.json()["token"]
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["id"] == alice.user_id
    # The same assertion again (replayed challenge), or one without user verification.
    problem(client.post("/v1/auth/passkey/verify", json=answer), 401, "passkey_not_accepted")
    options = client.post("/v1/auth/passkey/options").json()
    no_uv = device.get(options["options"], user_verified=False)
    refused = client.post(
        "/v1/auth/passkey/verify",
        json={"challenge_id": options["challenge_id"], "credential": no_uv},
    )
    problem(refused, 401, "passkey_not_accepted")


def test_passwordless_signin_refuses_another_site(client: TestClient) -> None:
    response = client.post("/v1/auth/passkey/options", headers={"Origin": "https://evil.example"})
    problem(response, 403, "csrf_check_failed")
