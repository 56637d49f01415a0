"""Brute-force protection: rate limits shared by every worker, a growing delay after
repeated password failures, and the block after five failed second factors.

Counters live in Redis when ``ANXIN_REDIS_URL`` is set, else in the database
(``rate_limit_counters``) through ``SqlStorage``, a ``limits`` storage of our own, so that
several server processes count together. Limits are moving windows.

Password throttles are keyed by the blind index of the identifier typed in, never by user
id: an identifier that has no account is slowed down exactly like one that has, so the
answers never tell which exist. The second-factor block is per user (the password was
right by then, so the account's existence is no secret to the caller).

Each ``SqlStorage`` call is a short transaction of its own: on SQLite, callers must not
hold a write transaction open while counting (one writer at a time).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from limits import RateLimitItem, parse
from limits.storage import MovingWindowSupport, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Connection, Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.kit.errors import AnxinError, ServiceUnavailable, TooManyRequests, Unauthorized
from anxin.models import RateLimitCounter, User
from anxin.settings import Settings

_TABLE: Table = RateLimitCounter.__table__  # type: ignore[assignment]
MAX_FACTOR_FAILURES = 5
FACTOR_BLOCK = timedelta(minutes=15)
# Consecutive password failures per identifier before a delay starts, and its ceiling.
DELAY_AFTER = 3
MAX_DELAY_SECONDS = 900

RULES: dict[str, str] = {
    # failed sign-ins (and other password checks) per identifier / per client address
    "password:account": "10 per 15 minutes",
    "password:address": "50 per 15 minutes",
    "signup:address": "20 per hour",
    # codes sent to one contact (sign-up, resend, reset): no SMS bombing
    "code:contact": "5 per hour",
    "code:address": "30 per hour",
    # wrong codes typed, per client address
    "code-check:address": "50 per 15 minutes",
    "strength:address": "120 per minute",
}


class TooManyAttempts(TooManyRequests):
    code = "too_many_attempts"
    title = "Too many attempts; wait before trying again"


class InvalidSecondFactor(Unauthorized):
    code = "invalid_second_factor"
    title = "The second factor was not accepted"


class SecondFactorBlocked(TooManyRequests):
    code = "second_factor_blocked"
    title = "Second-factor verification is blocked after repeated failures"


class RateLimitUnavailable(ServiceUnavailable):
    code = "rate_limit_unavailable"
    title = "Attempt counters are unavailable; try again shortly"


class Rejected(Exception):
    """A refusal whose counting must survive: commit, update throttles, raise ``error``."""

    def __init__(
        self, error: AnxinError, *, commit: bool = False, password_failed: bool = False,
        code_failed: bool = False,
    ) -> None:  # fmt: skip
        super().__init__(error.detail)
        self.error, self.commit = error, commit
        self.password_failed, self.code_failed = password_failed, code_failed


# -- the database storage -----------------------------------------------------------------


class SqlStorage(Storage, MovingWindowSupport):
    """``limits`` storage over ``rate_limit_counters``.

    Counters (``incr``/``get``) are one row each. A moving window is one row per entry,
    keyed ``<key>#<n>`` and expiring ``expiry`` seconds after it was taken, plus the row
    ``<key>`` itself, which is locked first so that concurrent writers take turns.
    """

    STORAGE_SCHEME = ["anxin+sql"]

    def __init__(self, database: Database, clock: Clock) -> None:
        super().__init__(None)
        self._database, self._clock = database, clock

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return Exception

    def now_timestamp(self) -> float:
        return self._clock.now().timestamp()

    def _lock(self, connection: Connection, key: str, now: datetime) -> tuple[int, datetime]:
        # Make sure the row exists (without failing if another writer just made it), then
        # lock it: writers of one key queue here.
        values = {"key": key, "count": 0, "expires_at": now}
        if self._database.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            connection.execute(sqlite_insert(_TABLE).values(values).on_conflict_do_nothing())
        else:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            connection.execute(pg_insert(_TABLE).values(values).on_conflict_do_nothing())
        row = connection.execute(
            select(RateLimitCounter.count, RateLimitCounter.expires_at)
            .where(RateLimitCounter.key == key)
            .with_for_update()
        ).one()
        return int(row[0]), row[1]

    def _entries(self, key: str) -> tuple[str, str]:
        return f"{key}#", f"{key}$"  # all "<key>#..." sort between these ('$' follows '#')

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self._clock.now()
        with self._database.connect() as connection, connection.begin():
            stored, stored_expiry = self._lock(connection, key, now)
            live = stored_expiry > now
            count = (stored if live else 0) + amount
            expires = stored_expiry if live else now + timedelta(seconds=expiry)
            connection.execute(
                update(_TABLE)
                .where(RateLimitCounter.key == key)
                .values(count=count, expires_at=expires)
            )
        return count

    def get(self, key: str) -> int:
        now = self._clock.now()
        with self._database.connect(write=False) as connection:
            count = connection.execute(
                select(RateLimitCounter.count).where(
                    RateLimitCounter.key == key, RateLimitCounter.expires_at > now
                )
            ).scalar_one_or_none()
        return int(count or 0)

    def get_expiry(self, key: str) -> float:
        with self._database.connect(write=False) as connection:
            expires = connection.execute(
                select(RateLimitCounter.expires_at).where(RateLimitCounter.key == key)
            ).scalar_one_or_none()
        return expires.timestamp() if expires is not None else self.now_timestamp()

    def check(self) -> bool:
        with self._database.connect(write=False) as connection:
            connection.execute(select(1))
        return True

    def reset(self) -> int | None:
        with self._database.connect() as connection, connection.begin():
            return connection.execute(delete(RateLimitCounter)).rowcount

    def clear(self, key: str) -> None:
        low, high = self._entries(key)
        with self._database.connect() as connection, connection.begin():
            connection.execute(
                delete(RateLimitCounter).where(
                    (RateLimitCounter.key == key)
                    | ((RateLimitCounter.key > low) & (RateLimitCounter.key < high))
                )
            )

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self._clock.now()
        low, high = self._entries(key)
        in_key = (RateLimitCounter.key > low) & (RateLimitCounter.key < high)
        with self._database.connect() as connection, connection.begin():
            serial, _ = self._lock(connection, key, now)
            connection.execute(
                delete(RateLimitCounter).where(in_key, RateLimitCounter.expires_at <= now)
            )
            taken = connection.execute(
                select(func.coalesce(func.sum(RateLimitCounter.count), 0)).where(in_key)
            ).scalar_one()
            if int(taken) + amount > limit:
                return False
            # The header's count numbers the entries, so their keys never collide.
            serial += 1
            connection.execute(
                insert(_TABLE).values(
                    key=f"{key}#{serial}", count=amount,
                    expires_at=now + timedelta(seconds=expiry),
                )
            )  # fmt: skip
            connection.execute(
                update(_TABLE)
                .where(RateLimitCounter.key == key)
                .values(count=serial, expires_at=now + timedelta(seconds=expiry))
            )
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = self._clock.now()
        low, high = self._entries(key)
        with self._database.connect(write=False) as connection:
            row = connection.execute(
                select(
                    func.coalesce(func.sum(RateLimitCounter.count), 0),
                    func.min(RateLimitCounter.expires_at),
                ).where(
                    RateLimitCounter.key > low, RateLimitCounter.key < high,
                    RateLimitCounter.expires_at > now,
                )
            ).one()  # fmt: skip
        taken, oldest_expiry = int(row[0]), row[1]
        if not taken or oldest_expiry is None:
            return now.timestamp(), 0
        return oldest_expiry.timestamp() - expiry, taken

    def purge_expired(self) -> int:  # housekeeping: expired rows are ignored anyway
        now = self._clock.now()
        with self._database.connect() as connection, connection.begin():
            return connection.execute(
                delete(RateLimitCounter).where(RateLimitCounter.expires_at <= now)
            ).rowcount


def build_storage(settings: Settings, database: Database, clock: Clock) -> Storage:
    if settings.redis_url:
        storage = storage_from_string(settings.redis_url, key_prefix="anxin")
        assert isinstance(storage, Storage)
        return storage
    return SqlStorage(database, clock)


# -- throttles ----------------------------------------------------------------------------


class Throttle:
    """Named moving-window rules plus the password delay. Identifiers (client addresses,
    user ids) pass through ``pseudonymise`` first: an IP address is personal data and must
    not sit in the counters' keys in the clear."""

    def __init__(self, storage: Storage, pseudonymise: Callable[[str], str] | None = None) -> None:
        self.storage = storage
        self._key = pseudonymise or (lambda identifier: identifier)
        self._limiter = MovingWindowRateLimiter(storage)
        self._rules: dict[str, RateLimitItem] = {name: parse(rule) for name, rule in RULES.items()}
        for name, item in self._rules.items():
            item.namespace = f"rl:{name}"

    def purge_expired(self) -> int:  # the database's housekeeping; Redis expires keys itself
        purge = getattr(self.storage, "purge_expired", None)
        return int(purge()) if callable(purge) else 0

    def _now(self) -> float:
        clock = getattr(self.storage, "now_timestamp", None)
        return float(clock()) if callable(clock) else time.time()

    def _retry_after(self, reset_at: float) -> int:
        return max(1, math.ceil(reset_at - self._now()))

    def _guard(self, action: str) -> RateLimitUnavailable:
        return RateLimitUnavailable(f"could not {action} the attempt counters")

    def check(self, rule: str, identifier: str) -> None:
        """Raise ``TooManyAttempts`` if this rule's window is used up for the identifier."""
        item, identifier = self._rules[rule], self._key(identifier)
        try:
            allowed = self._limiter.test(item, identifier)
            if allowed:
                return
            stats = self._limiter.get_window_stats(item, identifier)
        except AnxinError:
            raise
        except Exception as error:
            raise self._guard("read") from error
        seconds = self._retry_after(stats.reset_time)
        raise TooManyAttempts(f"too many attempts; try again in {seconds} s", retry_after=seconds)

    def hit(self, rule: str, identifier: str) -> bool:
        try:
            return self._limiter.hit(self._rules[rule], self._key(identifier))
        except Exception as error:
            raise self._guard("update") from error

    def consume(self, rule: str, identifier: str) -> None:
        """Count an attempt that is limited whatever its outcome (sending a code)."""
        self.check(rule, identifier)
        self.hit(rule, identifier)

    # -- growing delay after password failures ---------------------------------------------

    def check_password_attempt(self, account_key: str, address: str) -> None:
        """Before checking a password: refuse while a delay or a window is running."""
        delay_key = f"delay:{self._key(account_key)}"
        try:
            waiting = self.storage.get(delay_key)
            until = self.storage.get_expiry(delay_key) if waiting else 0.0
        except Exception as error:
            raise self._guard("read") from error
        if waiting:
            seconds = self._retry_after(until)
            raise TooManyAttempts(
                f"too many failed attempts; try again in {seconds} s", retry_after=seconds
            )
        self.check("password:account", account_key)
        self.check("password:address", address)

    def password_failed(self, account_key: str, address: str) -> int:
        """Count a failure; from the third in a row each one doubles the wait (1 s, 2 s,
        4 s, ... 15 min). Returns the consecutive failures."""
        self.hit("password:account", account_key)
        self.hit("password:address", address)
        key = self._key(account_key)
        try:
            failures = self.storage.incr(f"fails:{key}", 86_400)
            if failures >= DELAY_AFTER:
                delay = min(2 ** (failures - DELAY_AFTER), MAX_DELAY_SECONDS)
                self.storage.clear(f"delay:{key}")
                self.storage.incr(f"delay:{key}", delay)
        except Exception as error:
            raise self._guard("update") from error
        return failures

    def password_succeeded(self, account_key: str) -> None:
        key = self._key(account_key)
        try:
            self.storage.clear(f"fails:{key}")
            self.storage.clear(f"delay:{key}")
        except Exception as error:
            raise self._guard("update") from error


# -- second-factor failures (shared with the factor endpoints) ----------------------------


def ensure_factors_not_blocked(session: Session, user: User, now: datetime) -> None:
    """Raise ``SecondFactorBlocked`` while the block runs; lift it once it has run out."""
    if user.failed_factors < MAX_FACTOR_FAILURES:
        return
    if user.locked_until is not None and user.locked_until > now:
        seconds = max(1, math.ceil((user.locked_until - now).total_seconds()))
        raise SecondFactorBlocked(
            f"five second factors in a row were wrong; try again in {seconds} s or reset "
            "your password",
            retry_after=seconds,
        )
    reset_factor_failures(session, user)


def record_factor_failure(session: Session, user: User, now: datetime) -> int:
    """Count one failed second factor; the fifth in a row blocks for 15 minutes."""
    user.failed_factors += 1
    if user.failed_factors >= MAX_FACTOR_FAILURES:
        user.locked_until = now + FACTOR_BLOCK
    user.updated_at = now
    session.flush()
    return user.failed_factors


def reset_factor_failures(session: Session, user: User) -> None:
    if user.failed_factors or user.locked_until is not None:
        user.failed_factors = 0
        user.locked_until = None
        session.flush()


def factor_failure_error(failures: int) -> AnxinError:
    """The error to answer a failed second factor with: a warning before the fifth."""
    if failures >= MAX_FACTOR_FAILURES:
        seconds = int(FACTOR_BLOCK.total_seconds())
        return SecondFactorBlocked(
            "five second factors in a row were wrong; verification is blocked for "
            f"{seconds // 60} minutes",
            retry_after=seconds,
        )
    left = MAX_FACTOR_FAILURES - failures
    if left == 1:
        return InvalidSecondFactor(
            "the code or passkey was not accepted. Warning: one more failure blocks "
            "second-factor verification for 15 minutes",
            attempts_left=left, warning="last_attempt",
        )  # fmt: skip
    return InvalidSecondFactor("the code or passkey was not accepted", attempts_left=left)
