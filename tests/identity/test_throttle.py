"""Throttles: moving windows shared by every process (database or Redis), the growing
delay after password failures, and the second-factor block."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
import redis
from fastapi.testclient import TestClient
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from anxin.api.deps import Container
from anxin.identity.throttle import (
    InvalidSecondFactor,
    SecondFactorBlocked,
    SqlStorage,
    Throttle,
    TooManyAttempts,
    ensure_factors_not_blocked,
    factor_failure_error,
    record_factor_failure,
    reset_factor_failures,
)
from anxin.kit.clock import ManualClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from tests.identity.conftest import PASSWORD, Person

REDIS_URL = "redis://127.0.0.1:6379/15"


def test_sql_storage_moving_window(database: Database, clock: ManualClock) -> None:
    limiter = MovingWindowRateLimiter(SqlStorage(database, clock))
    three = parse("3 per minute")
    assert all(limiter.hit(three, "k") for _ in range(3))
    assert not limiter.hit(three, "k")
    assert limiter.hit(three, "other")  # keys are independent
    clock.advance(timedelta(seconds=30))
    assert not limiter.test(three, "k")
    stats = limiter.get_window_stats(three, "k")
    assert stats.remaining == 0 and stats.reset_time == pytest.approx(
        (clock.now() + timedelta(seconds=30)).timestamp()
    )
    clock.advance(timedelta(seconds=30))  # the first entries left the window
    assert limiter.test(three, "k")
    assert limiter.hit(three, "k")
    limiter.clear(three, "k")
    assert limiter.get_window_stats(three, "k").remaining == 3


def test_two_processes_share_the_count(db_url: str, clock: ManualClock) -> None:
    """Two workers = two engines on one database: the limit is counted once."""
    first, second = Database(db_url), Database(db_url)
    try:
        a = MovingWindowRateLimiter(SqlStorage(first, clock))
        b = MovingWindowRateLimiter(SqlStorage(second, clock))
        two = parse("2 per hour")
        assert a.hit(two, "shared") and b.hit(two, "shared")
        assert not a.hit(two, "shared") and not b.hit(two, "shared")
    finally:
        first.dispose()
        second.dispose()


def test_sql_storage_counters_and_purge(database: Database, clock: ManualClock) -> None:
    storage = SqlStorage(database, clock)
    assert storage.check()
    assert storage.incr("c", 10) == 1 and storage.incr("c", 10) == 2
    assert storage.get("c") == 2
    assert storage.get_expiry("c") == pytest.approx(
        (clock.now() + timedelta(seconds=10)).timestamp()
    )
    clock.advance(timedelta(seconds=10))
    assert storage.get("c") == 0 and storage.incr("c", 10) == 1  # expired: starts again
    clock.advance(timedelta(seconds=11))
    assert storage.purge_expired() >= 1
    storage.incr("d", 10)
    assert storage.reset() == 1


def test_growing_delay_after_password_failures(database: Database, clock: ManualClock) -> None:
    throttle = Throttle(SqlStorage(database, clock))
    waits = []
    for _ in range(8):
        try:
            throttle.check_password_attempt("acct", "203.0.113.9")
        except TooManyAttempts as refused:
            waits.append(refused.extra["retry_after"])
            clock.advance(timedelta(seconds=refused.extra["retry_after"]))
            throttle.check_password_attempt("acct", "203.0.113.9")
        throttle.password_failed("acct", "203.0.113.9")
    assert waits == [1, 2, 4, 8, 16]  # from the third failure, each doubles the wait
    throttle.password_succeeded("acct")
    throttle.check_password_attempt("acct", "203.0.113.9")


def test_per_account_and_per_address_windows(database: Database, clock: ManualClock) -> None:
    throttle = Throttle(SqlStorage(database, clock))
    for n in range(10):
        throttle.password_failed("victim", f"198.51.100.{n}")
        throttle.password_succeeded("victim")  # the delay never starts; the window counts
    with pytest.raises(TooManyAttempts) as refused:
        throttle.check_password_attempt("victim", "192.0.2.1")
    assert 0 < refused.value.extra["retry_after"] <= 900
    for n in range(50):
        throttle.password_failed(f"account-{n}", "192.0.2.77")
    with pytest.raises(TooManyAttempts):
        throttle.check_password_attempt("someone-new", "192.0.2.77")
    throttle.check_password_attempt("someone-new", "192.0.2.78")


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {error}")


def test_redis_backend() -> None:
    _redis_or_skip()
    prefix = f"anxin-test-{uuid.uuid4().hex}"
    throttle = Throttle(storage_from_string(REDIS_URL, key_prefix=prefix))  # type: ignore[arg-type]
    other_process = Throttle(storage_from_string(REDIS_URL, key_prefix=prefix))  # type: ignore[arg-type]
    try:
        for _ in range(3):
            throttle.password_failed("acct", "192.0.2.5")
        with pytest.raises(TooManyAttempts):
            other_process.check_password_attempt("acct", "192.0.2.5")
        for _ in range(5):
            other_process.hit("code:contact", "c")
        with pytest.raises(TooManyAttempts):
            throttle.check("code:contact", "c")
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def test_settings_pick_redis_when_configured(
    tmp_path: object, database: Database, clock: ManualClock
) -> None:
    from limits.storage import RedisStorage

    from anxin.identity.throttle import build_storage
    from anxin.settings import Settings

    assert isinstance(build_storage(Settings(redis_url=REDIS_URL), database, clock), RedisStorage)
    assert isinstance(build_storage(Settings(), database, clock), SqlStorage)


def test_unreachable_storage_fails_closed_with_503(database: Database, clock: ManualClock) -> None:
    throttle = Throttle(storage_from_string("redis://127.0.0.1:1/0", socket_connect_timeout=0.2))  # type: ignore[arg-type]
    with pytest.raises(Exception) as refused:
        throttle.check_password_attempt("acct", "192.0.2.1")
    assert getattr(refused.value, "code", None) == "rate_limit_unavailable"


def test_second_factor_failures_warn_then_block(
    container: Container, holder: Callable[..., Person], clock: ManualClock
) -> None:
    person = holder()
    with UnitOfWork(container.database) as uow:
        user = uow.session.get(User, uuid.UUID(person.user_id))
        assert user is not None
        errors = [
            factor_failure_error(record_factor_failure(uow.session, user, clock.now()))
            for _ in range(5)
        ]
        assert [type(e) for e in errors] == [InvalidSecondFactor] * 4 + [SecondFactorBlocked]
        assert [e.extra.get("attempts_left") for e in errors[:4]] == [4, 3, 2, 1]
        assert errors[3].extra["warning"] == "last_attempt" and "one more" in errors[3].detail
        with pytest.raises(SecondFactorBlocked):
            ensure_factors_not_blocked(uow.session, user, clock.now() + timedelta(minutes=14))
        ensure_factors_not_blocked(uow.session, user, clock.now() + timedelta(minutes=15))
        assert user.failed_factors == 0 and user.locked_until is None
        record_factor_failure(uow.session, user, clock.now())
        reset_factor_failures(uow.session, user)
        assert user.failed_factors == 0


def test_signin_is_throttled_the_same_for_unknown_accounts(
    client: TestClient, holder: Callable[..., Person]
) -> None:
    person = holder()
    answers = {}
    for identifier in (person.identifier, "+8613999999999"):
        seen = []
        for _ in range(4):
            response = client.post(
                "/v1/auth/signin", json={"identifier": identifier, "password": "wrong password!"}
            )
            seen.append((response.status_code, response.json()["code"]))
        answers[identifier] = seen
    assert answers[person.identifier] == answers["+8613999999999"] == [
        (401, "invalid_credentials"), (401, "invalid_credentials"), (401, "invalid_credentials"),
        (429, "too_many_attempts"),
    ]  # fmt: skip
    blocked = client.post(
        "/v1/auth/signin", json={"identifier": person.identifier, "password": PASSWORD}
    )
    assert blocked.status_code == 429 and int(blocked.json()["retry_after"]) >= 1
