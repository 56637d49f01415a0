"""Step-up (strong customer authentication) for risky actions.

A risk policy decides which actions need a fresh second factor: a payment to a new payee or
above the threshold, a withdrawal, a change of password or contact, removing a factor,
creating a payment mandate, raising the daily limit. When one is needed the caller gets
``StepUpRequired`` with a challenge bound to the SHA-256 of the action's canonical JSON;
``POST /v1/auth/step-up/{challenge_id}`` with a factor proof turns it into a short-lived,
single-use token, and only a request for exactly the same action (amount, currency,
payee, ...) in the same session can spend it.

Low-value payments to a trusted payee (one confirmed with step-up before) are exempt while
the running total and count since the last step-up stay under a cap (PSD2 RTS article 16).

The challenge raised with ``StepUpRequired`` is not in the caller's transaction (which
rolls back on the error): the API's handler for this error stores it in its own
transaction (``persist_challenge``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from anxin.identity.notifications import notify
from anxin.identity.throttle import (
    MAX_FACTOR_FAILURES,
    ensure_factors_not_blocked,
    factor_failure_error,
    record_factor_failure,
    reset_factor_failures,
)
from anxin.kit.canonical import fingerprint
from anxin.kit.errors import Conflict, Forbidden, Gone, NotFound, Unauthorized, Unprocessable
from anxin.kit.ids import new_id
from anxin.models import Challenge, ExemptionLedger, TrustedPayee, User
from anxin.privacy.vault import Vault
from anxin.settings import Settings, get_settings

PURPOSE = "step_up"
TOKEN_PREFIX = "su_"  # noqa: S105 - a prefix, not a secret
STEP_UP_HEADER = "X-Step-Up-Token"

# Always need a second factor, whatever the amount.
ALWAYS = frozenset({
    "withdrawal", "change_password", "change_contact", "disable_factor", "create_mandate",
    "add_payee", "raise_daily_limit", "add_factor", "generate_recovery_codes",
})  # fmt: skip
# A user without any second factor can still do these (they only prove the password
# again); everything else needs a factor enrolled first.
ALLOWED_WITHOUT_FACTOR = frozenset({"change_password", "change_contact"})
PAYEE_ACTIONS = frozenset({"payment", "add_payee"})

# Defaults per currency in minor units (about 50 and 150 CNY, as PSD2's 50/150 EUR).
DEFAULT_THRESHOLD = {"CNY": 5_000, "USD": 700, "EUR": 650, "HKD": 5_500}
DEFAULT_CUMULATIVE = {"CNY": 15_000, "USD": 2_100, "EUR": 1_950, "HKD": 16_500}


class StepUpRequired(Unauthorized):
    code = "step_up_required"
    title = "This action needs a second factor"

    def __init__(self, detail: str, *, pending: Challenge, methods: list[str]) -> None:
        super().__init__(
            detail, challenge_id=str(pending.id), methods=methods,
            expires_at=pending.expires_at.isoformat(),
        )  # fmt: skip
        self.pending = pending


class SecondFactorRequired(Forbidden):
    code = "second_factor_required"
    title = "Enrol an authenticator app or a passkey first"


class InvalidAction(Unprocessable):
    code = "invalid_action"
    title = "The action to authorise is malformed"


@dataclass(frozen=True)
class StepUpPolicy:
    amount_threshold: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_THRESHOLD))
    exemption_cumulative: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CUMULATIVE))
    exemption_count: int = 5
    challenge_ttl: timedelta = timedelta(minutes=5)
    token_ttl: timedelta = timedelta(minutes=2)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> StepUpPolicy:
        s = settings or get_settings()
        return cls(
            amount_threshold=dict(s.step_up_amount_threshold or DEFAULT_THRESHOLD),
            exemption_cumulative=dict(s.step_up_exemption_cumulative or DEFAULT_CUMULATIVE),
            exemption_count=s.step_up_exemption_count,
            challenge_ttl=timedelta(seconds=s.step_up_challenge_ttl_seconds),
            token_ttl=timedelta(seconds=s.step_up_token_ttl_seconds),
        )


@dataclass(frozen=True)
class Decision:
    required: bool
    reason: str
    exempt_currency: str | None = None  # set when the action uses the exemption budget
    exempt_amount: int = 0


def _validate(action: dict[str, Any]) -> str:
    kind = action.get("type") if isinstance(action, dict) else None
    if not isinstance(kind, str) or not kind:
        raise InvalidAction("an action needs a `type`")
    if kind == "payment":
        amount, currency = action.get("amount"), action.get("currency")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise InvalidAction("a payment needs a positive integer `amount` in minor units")
        if not isinstance(currency, str) or not currency:
            raise InvalidAction("a payment needs a `currency`")
    if kind in PAYEE_ACTIONS and not isinstance(action.get("payee"), str):
        raise InvalidAction(f"a {kind} needs a `payee`")
    return kind


# -- trusted payees and the exemption budget ------------------------------------------------


def _insert_ignore(session: Session, model: Any, values: dict[str, Any]) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(model).values(**values).on_conflict_do_nothing())


def is_trusted(session: Session, user_id: uuid.UUID, payee: str) -> bool:
    found = session.scalar(
        select(TrustedPayee.id).where(TrustedPayee.user_id == user_id, TrustedPayee.payee == payee)
    )
    return found is not None


def trust_payee(session: Session, user_id: uuid.UUID, payee: str, now: datetime) -> None:
    _insert_ignore(
        session,
        TrustedPayee,
        {"id": new_id(), "user_id": user_id, "payee": payee, "created_at": now},
    )


def trusted_payees(session: Session, user_id: uuid.UUID) -> list[TrustedPayee]:
    query = select(TrustedPayee).where(TrustedPayee.user_id == user_id)
    return list(session.scalars(query.order_by(TrustedPayee.created_at)))


def _budget(session: Session, user_id: uuid.UUID, currency: str, now: datetime) -> ExemptionLedger:
    _insert_ignore(
        session, ExemptionLedger,
        {"user_id": user_id, "currency": currency, "total": 0, "count": 0, "reset_at": now},
    )  # fmt: skip
    row = session.scalars(
        select(ExemptionLedger)
        .where(ExemptionLedger.user_id == user_id, ExemptionLedger.currency == currency)
        .with_for_update()  # concurrent small payments must not both fit under the cap
        .execution_options(populate_existing=True)
    ).one()
    return row


def _reset_budgets(session: Session, user_id: uuid.UUID, now: datetime) -> None:
    session.execute(
        update(ExemptionLedger)
        .where(ExemptionLedger.user_id == user_id)
        .values(total=0, count=0, reset_at=now)
        .execution_options(synchronize_session="fetch")
    )


# -- the policy -----------------------------------------------------------------------------


def evaluate(
    session: Session, user: User, action: dict[str, Any], policy: StepUpPolicy, now: datetime
) -> Decision:
    kind = _validate(action)
    if kind != "payment":
        return Decision(True, f"{kind.replace('_', ' ')} needs a second factor")
    amount, currency, payee = action["amount"], action["currency"], action.get("payee")
    threshold = policy.amount_threshold.get(currency)
    if threshold is None or amount > threshold:
        return Decision(True, "the amount is above the limit for payments without a second factor")
    if payee is None or not is_trusted(session, user.id, payee):
        return Decision(True, "the payee is new: confirm it once with a second factor")
    cap = policy.exemption_cumulative.get(currency, 0)
    budget = _budget(session, user.id, currency, now)
    if budget.total + amount > cap or budget.count + 1 > policy.exemption_count:
        return Decision(True, "small payments since the last confirmation reached their cap")
    return Decision(False, "low-value payment to a trusted payee", currency, amount)


def _methods(session: Session, user_id: uuid.UUID) -> list[str]:
    from anxin.identity.factors import enrolled_methods  # factors uses this module too

    return enrolled_methods(session, user_id)


def _pending(
    user: User, auth_session_id: uuid.UUID, action: dict[str, Any], policy: StepUpPolicy,
    now: datetime,
) -> Challenge:  # fmt: skip
    return Challenge(
        id=new_id(), user_id=user.id, session_id=auth_session_id, purpose=PURPOSE,
        # Before it is satisfied the challenge holds random bytes; afterwards the SHA-256
        # of the step-up token, so the token itself is never stored.
        challenge=secrets.token_bytes(32), action=action, action_hash=fingerprint(action),
        expires_at=now + policy.challenge_ttl, satisfied_at=None, satisfied_by=None,
        consumed_at=None, created_at=now,
    )  # fmt: skip


def persist_challenge(session: Session, error: StepUpRequired) -> None:
    """Store the challenge an error announced (in a transaction of its own)."""
    session.add(error.pending)
    session.flush()


def _split_token(token: str) -> tuple[uuid.UUID, bytes] | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    head, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
    try:
        return uuid.UUID(hex=head), secret.encode()
    except ValueError:
        return None


def token_digest(secret: bytes) -> bytes:
    return hashlib.sha256(secret).digest()


def _redeem(
    session: Session, user: User, auth_session_id: uuid.UUID, token: str, action_hash: str,
    now: datetime,
) -> str | None:  # fmt: skip
    """None if the token authorises this action (it is spent), else why not."""
    parts = _split_token(token)
    row = None
    if parts is not None:
        row = session.scalars(
            select(Challenge).where(Challenge.id == parts[0]).with_for_update()
        ).first()
    if (
        parts is None or row is None or row.purpose != PURPOSE or row.user_id != user.id
        or row.session_id != auth_session_id or row.satisfied_at is None
        or not hmac.compare_digest(row.challenge, token_digest(parts[1]))
    ):  # fmt: skip
        return "the step-up token is not valid"
    if row.consumed_at is not None:
        return "the step-up token was already used"
    if row.expires_at <= now:
        return "the step-up token expired"
    if row.action_hash is None or not hmac.compare_digest(row.action_hash, action_hash):
        return "the step-up token was issued for a different action"
    row.consumed_at = now
    session.flush()
    return None


def require_step_up(
    session: Session, user: User, auth_session_id: uuid.UUID, *, action: dict[str, Any],
    step_up_token: str | None, now: datetime, policy: StepUpPolicy | None = None,
) -> None:  # fmt: skip
    """Return if ``action`` may go ahead; else raise ``StepUpRequired`` (or
    ``SecondFactorRequired`` when the user has no factor to step up with).

    A valid token for exactly this action is spent; writes (trusted payee, exemption
    counters) are in the caller's transaction, so they only last if the action does.
    """
    policy = policy or StepUpPolicy.from_settings()
    kind = _validate(action)
    why_not = None
    if step_up_token:
        why_not = _redeem(session, user, auth_session_id, step_up_token, fingerprint(action), now)
        if why_not is None:
            _reset_budgets(session, user.id, now)
            if kind in PAYEE_ACTIONS:
                trust_payee(session, user.id, action["payee"], now)
            return
    decision = evaluate(session, user, action, policy, now)
    if not decision.required:
        if decision.exempt_currency is not None:
            budget = _budget(session, user.id, decision.exempt_currency, now)
            budget.total += decision.exempt_amount
            budget.count += 1
            session.flush()
        return
    methods = _methods(session, user.id)
    if not methods:
        if kind in ALLOWED_WITHOUT_FACTOR:
            return
        raise SecondFactorRequired(f"{decision.reason}; enrol one in /v1/me/factors")
    detail = f"{why_not}; {decision.reason}" if why_not else decision.reason
    raise StepUpRequired(
        detail, pending=_pending(user, auth_session_id, action, policy, now), methods=methods
    )


# -- answering a challenge ------------------------------------------------------------------


class ChallengeNotFound(NotFound):
    code = "challenge_not_found"
    title = "No such step-up challenge"


class ChallengeUsed(Conflict):
    code = "challenge_used"
    title = "This step-up challenge was already answered"


class ChallengeExpired(Gone):
    code = "challenge_expired"
    title = "This step-up challenge expired; repeat the action for a new one"


@dataclass(frozen=True)
class StepUpGrant:
    token: str
    expires_at: datetime
    action: dict[str, Any]


def satisfy(
    session: Session, vault: Vault, user: User, auth_session_id: uuid.UUID,
    challenge_id: uuid.UUID, *, method: str, proof: dict[str, Any], now: datetime,
    policy: StepUpPolicy | None = None,
) -> StepUpGrant:  # fmt: skip
    """Check a factor proof for a challenge and issue its single-use step-up token.

    A wrong proof is counted (the fifth in a row blocks) and raised as the error to show;
    the caller must commit before re-raising so that the count is kept.
    """
    from anxin.identity.factors import verify_second_factor

    policy = policy or StepUpPolicy.from_settings()
    row = session.scalars(
        select(Challenge).where(Challenge.id == challenge_id).with_for_update()
    ).first()
    if (
        row is None or row.purpose != PURPOSE or row.user_id != user.id
        or row.session_id != auth_session_id
    ):  # fmt: skip
        raise ChallengeNotFound("no such step-up challenge in this session")
    if row.satisfied_at is not None or row.consumed_at is not None:
        raise ChallengeUsed("repeat the action for a new challenge")
    if row.expires_at <= now:
        raise ChallengeExpired()
    ensure_factors_not_blocked(session, user, now)
    valid = method in _methods(session, user.id) and verify_second_factor(
        session, vault, user, method=method, proof=proof, now=now
    )
    if not valid:
        failures = record_factor_failure(session, user, now)
        if failures == MAX_FACTOR_FAILURES:
            notify(session, vault, user, "security.factors_blocked", now=now)
        raise factor_failure_error(failures)
    reset_factor_failures(session, user)
    secret = secrets.token_urlsafe(32)
    row.challenge = token_digest(secret.encode())
    row.satisfied_at = now
    row.satisfied_by = method
    row.expires_at = now + policy.token_ttl
    session.flush()
    return StepUpGrant(f"{TOKEN_PREFIX}{row.id.hex}_{secret}", row.expires_at, row.action or {})
