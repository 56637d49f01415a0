"""Tier limits on balance and outflow, and the holder's own daily limit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from anxin.identity import limits, stepup, totp
from anxin.identity.limits import DEFAULT_TIER_LIMITS, LimitExceeded, LimitPolicy
from anxin.kit.clock import ManualClock
from anxin.kit.db import Database
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from anxin.privacy.keyring import load_keyring
from anxin.privacy.keys import KeyService
from anxin.privacy.vault import Vault
from anxin.settings import Settings
from tests.identity.conftest import Person
from tests.identity.test_totp import enrol_totp, make_user

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
POLICY = LimitPolicy(tiers=DEFAULT_TIER_LIMITS, daily_limit_currency="CNY")


@pytest.fixture
def vault(settings: Settings) -> Vault:
    keyring = load_keyring(settings.resolved_key_file, None, None)
    assert keyring is not None
    return KeyService(keyring).vault()


@pytest.fixture
def uow(database: Database) -> Iterator[UnitOfWork]:
    with UnitOfWork(database) as unit:
        yield unit


def holder(tier: str = "unverified", daily_limit: int | None = None) -> User:
    return User(id=new_id(), kind="holder", tier=tier, daily_limit=daily_limit)


def outflow(user: User, **kw: Any) -> None:
    args: dict[str, Any] = {
        "currency": "CNY", "amount": 1_000, "balance_after": 0, "outflow_today": 0,
        "outflow_month": 0,
    }  # fmt: skip
    args.update(kw)
    limits.check_outflow(None, user, policy=POLICY, **args)  # type: ignore[arg-type]


def test_the_default_tiers_match_the_published_amounts() -> None:
    cny = {tier: DEFAULT_TIER_LIMITS[tier]["CNY"] for tier in ("unverified", "basic", "full")}
    assert cny["unverified"] == {
        "balance": 100_000, "daily_outflow": 50_000, "monthly_outflow": 200_000
    }  # fmt: skip
    assert cny["basic"] == {
        "balance": 2_000_000, "daily_outflow": 1_000_000, "monthly_outflow": 5_000_000
    }  # fmt: skip
    assert cny["full"] == {
        "balance": 50_000_000, "daily_outflow": 20_000_000, "monthly_outflow": 100_000_000
    }  # fmt: skip


def test_within_limits_passes() -> None:
    outflow(holder(), amount=50_000)
    outflow(holder(), amount=1, outflow_today=49_999, outflow_month=199_999, balance_after=100_000)


@pytest.mark.parametrize(
    ("kw", "limit", "maximum", "attempted"),
    [
        ({"amount": 50_001}, "daily_outflow", 50_000, 50_001),
        ({"amount": 2, "outflow_today": 49_999}, "daily_outflow", 50_000, 50_001),
        ({"amount": 1, "outflow_month": 200_000}, "monthly_outflow", 200_000, 200_001),
        ({"currency": "XAU"}, "currency", None, 1_000),
    ],
)
def test_each_limit_names_itself(
    kw: dict[str, Any], limit: str, maximum: int | None, attempted: int
) -> None:
    with pytest.raises(LimitExceeded) as caught:
        outflow(holder(), **kw)
    error = caught.value
    assert (error.status, error.code) == (422, "limit_exceeded")
    assert error.extra["limit"] == limit
    assert (error.extra["maximum"], error.extra["attempted"]) == (maximum, attempted)


def test_a_balance_above_the_cap_can_still_be_spent() -> None:
    """A holder over their tier's balance cap (after a downgrade, say) spends it down; the
    cap only stops money coming in."""
    outflow(holder(), amount=1, balance_after=100_001)
    with pytest.raises(LimitExceeded) as caught:
        limits.check_balance(None, holder(), currency="CNY", balance_after=100_001, policy=POLICY)  # type: ignore[arg-type]
    assert caught.value.extra["limit"] == "balance"


def test_higher_tiers_allow_more() -> None:
    outflow(holder("basic"), amount=1_000_000)
    with pytest.raises(LimitExceeded):
        outflow(holder("basic"), amount=1_000_001)
    outflow(holder("full"), amount=20_000_000, outflow_month=80_000_000)


def test_the_holders_own_limit_applies_in_its_currency_only() -> None:
    user = holder("basic", daily_limit=20_000)
    with pytest.raises(LimitExceeded) as caught:
        outflow(user, amount=5_000, outflow_today=15_001)
    assert caught.value.extra["limit"] == "holder_daily_limit"
    outflow(user, currency="USD", amount=5_000, outflow_today=15_001)


def test_balance_check_for_incoming_money() -> None:
    limits.check_balance(None, holder(), currency="CNY", balance_after=100_000, policy=POLICY)  # type: ignore[arg-type]
    with pytest.raises(LimitExceeded):
        limits.check_balance(None, holder(), currency="CNY", balance_after=100_001, policy=POLICY)  # type: ignore[arg-type]


def test_policy_from_settings_with_overrides() -> None:
    custom = {"unverified": {"JPY": {"balance": 1, "daily_outflow": 1, "monthly_outflow": 1}}}
    settings = Settings(tier_limits=custom, daily_limit_currency="JPY")
    policy = LimitPolicy.from_settings(settings)
    assert policy.for_tier("unverified", "JPY") is not None
    assert policy.for_tier("unverified", "CNY") is None
    assert LimitPolicy.from_settings(Settings()).tiers == DEFAULT_TIER_LIMITS


# -- setting the daily limit ----------------------------------------------------------------


def _enrolled(uow: UnitOfWork, vault: Vault) -> tuple[User, str]:
    user = make_user(uow.session, vault, NOW)
    enrolment = totp.start_enrolment(uow.session, vault, user.id, label="me", now=NOW)
    code = totp.code_at(enrolment.secret, totp.time_step(NOW))
    totp.confirm_enrolment(uow.session, vault, user.id, code=code, now=NOW)
    return user, enrolment.secret


def test_lowering_applies_at_once_raising_needs_step_up(uow: UnitOfWork, vault: Vault) -> None:
    user, secret = _enrolled(uow, vault)
    session_id = new_id()
    assert limits.daily_limit(user, POLICY).effective == 50_000
    result = limits.set_daily_limit(
        uow.session, user, session_id, limit=10_000, step_up_token=None, now=NOW, policy=POLICY
    )
    assert (result.chosen, result.effective, user.daily_limit) == (10_000, 10_000, 10_000)
    limits.set_daily_limit(
        uow.session, user, session_id, limit=5_000, step_up_token=None, now=NOW, policy=POLICY
    )
    with pytest.raises(stepup.StepUpRequired) as caught:
        limits.set_daily_limit(
            uow.session, user, session_id, limit=20_000, step_up_token=None, now=NOW,
            policy=POLICY,
        )  # fmt: skip
    assert user.daily_limit == 5_000
    stepup.persist_challenge(uow.session, caught.value)
    later = NOW + timedelta(seconds=30)
    grant = stepup.satisfy(
        uow.session, vault, user, session_id, caught.value.pending.id, method="totp",
        proof={"code": totp.code_at(secret, totp.time_step(later))}, now=later,
    )  # fmt: skip
    with pytest.raises(stepup.StepUpRequired):  # the token is for 20_000, not 30_000
        limits.set_daily_limit(
            uow.session, user, session_id, limit=30_000, step_up_token=grant.token, now=later,
            policy=POLICY,
        )  # fmt: skip
    limits.set_daily_limit(
        uow.session, user, session_id, limit=20_000, step_up_token=grant.token, now=later,
        policy=POLICY,
    )  # fmt: skip
    assert user.daily_limit == 20_000
    # Clearing the own limit goes back up to the tier's, so it is a raise too.
    with pytest.raises(stepup.StepUpRequired):
        limits.set_daily_limit(
            uow.session, user, session_id, limit=None, step_up_token=None, now=later,
            policy=POLICY,
        )  # fmt: skip


def test_the_own_limit_cannot_exceed_the_tier(uow: UnitOfWork, vault: Vault) -> None:
    user, _ = _enrolled(uow, vault)
    with pytest.raises(limits.DailyLimitAboveTier):
        limits.set_daily_limit(
            uow.session, user, new_id(), limit=50_001, step_up_token=None, now=NOW,
            policy=POLICY,
        )  # fmt: skip
    # Setting it to exactly the tier's limit is not a raise.
    limits.set_daily_limit(
        uow.session, user, new_id(), limit=50_000, step_up_token=None, now=NOW, policy=POLICY
    )
    assert user.daily_limit == 50_000


# -- the API --------------------------------------------------------------------------------


def test_limits_api(client: TestClient, holder: Callable[..., Person], clock: ManualClock) -> None:
    alice = holder()
    shown = client.get("/v1/me/limits", headers=alice.headers).json()
    assert shown["tier"] == "unverified"
    assert shown["limits"]["CNY"] == {
        "balance": 100_000, "daily_outflow": 50_000, "monthly_outflow": 200_000
    }  # fmt: skip
    assert shown["daily_limit"] == {
        "currency": "CNY", "tier_limit": 50_000, "chosen": None, "effective": 50_000
    }  # fmt: skip
    lowered = client.put("/v1/me/limits", json={"daily_limit": 10_000}, headers=alice.headers)
    assert lowered.status_code == 200 and lowered.json()["daily_limit"]["effective"] == 10_000
    secret = enrol_totp(client, alice, clock)
    raise_to = {"daily_limit": 30_000}
    refused = client.put("/v1/me/limits", json=raise_to, headers=alice.headers)
    assert refused.status_code == 401 and refused.json()["code"] == "step_up_required"
    clock.advance(timedelta(seconds=30))
    code = totp.code_at(secret, totp.time_step(clock.now()))
    answered = client.post(
        f"/v1/auth/step-up/{refused.json()['challenge_id']}",
        json={"method": "totp", "proof": {"code": code}}, headers=alice.headers,
    )  # fmt: skip
    assert answered.status_code == 200, answered.text
    assert answered.json()["action"] == {
        "type": "raise_daily_limit", "daily_limit": 30_000, "currency": "CNY"
    }  # fmt: skip
    token = {**alice.headers, "X-Step-Up-Token": answered.json()["step_up_token"]}
    other = client.put("/v1/me/limits", json={"daily_limit": 40_000}, headers=token)
    assert other.status_code == 401 and "different action" in other.json()["detail"]
    raised = client.put("/v1/me/limits", json=raise_to, headers=token)
    assert raised.status_code == 200 and raised.json()["daily_limit"]["chosen"] == 30_000
    again = client.put("/v1/me/limits", json={"daily_limit": 35_000}, headers=token)
    assert again.status_code == 401 and "already used" in again.json()["detail"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"daily_limit": 50_001}, "limit_above_tier"),
        ({"daily_limit": -1}, "validation_failed"),
        ({"daily_limit": 10.5}, "validation_failed"),
        ({"daily_limit": "100"}, "validation_failed"),
        ({}, "validation_failed"),
    ],
)
def test_bad_limits(
    client: TestClient, holder: Callable[..., Person], body: dict[str, Any], code: str
) -> None:
    alice = holder()
    response = client.put("/v1/me/limits", json=body, headers=alice.headers)
    assert response.status_code == 422 and response.json()["code"] == code, response.text


def test_raising_without_any_factor_is_refused(
    client: TestClient, holder: Callable[..., Person]
) -> None:
    alice = holder()
    client.put("/v1/me/limits", json={"daily_limit": 100}, headers=alice.headers)
    response = client.put("/v1/me/limits", json={"daily_limit": 200}, headers=alice.headers)
    assert response.status_code == 403 and response.json()["code"] == "second_factor_required"
