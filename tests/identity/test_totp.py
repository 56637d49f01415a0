"""TOTP: the RFCs' published vectors, the drift window, single use, and the stored seed."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from anxin.identity import totp
from anxin.kit.clock import ManualClock
from anxin.kit.db import Database
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import TotpFactor, User
from anxin.privacy.keyring import load_keyring
from anxin.privacy.keys import KeyService
from anxin.privacy.vault import Vault
from anxin.settings import Settings
from tests.identity.conftest import Person

RFC_SEED = b"12345678901234567890"
RFC_SECRET = base64.b32encode(RFC_SEED).decode()
NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)

# RFC 4226 Appendix D: HOTP-SHA1, 6 digits, counters 0..9.
HOTP_VECTORS = [
    "755224", "287082", "359152", "969429", "338314",
    "254676", "287922", "162583", "399871", "520489",
]  # fmt: skip
# RFC 6238 Appendix B, the SHA-1 rows: (Unix time, 8-digit TOTP).
TOTP_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


def make_user(session: Session, vault: Vault, now: datetime, *, kind: str = "holder") -> User:
    user = User(
        id=new_id(), kind=kind, role="agent" if kind == "staff" else None, status="active",
        pseudonym=None, display_name_enc=None, locale="zh-CN", tier="unverified",
        password_hash="unused", password_changed_at=now, failed_passwords=0,
        failed_factors=0, locked_until=None, daily_limit=None, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(user)
    session.flush()
    vault.create_data_key(session, user.id, now)
    return user


@pytest.fixture
def vault(settings: Settings) -> Vault:
    keyring = load_keyring(settings.resolved_key_file, None, None)
    assert keyring is not None
    return KeyService(keyring).vault()


@pytest.fixture
def uow(database: Database) -> Iterator[UnitOfWork]:
    with UnitOfWork(database) as unit:
        yield unit


# -- the algorithm --------------------------------------------------------------------------


@pytest.mark.parametrize(("counter", "expected"), list(enumerate(HOTP_VECTORS)))
def test_rfc4226_hotp_vectors(counter: int, expected: str) -> None:
    assert totp.code_at(RFC_SECRET, counter) == expected
    assert pyotp.HOTP(RFC_SECRET).at(counter) == expected


@pytest.mark.parametrize(("unix_time", "expected"), TOTP_VECTORS)
def test_rfc6238_totp_sha1_vectors(unix_time: int, expected: str) -> None:
    moment = datetime.fromtimestamp(unix_time, UTC)
    assert totp.code_at(RFC_SECRET, totp.time_step(moment), digits=8) == expected
    assert pyotp.TOTP(RFC_SECRET, digits=8).at(moment) == expected


def test_six_digit_codes_are_the_rfc_values_truncated() -> None:
    moment = datetime.fromtimestamp(1111111109, UTC)
    assert totp.code_at(RFC_SECRET, totp.time_step(moment)) == "081804"


def test_one_step_of_drift_either_way_and_no_more() -> None:
    step = totp.time_step(NOW)
    for offset in (-1, 0, 1):
        code = totp.code_at(RFC_SECRET, step + offset)
        assert totp.matching_step(RFC_SECRET, code, NOW, last_used_step=None) == step + offset
    for offset in (-2, 2):
        code = totp.code_at(RFC_SECRET, step + offset)
        assert totp.matching_step(RFC_SECRET, code, NOW, last_used_step=None) is None


def test_steps_up_to_the_last_used_one_are_refused() -> None:
    step = totp.time_step(NOW)
    code = totp.code_at(RFC_SECRET, step)
    assert totp.matching_step(RFC_SECRET, code, NOW, last_used_step=step) is None
    earlier = totp.code_at(RFC_SECRET, step - 1)
    assert totp.matching_step(RFC_SECRET, earlier, NOW, last_used_step=step) is None
    later = totp.code_at(RFC_SECRET, step + 1)
    assert totp.matching_step(RFC_SECRET, later, NOW, last_used_step=step) == step + 1


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12 34 5"])
def test_malformed_codes_never_match(bad: str) -> None:
    assert totp.matching_step(RFC_SECRET, bad, NOW, last_used_step=None) is None


def test_codes_with_spaces_are_accepted() -> None:
    code = totp.code_at(RFC_SECRET, totp.time_step(NOW))
    spaced = f"{code[:3]} {code[3:]}"
    assert totp.matching_step(RFC_SECRET, spaced, NOW, last_used_step=None) is not None


# -- enrolment and verification -------------------------------------------------------------


def _current(secret: str, moment: datetime) -> str:
    return totp.code_at(secret, totp.time_step(moment))


def test_enrolment_gives_a_160_bit_seed_stored_only_encrypted(
    uow: UnitOfWork, vault: Vault
) -> None:
    user = make_user(uow.session, vault, NOW)
    enrolment = totp.start_enrolment(uow.session, vault, user.id, label="138****5678", now=NOW)
    assert len(base64.b32decode(enrolment.secret)) == 20
    uri = urlparse(enrolment.uri)
    query = parse_qs(uri.query)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert query["secret"] == [enrolment.secret] and query["issuer"] == ["Anxin"]
    row = uow.session.get(TotpFactor, enrolment.factor_id)
    assert row is not None and row.confirmed_at is None
    assert enrolment.secret.encode() not in row.secret_enc
    assert totp.active_factor(uow.session, user.id) is None  # not a factor until confirmed


def test_confirm_needs_a_valid_code(uow: UnitOfWork, vault: Vault) -> None:
    user = make_user(uow.session, vault, NOW)
    with pytest.raises(totp.TotpEnrolmentNotFound):
        totp.confirm_enrolment(uow.session, vault, user.id, code="123456", now=NOW)
    enrolment = totp.start_enrolment(uow.session, vault, user.id, label="me", now=NOW)
    wrong = "000000" if _current(enrolment.secret, NOW) != "000000" else "111111"
    with pytest.raises(totp.InvalidTotpCode):
        totp.confirm_enrolment(uow.session, vault, user.id, code=wrong, now=NOW)
    factor = totp.confirm_enrolment(
        uow.session, vault, user.id, code=_current(enrolment.secret, NOW), now=NOW
    )
    assert factor.confirmed_at == NOW and factor.last_used_step == totp.time_step(NOW)
    assert totp.active_factor(uow.session, user.id) is not None
    with pytest.raises(totp.TotpAlreadyEnrolled):
        totp.start_enrolment(uow.session, vault, user.id, label="me", now=NOW)


def test_restarting_an_unconfirmed_enrolment_replaces_the_seed(
    uow: UnitOfWork, vault: Vault
) -> None:
    user = make_user(uow.session, vault, NOW)
    first = totp.start_enrolment(uow.session, vault, user.id, label="me", now=NOW)
    second = totp.start_enrolment(uow.session, vault, user.id, label="me", now=NOW)
    assert first.secret != second.secret
    assert uow.session.get(TotpFactor, first.factor_id) is None
    with pytest.raises(totp.InvalidTotpCode):
        totp.confirm_enrolment(
            uow.session, vault, user.id, code=_current(first.secret, NOW), now=NOW
        )


def test_a_code_is_accepted_once(uow: UnitOfWork, vault: Vault) -> None:
    user = make_user(uow.session, vault, NOW)
    enrolment = totp.start_enrolment(uow.session, vault, user.id, label="me", now=NOW)
    totp.confirm_enrolment(
        uow.session, vault, user.id, code=_current(enrolment.secret, NOW), now=NOW
    )
    # The confirmation used this step's code: it cannot be used again to sign in.
    assert not totp.verify(uow.session, vault, user.id, _current(enrolment.secret, NOW), NOW)
    later = NOW + timedelta(seconds=30)
    code = _current(enrolment.secret, later)
    assert totp.verify(uow.session, vault, user.id, code, later)
    assert not totp.verify(uow.session, vault, user.id, code, later)
    # Even within the drift window, an older step is never accepted after a newer one.
    older = totp.code_at(enrolment.secret, totp.time_step(later) - 1)
    assert not totp.verify(uow.session, vault, user.id, older, later)


def test_the_seed_survives_a_round_trip_through_the_database(
    database: Database, vault: Vault
) -> None:
    with UnitOfWork(database) as unit:
        user = make_user(unit.session, vault, NOW)
        enrolment = totp.start_enrolment(unit.session, vault, user.id, label="me", now=NOW)
        totp.confirm_enrolment(
            unit.session, vault, user.id, code=_current(enrolment.secret, NOW), now=NOW
        )
        unit.commit()
    later = NOW + timedelta(minutes=1)
    with UnitOfWork(database) as unit:
        code = _current(enrolment.secret, later)
        assert totp.verify(unit.session, vault, user.id, code, later)
        unit.commit()
    with UnitOfWork(database) as unit:
        assert not totp.verify(unit.session, vault, user.id, code, later)


def test_a_disabled_app_no_longer_verifies(uow: UnitOfWork, vault: Vault) -> None:
    user = make_user(uow.session, vault, NOW)
    enrolment = totp.start_enrolment(uow.session, vault, user.id, label="me", now=NOW)
    totp.confirm_enrolment(
        uow.session, vault, user.id, code=_current(enrolment.secret, NOW), now=NOW
    )
    totp.disable(uow.session, user.id, NOW)
    later = NOW + timedelta(seconds=30)
    assert not totp.verify(uow.session, vault, user.id, _current(enrolment.secret, later), later)
    with pytest.raises(totp.NotFound):
        totp.disable(uow.session, user.id, NOW)
    # A new app can be enrolled after removing the old one.
    totp.start_enrolment(uow.session, vault, user.id, label="me", now=NOW)


# -- with the sign-in flow ------------------------------------------------------------------


def enrol_totp(client: TestClient, person: Person, clock: ManualClock) -> str:
    secret: str = client.post("/v1/me/factors/totp", headers=person.headers).json()["secret"]
    code = totp.code_at(secret, totp.time_step(clock.now()))
    confirmed = client.post("/v1/me/factors/totp/confirm", json={"code": code},
                            headers=person.headers)  # fmt: skip
    assert confirmed.status_code == 200, confirmed.text
    return secret


def test_signin_with_totp_as_second_factor(
    client: TestClient, holder: Callable[..., Person], clock: ManualClock
) -> None:
    alice = holder()
    secret = enrol_totp(client, alice, clock)
    first = client.post(
        "/v1/auth/signin", json={"identifier": alice.identifier, "password": alice.password}
    ).json()
    assert first["status"] == "second_factor_required" and first["methods"] == ["totp"]
    clock.advance(timedelta(seconds=30))
    code = totp.code_at(secret, totp.time_step(clock.now()))
    body = {"pending_token": first["pending_token"], "method": "totp", "proof": {"code": code}}
    done = client.post("/v1/auth/signin/second-factor", json=body)
    assert done.status_code == 200 and done.json()["status"] == "signed_in", done.text


def test_the_same_code_sent_twice_at_once_is_accepted_once(
    database: Database, vault: Vault, settings: Settings
) -> None:
    with UnitOfWork(database) as unit:
        user = make_user(unit.session, vault, NOW)
        enrolment = totp.start_enrolment(unit.session, vault, user.id, label="me", now=NOW)
        totp.confirm_enrolment(
            unit.session, vault, user.id, code=_current(enrolment.secret, NOW), now=NOW
        )
        unit.commit()
    later = NOW + timedelta(seconds=30)
    code = _current(enrolment.secret, later)
    barrier = threading.Barrier(4)
    keyring = load_keyring(settings.resolved_key_file, None, None)
    assert keyring is not None

    def attempt() -> bool:
        own_vault = KeyService(keyring).vault()  # one per unit of work, as in the server
        barrier.wait()
        with UnitOfWork(database) as unit:
            accepted = totp.verify(unit.session, own_vault, user.id, code, later)
            unit.commit()
        return accepted

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: attempt(), range(4)))
    assert sorted(results) == [False, False, False, True]
