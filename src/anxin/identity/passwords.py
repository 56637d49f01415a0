"""Password policy (NIST SP 800-63B) and hashing (Argon2id).

No composition rules ("one digit, one symbol"): length, a blocklist of common and breached
passwords, words from the context (the service, the person's own phone or email) and a
strength estimate (zxcvbn) decide, and a refusal says what would help. Any Unicode is
allowed; passwords are NFKC-normalised so the same password typed on two keyboards matches.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from anxin.kit.errors import Unprocessable
from anxin.settings import Settings

HOLDER_MIN_LENGTH = 8
STAFF_MIN_LENGTH = 15
MAX_LENGTH = 128  # NIST: allow at least 64
HOLDER_MIN_SCORE = 2  # zxcvbn scores 0-4
STAFF_MIN_SCORE = 3
# zxcvbn's matching cost grows with length; beyond this a password is long enough that the
# estimate of its first part is a fair (pessimistic) answer.
_ESTIMATE_CHARS = 72
SERVICE_WORDS = ("anxin", "安心", "wallet", "钱包", "qianbao")


class WeakPassword(Unprocessable):
    code = "weak_password"
    title = "Choose a stronger password"


@dataclass(frozen=True)
class Strength:
    """What a strength meter shows: a score 0 (very weak) to 4 (very strong) and advice."""

    score: int
    warning: str
    suggestions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "warning": self.warning, "suggestions": self.suggestions}


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


@cache
def blocklist() -> frozenset[str]:
    """zxcvbn's list of the 30,000 most common passwords plus our own additions."""
    shipped = resources.files("anxin.identity").joinpath("data/common-passwords.txt")
    extra = [
        line.strip().lower()
        for line in shipped.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    common = FREQUENCY_LISTS["passwords"]  # a string, until zxcvbn's matcher splits it
    words = common.split(",") if isinstance(common, str) else list(common)
    return frozenset(w.lower() for w in words) | frozenset(extra)


def context_words(*values: str | None) -> list[str]:
    """Words a guesser would try for this person: the service's name, their email (and its
    local part), their phone number (and its last eight digits), their name."""
    words: list[str] = list(SERVICE_WORDS)
    for value in values:
        if not value:
            continue
        words.append(value.lower())
        if "@" in value:
            words.append(value.split("@", 1)[0].lower())
        digits = "".join(ch for ch in value if ch.isdigit())
        if len(digits) >= 8:
            words.extend([digits, digits[-8:], digits[-11:]])
    return sorted({w for w in words if w})


def estimate(password: str, context: Iterable[str] = ()) -> Strength:
    password = normalise(password)
    if not password:
        return Strength(0, "Enter a password.", [])
    result = zxcvbn(password[:_ESTIMATE_CHARS], user_inputs=list(context))
    feedback = result.get("feedback") or {}
    return Strength(
        score=int(result["score"]),
        warning=str(feedback.get("warning") or ""),
        suggestions=[str(s) for s in feedback.get("suggestions") or []],
    )


def check_new_password(password: str, *, staff: bool, context: Iterable[str] = ()) -> Strength:
    """Accept a new password or raise ``WeakPassword`` saying why and what would help."""
    password = normalise(password)
    words = list(context) or list(SERVICE_WORDS)
    minimum = STAFF_MIN_LENGTH if staff else HOLDER_MIN_LENGTH
    if len(password) < minimum:
        raise WeakPassword(
            f"use at least {minimum} characters; a few unrelated words make a long password "
            "that is easy to remember",
            reason="too_short", min_length=minimum,
        )  # fmt: skip
    if len(password) > MAX_LENGTH:
        raise WeakPassword(
            f"use at most {MAX_LENGTH} characters", reason="too_long", max_length=MAX_LENGTH
        )
    lowered = password.lower()
    if lowered in blocklist():
        raise WeakPassword(
            "this password is one of the most common ones and is tried first by attackers; "
            "choose something less predictable",
            reason="common", strength=Strength(0, "This is a very common password.").as_dict(),
        )  # fmt: skip
    personal = [w for w in words if len(w) >= 4 and w not in SERVICE_WORDS and w in lowered]
    if personal or lowered in words:
        raise WeakPassword(
            "do not use your phone number, email address, name or the service's name in "
            "your password",
            reason="contains_personal_data",
        )  # fmt: skip
    strength = estimate(password, words)
    needed = STAFF_MIN_SCORE if staff else HOLDER_MIN_SCORE
    if strength.score < needed:
        advice = " ".join([strength.warning, *strength.suggestions]).strip()
        raise WeakPassword(
            f"this password would be guessed too easily. {advice}".strip(),
            reason="too_guessable", strength=strength.as_dict(), min_score=needed,
        )  # fmt: skip
    return strength


class PasswordHasher:
    """Argon2id with at least OWASP's recommended parameters (19 MiB, 2 passes, 1 lane)."""

    def __init__(self, *, memory_kib: int, time_cost: int, parallelism: int) -> None:
        self._argon2 = _Argon2(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism,
            hash_len=32, salt_len=16, type=Type.ID,
        )  # fmt: skip
        # Verified when the account does not exist, so that both answers take as long.
        self._dummy = self._argon2.hash(secrets.token_urlsafe(16))

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordHasher:
        return cls(
            memory_kib=settings.password_hash_memory_kib,
            time_cost=settings.password_hash_time_cost,
            parallelism=settings.password_hash_parallelism,
        )

    def hash(self, password: str) -> str:
        return self._argon2.hash(normalise(password))

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True if the password matches. With no hash, burns the same time and says False."""
        try:
            return self._argon2.verify(stored_hash or self._dummy, normalise(password)) and (
                stored_hash is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the hash was made with other (older) parameters: rehash on login."""
        try:
            return self._argon2.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def unusable(self) -> str:
        """A hash no password matches (accounts that must set theirs first)."""
        return self.hash(secrets.token_urlsafe(48))
