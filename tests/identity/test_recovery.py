"""Recovery codes: ten, single use, stored as keyed hashes, replaced as a set."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from anxin.identity import recovery
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import RecoveryCode
from anxin.privacy.keyring import load_keyring
from anxin.privacy.keys import KeyService
from anxin.privacy.vault import Vault
from anxin.settings import Settings
from tests.identity.test_totp import make_user

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
FORMAT = re.compile(r"^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$")


@pytest.fixture
def vault(settings: Settings) -> Vault:
    keyring = load_keyring(settings.resolved_key_file, None, None)
    assert keyring is not None
    return KeyService(keyring).vault()


@pytest.fixture
def uow(database: Database) -> Iterator[UnitOfWork]:
    with UnitOfWork(database) as unit:
        yield unit


def test_ten_distinct_readable_codes_stored_only_hashed(uow: UnitOfWork, vault: Vault) -> None:
    user = make_user(uow.session, vault, NOW)
    codes = recovery.generate(uow.session, vault, user.id, NOW)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(FORMAT.match(code) for code in codes)
    stored = uow.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id))
    hashes = [row.code_hash for row in stored]
    assert len(hashes) == 10
    for code in codes:
        assert not any(code.replace("-", "") in h or code in h for h in hashes)
    assert recovery.remaining(uow.session, user.id) == 10


def test_each_code_works_once(uow: UnitOfWork, vault: Vault) -> None:
    user = make_user(uow.session, vault, NOW)
    codes = recovery.generate(uow.session, vault, user.id, NOW)
    assert recovery.verify(uow.session, vault, user.id, codes[3], NOW)
    assert not recovery.verify(uow.session, vault, user.id, codes[3], NOW)
    assert recovery.remaining(uow.session, user.id) == 9


def test_typing_variants_are_forgiven(uow: UnitOfWork, vault: Vault) -> None:
    user = make_user(uow.session, vault, NOW)
    code = recovery.generate(uow.session, vault, user.id, NOW)[0]
    sloppy = f"  {code.upper().replace('-', ' ')} "
    assert recovery.verify(uow.session, vault, user.id, sloppy, NOW)


def test_codes_belong_to_their_user(uow: UnitOfWork, vault: Vault) -> None:
    alice = make_user(uow.session, vault, NOW)
    bob = make_user(uow.session, vault, NOW)
    alice_codes = recovery.generate(uow.session, vault, alice.id, NOW)
    recovery.generate(uow.session, vault, bob.id, NOW)
    assert not recovery.verify(uow.session, vault, bob.id, alice_codes[0], NOW)
    assert recovery.verify(uow.session, vault, alice.id, alice_codes[0], NOW)


def test_regenerating_replaces_every_old_code(uow: UnitOfWork, vault: Vault) -> None:
    user = make_user(uow.session, vault, NOW)
    old = recovery.generate(uow.session, vault, user.id, NOW)
    recovery.verify(uow.session, vault, user.id, old[0], NOW)
    new = recovery.generate(uow.session, vault, user.id, NOW)
    assert recovery.remaining(uow.session, user.id) == 10
    assert not set(old) & set(new)
    assert not any(recovery.verify(uow.session, vault, user.id, code, NOW) for code in old)
    assert recovery.verify(uow.session, vault, user.id, new[9], NOW)


@pytest.mark.parametrize("bad", ["", "abc", "x" * 200, "0000-0000-000!", "ü" * 12])
def test_malformed_input_is_simply_wrong(uow: UnitOfWork, vault: Vault, bad: str) -> None:
    user = make_user(uow.session, vault, NOW)
    recovery.generate(uow.session, vault, user.id, NOW)
    assert not recovery.verify(uow.session, vault, user.id, bad, NOW)


def test_discard_all(uow: UnitOfWork, vault: Vault) -> None:
    user = make_user(uow.session, vault, NOW)
    codes = recovery.generate(uow.session, vault, user.id, NOW)
    recovery.discard_all(uow.session, user.id)
    assert recovery.remaining(uow.session, user.id) == 0
    assert not recovery.verify(uow.session, vault, user.id, codes[0], NOW)
