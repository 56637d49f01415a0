"""Identity verification (KYC) through a provider, raising the holder's tier on approval.

The submission (name, ID number, date of birth, address) is personal data of the most
sensitive kind: it is stored only encrypted under the holder's data key. Providers may
decide at once or later; a pending check is refreshed by asking the provider again (or by
its callback calling ``apply_decision``). A tier is only ever raised by an approval.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.kit.errors import Conflict, Unprocessable
from anxin.kit.ids import new_id
from anxin.models import KycCheck, User
from anxin.models.identity import TIERS
from anxin.privacy.vault import Vault

TABLE = "identity_kyc_checks"
COLUMN = "submission_enc"
VERIFIED_TIERS = ("basic", "full")


@dataclass(frozen=True)
class KycSubmission:
    full_name: str
    id_type: str  # resident_id | passport
    id_number: str
    date_of_birth: date
    nationality: str  # ISO 3166-1 alpha-2
    address: str | None = None  # required for the full tier

    def to_json(self) -> str:
        fields = asdict(self)
        fields["date_of_birth"] = self.date_of_birth.isoformat()
        return json.dumps(fields, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> KycSubmission:
        fields = json.loads(text)
        fields["date_of_birth"] = date.fromisoformat(fields["date_of_birth"])
        return cls(**fields)


@dataclass(frozen=True)
class KycDecision:
    approved: bool
    reason: str | None = None  # a code, never personal data


@dataclass(frozen=True)
class KycReceipt:
    reference: str
    decision: KycDecision | None  # None: the provider decides later


class KycProvider(Protocol):
    name: str

    def submit(self, tier: str, submission: KycSubmission) -> KycReceipt: ...

    def fetch_decision(self, reference: str) -> KycDecision | None: ...


class FakeKycProvider:
    """Approves well-formed submissions, rejects flagged ones (ID number ending in 0000).

    With ``asynchronous=True`` decisions are held until ``release()``, like a provider
    whose reviewers take a while.
    """

    name = "fake"

    def __init__(self, *, asynchronous: bool = False) -> None:
        self.asynchronous = asynchronous
        self._decided: dict[str, KycDecision] = {}
        self._held: set[str] = set()

    @staticmethod
    def decide(tier: str, submission: KycSubmission) -> KycDecision:
        if submission.id_number.endswith("0000"):
            return KycDecision(False, "flagged")
        if not submission.full_name.strip() or len(submission.id_number) < 6:
            return KycDecision(False, "malformed")
        if tier == "full" and not (submission.address or "").strip():
            return KycDecision(False, "address_missing")
        return KycDecision(True)

    def submit(self, tier: str, submission: KycSubmission) -> KycReceipt:
        reference = f"fake-{secrets.token_hex(8)}"
        self._decided[reference] = self.decide(tier, submission)
        if self.asynchronous:
            self._held.add(reference)
            return KycReceipt(reference, None)
        return KycReceipt(reference, self._decided[reference])

    def release(self, reference: str | None = None) -> None:
        """Let held decisions (one, or all) be fetched."""
        self._held.difference_update(self._held if reference is None else {reference})

    def fetch_decision(self, reference: str) -> KycDecision | None:
        if reference in self._held:
            return None
        return self._decided.get(reference)


class KycAlreadyPending(Conflict):
    code = "kyc_pending"
    title = "A verification is already in progress"


class TierAlreadyReached(Conflict):
    code = "tier_already_reached"
    title = "Your account is already verified at this tier or higher"


def latest(session: Session, user_id: uuid.UUID) -> KycCheck | None:
    return session.scalars(
        select(KycCheck)
        .where(KycCheck.user_id == user_id)
        .order_by(KycCheck.created_at.desc(), KycCheck.id.desc())
    ).first()


def apply_decision(
    session: Session, check: KycCheck, decision: KycDecision, now: datetime
) -> KycCheck:
    if check.status != "pending":
        return check  # decisions are final; a late duplicate callback changes nothing
    check.status = "approved" if decision.approved else "rejected"
    check.reason = None if decision.approved else (decision.reason or "rejected")[:300]
    check.decided_at = now
    user = session.get(User, check.user_id)
    if decision.approved and user is not None and TIERS.index(check.tier) > TIERS.index(user.tier):
        user.tier = check.tier
        user.updated_at = now
    session.flush()
    return check


def submit(
    session: Session, vault: Vault, user: User, provider: KycProvider, *, tier: str,
    submission: KycSubmission, now: datetime,
) -> KycCheck:  # fmt: skip
    if tier not in VERIFIED_TIERS:
        raise Unprocessable(f"apply for one of {', '.join(VERIFIED_TIERS)}", code="invalid_tier")
    if TIERS.index(tier) <= TIERS.index(user.tier):
        raise TierAlreadyReached(f"you are at the {user.tier} tier already")
    previous = latest(session, user.id)
    if previous is not None and previous.status == "pending":
        raise KycAlreadyPending("wait for the decision on your previous submission")
    check_id = new_id()
    check = KycCheck(
        id=check_id, user_id=user.id, tier=tier, provider=provider.name, provider_ref=None,
        submission_enc=vault.encrypt(
            session, user.id, table=TABLE, column=COLUMN, row_id=check_id,
            plaintext=submission.to_json(),
        ),
        status="pending", reason=None, created_at=now, decided_at=None,
    )  # fmt: skip
    session.add(check)
    session.flush()
    receipt = provider.submit(tier, submission)
    check.provider_ref = receipt.reference[:100]
    if receipt.decision is not None:
        apply_decision(session, check, receipt.decision, now)
    session.flush()
    return check


def refresh(
    session: Session, provider: KycProvider, user_id: uuid.UUID, now: datetime
) -> KycCheck | None:
    """The latest check, after asking the provider about it if it is still pending."""
    check = latest(session, user_id)
    if check is None or check.status != "pending" or check.provider_ref is None:
        return check
    if check.provider != provider.name:
        return check
    decision = provider.fetch_decision(check.provider_ref)
    if decision is not None:
        apply_decision(session, check, decision, now)
    return check


def read_submission(session: Session, vault: Vault, check: KycCheck) -> KycSubmission:
    """Decrypt a submission (for compliance review)."""
    text = vault.decrypt(
        session, check.user_id, table=TABLE, column=COLUMN, row_id=check.id,
        ciphertext=check.submission_enc,
    )  # fmt: skip
    return KycSubmission.from_json(text)
