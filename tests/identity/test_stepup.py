"""Step-up: the risk policy, challenges bound to one exact action, tokens, exemptions."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from anxin.identity import recovery, stepup, totp
from anxin.identity.stepup import StepUpPolicy, StepUpRequired
from anxin.identity.throttle import InvalidSecondFactor, SecondFactorBlocked
from anxin.kit.db import Database
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Challenge, Notification, User
from anxin.privacy.keyring import load_keyring
from anxin.privacy.keys import KeyService
from anxin.privacy.vault import Vault
from anxin.settings import Settings
from tests.identity.test_totp import make_user

START = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
POLICY = StepUpPolicy(
    amount_threshold={"CNY": 5_000}, exemption_cumulative={"CNY": 15_000}, exemption_count=5
)


def pay(amount: int = 1_000, payee: str = "acct-bob", currency: str = "CNY") -> dict[str, Any]:
    return {"type": "payment", "amount": amount, "currency": currency, "payee": payee}


class World:
    """One user with an authenticator app, a session and a clock that moves 30 s a call."""

    def __init__(self, uow: UnitOfWork, vault: Vault) -> None:
        self.uow, self.vault = uow, vault
        self.moment = START
        self.user: User = make_user(uow.session, vault, START)
        self.session_id = new_id()
        enrolment = totp.start_enrolment(uow.session, vault, self.user.id, label="me", now=START)
        self.secret = enrolment.secret
        totp.confirm_enrolment(uow.session, vault, self.user.id, code=self.code(), now=START)

    def tick(self) -> datetime:
        self.moment += timedelta(seconds=30)
        return self.moment

    def code(self) -> str:
        return totp.code_at(self.secret, totp.time_step(self.moment))

    def require(self, action: dict[str, Any], token: str | None = None, **kw: Any) -> None:
        stepup.require_step_up(
            self.uow.session, kw.get("user", self.user), kw.get("session_id", self.session_id),
            action=action, step_up_token=token, now=kw.get("now", self.moment), policy=POLICY,
        )  # fmt: skip

    def challenge(self, action: dict[str, Any]) -> StepUpRequired:
        with pytest.raises(StepUpRequired) as caught:
            self.require(action)
        stepup.persist_challenge(self.uow.session, caught.value)
        return caught.value

    def token_for(self, action: dict[str, Any]) -> str:
        error = self.challenge(action)
        self.tick()
        grant = stepup.satisfy(
            self.uow.session, self.vault, self.user, self.session_id, error.pending.id,
            method="totp", proof={"code": self.code()}, now=self.moment, policy=POLICY,
        )  # fmt: skip
        return grant.token


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
def world(uow: UnitOfWork, vault: Vault) -> World:
    return World(uow, vault)


# -- the policy -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action",
    [
        {"type": "withdrawal", "amount": 1, "currency": "CNY"},
        {"type": "change_password"},
        {"type": "change_contact", "kind": "email"},
        {"type": "disable_factor", "method": "totp", "factor_id": "x"},
        {"type": "create_mandate", "payee": "merchant-1", "currency": "CNY"},
        {"type": "add_payee", "payee": "acct-bob"},
        {"type": "something_new"},
        pay(amount=5_001),
        pay(currency="XAU"),
        pay(payee="acct-new"),
    ],
)
def test_risky_actions_need_a_second_factor(world: World, action: dict[str, Any]) -> None:
    error = world.challenge(action)
    problem = {"challenge_id": str(error.pending.id), "methods": ["totp"]}
    assert error.status == 401 and error.code == "step_up_required"
    assert {k: error.extra[k] for k in problem} == problem
    stored = world.uow.session.get(Challenge, error.pending.id)
    assert stored is not None and stored.purpose == "step_up" and stored.action == action
    assert stored.session_id == world.session_id and stored.user_id == world.user.id


@pytest.mark.parametrize(
    "action",
    [{}, {"type": ""}, {"type": "payment", "amount": 1.5, "currency": "CNY", "payee": "x"},
     {"type": "payment", "amount": True, "currency": "CNY", "payee": "x"},
     {"type": "payment", "amount": 0, "currency": "CNY", "payee": "x"},
     {"type": "payment", "amount": 5, "payee": "x"}, {"type": "add_payee"}],
)  # fmt: skip
def test_malformed_actions_are_refused(world: World, action: dict[str, Any]) -> None:
    with pytest.raises(stepup.InvalidAction):
        world.require(action)


def test_a_token_authorises_exactly_its_action_once(world: World) -> None:
    token = world.token_for(pay(amount=9_000))
    for other in (pay(amount=9_001), pay(amount=9_000, currency="USD"), pay(9_000, "acct-eve")):
        with pytest.raises(StepUpRequired, match="different action"):
            world.require(other, token)
    world.require(pay(amount=9_000), token)  # still unspent after the refusals
    with pytest.raises(StepUpRequired, match="already used"):
        world.require(pay(amount=9_000), token)


def test_a_token_is_bound_to_its_session_and_user(world: World) -> None:
    token = world.token_for(pay(amount=9_000))
    with pytest.raises(StepUpRequired, match="not valid"):
        world.require(pay(amount=9_000), token, session_id=new_id())
    stranger = make_user(world.uow.session, world.vault, START)
    with pytest.raises(stepup.SecondFactorRequired):
        world.require(pay(amount=9_000), token, user=stranger)


def test_tokens_expire(world: World) -> None:
    token = world.token_for(pay(amount=9_000))
    late = world.moment + POLICY.token_ttl
    with pytest.raises(StepUpRequired, match="expired"):
        world.require(pay(amount=9_000), token, now=late)


@pytest.mark.parametrize(
    "token", ["", "garbage", "su_", "su_nothex_secret", f"su_{uuid.uuid4().hex}_secret"]
)
def test_forged_tokens_are_refused(world: World, token: str) -> None:
    with pytest.raises(StepUpRequired):
        world.require(pay(amount=9_000), token)


def test_an_unsatisfied_challenge_id_is_no_token(world: World) -> None:
    error = world.challenge(pay(amount=9_000))
    with pytest.raises(StepUpRequired, match="not valid"):
        world.require(pay(amount=9_000), f"su_{error.pending.id.hex}_")


# -- trusted payees and the low-value exemption ---------------------------------------------


def test_a_stepped_up_payment_trusts_the_payee_and_small_payments_flow(world: World) -> None:
    token = world.token_for(pay(amount=2_000))
    world.require(pay(amount=2_000), token)
    assert stepup.is_trusted(world.uow.session, world.user.id, "acct-bob")
    for _ in range(5):
        world.require(pay(amount=1_000))  # exempt: 5 x 10 CNY
    with pytest.raises(StepUpRequired, match="cap"):  # the sixth in a row
        world.require(pay(amount=1_000))
    # A step-up resets the running count and total.
    token = world.token_for(pay(amount=1_000))
    world.require(pay(amount=1_000), token)
    world.require(pay(amount=1_000))


def test_the_cumulative_cap_counts_amounts(world: World) -> None:
    stepup.trust_payee(world.uow.session, world.user.id, "acct-bob", START)
    world.require(pay(amount=5_000))
    world.require(pay(amount=5_000))
    world.require(pay(amount=4_000))
    with pytest.raises(StepUpRequired, match="cap"):
        world.require(pay(amount=1_001))  # 15_001 > 15_000
    world.require(pay(amount=1_000))  # exactly at the cap


def test_large_payments_to_trusted_payees_still_need_step_up(world: World) -> None:
    stepup.trust_payee(world.uow.session, world.user.id, "acct-bob", START)
    with pytest.raises(StepUpRequired, match="amount"):
        world.require(pay(amount=5_001))


def test_add_payee_step_up_trusts_the_payee(world: World) -> None:
    token = world.token_for({"type": "add_payee", "payee": "acct-carol"})
    world.require({"type": "add_payee", "payee": "acct-carol"}, token)
    world.require(pay(amount=100, payee="acct-carol"))
    assert [p.payee for p in stepup.trusted_payees(world.uow.session, world.user.id)] == [
        "acct-carol"
    ]


def test_without_a_factor_money_actions_are_refused_but_password_change_is_not(
    uow: UnitOfWork, vault: Vault
) -> None:
    user = make_user(uow.session, vault, START)
    with pytest.raises(stepup.SecondFactorRequired):
        stepup.require_step_up(
            uow.session, user, new_id(), action=pay(), step_up_token=None, now=START,
            policy=POLICY,
        )  # fmt: skip
    stepup.require_step_up(
        uow.session, user, new_id(), action={"type": "change_password"}, step_up_token=None,
        now=START, policy=POLICY,
    )  # fmt: skip


# -- answering challenges -------------------------------------------------------------------


def _satisfy(world: World, challenge_id: uuid.UUID, method: str, proof: dict[str, Any]) -> str:
    return stepup.satisfy(
        world.uow.session, world.vault, world.user, world.session_id, challenge_id,
        method=method, proof=proof, now=world.moment, policy=POLICY,
    ).token  # fmt: skip


def test_wrong_proofs_warn_then_block(world: World) -> None:
    error = world.challenge(pay(amount=9_000))
    world.tick()
    for failures in range(1, 5):
        with pytest.raises(InvalidSecondFactor) as caught:
            _satisfy(world, error.pending.id, "totp", {"code": "000000"})
        assert caught.value.extra["attempts_left"] == 5 - failures
        assert world.user.failed_factors == failures
    assert caught.value.extra["warning"] == "last_attempt"
    with pytest.raises(SecondFactorBlocked):
        _satisfy(world, error.pending.id, "totp", {"code": "000000"})
    told = world.uow.session.scalars(select(Notification.kind).where(
        Notification.user_id == world.user.id)).all()  # fmt: skip
    assert told == ["security.factors_blocked"]
    with pytest.raises(SecondFactorBlocked):  # even the right code, while blocked
        _satisfy(world, error.pending.id, "totp", {"code": world.code()})


def test_success_resets_the_failure_count(world: World) -> None:
    error = world.challenge(pay(amount=9_000))
    world.tick()
    with pytest.raises(InvalidSecondFactor):
        _satisfy(world, error.pending.id, "totp", {"code": "000000"})
    assert _satisfy(world, error.pending.id, "totp", {"code": world.code()}).startswith("su_")
    assert world.user.failed_factors == 0


def test_an_unenrolled_method_is_just_a_wrong_proof(world: World) -> None:
    error = world.challenge(pay(amount=9_000))
    with pytest.raises(InvalidSecondFactor):
        _satisfy(world, error.pending.id, "passkey", {"challenge_id": "x", "credential": {}})
    with pytest.raises(InvalidSecondFactor):
        _satisfy(world, error.pending.id, "sms", {"code": "123456"})


def test_recovery_codes_answer_challenges(world: World) -> None:
    codes = recovery.generate(world.uow.session, world.vault, world.user.id, START)
    error = world.challenge(pay(amount=9_000))
    assert error.extra["methods"] == ["totp", "recovery_code"]
    token = _satisfy(world, error.pending.id, "recovery_code", {"code": codes[0]})
    world.require(pay(amount=9_000), token)


def test_challenges_are_single_use_private_and_expire(world: World) -> None:
    error = world.challenge(pay(amount=9_000))
    world.tick()
    with pytest.raises(stepup.ChallengeNotFound):
        stepup.satisfy(
            world.uow.session, world.vault, world.user, new_id(), error.pending.id,
            method="totp", proof={"code": world.code()}, now=world.moment, policy=POLICY,
        )  # fmt: skip
    stranger = make_user(world.uow.session, world.vault, START)
    with pytest.raises(stepup.ChallengeNotFound):
        stepup.satisfy(
            world.uow.session, world.vault, stranger, world.session_id, error.pending.id,
            method="totp", proof={"code": world.code()}, now=world.moment, policy=POLICY,
        )  # fmt: skip
    with pytest.raises(stepup.ChallengeNotFound):
        _satisfy(world, new_id(), "totp", {"code": world.code()})
    _satisfy(world, error.pending.id, "totp", {"code": world.code()})
    world.tick()
    with pytest.raises(stepup.ChallengeUsed):
        _satisfy(world, error.pending.id, "totp", {"code": world.code()})
    late = world.challenge(pay(amount=9_001))
    world.moment += POLICY.challenge_ttl
    with pytest.raises(stepup.ChallengeExpired):
        _satisfy(world, late.pending.id, "totp", {"code": world.code()})


def test_racing_small_payments_cannot_both_take_the_last_exemption(
    world: World, database: Database
) -> None:
    stepup.trust_payee(world.uow.session, world.user.id, "acct-bob", START)
    for _ in range(4):
        world.require(pay(amount=1_000))
    world.uow.commit()
    barrier = threading.Barrier(2)

    def attempt() -> str:
        barrier.wait()
        with UnitOfWork(database) as unit:
            user = unit.session.get(User, world.user.id)
            assert user is not None
            try:
                stepup.require_step_up(
                    unit.session, user, world.session_id, action=pay(amount=1_000),
                    step_up_token=None, now=world.moment, policy=POLICY,
                )  # fmt: skip
            except StepUpRequired:
                return "step-up"
            unit.commit()
            return "exempt"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(lambda _: attempt(), range(2)))
    assert outcomes == ["exempt", "step-up"]
