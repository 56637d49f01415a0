"""Browser tests: a real ``anxin serve`` on a free port against a fresh database (SQLite,
and PostgreSQL with ANXIN_TEST_POSTGRES_URL), driven by Debian's Chromium through
Playwright (never a downloaded browser; .ci/run installs the package).

With ANXIN_SCREENSHOTS=<dir> (``make screenshots``) the last page of each journey is
saved there per language.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyotp
import pytest

from anxin.identity.totp import STEP_SECONDS, time_step
from anxin.kit.clock import SystemClock

# The domains' fixtures, shared by every page test here: pytest collects a conftest's
# fixtures from its namespace, so importing them once serves the whole folder. The
# incidents' settings (sessions that outlive simulated hours) extend the care desk's,
# which extend the wallet's and identity's.
from tests.care.conftest import agent, senior
from tests.incidents.conftest import (
    burst,
    client,
    clock,
    container,
    deliver,
    detection,
    enrol_totp,
    holder,
    last_code,
    mailbox,
    make_staff,
    manager,
    ready_staff,
    runtime,
    settings,
    sms,
    totp_code,
    uow,
    vault,
)  # fmt: skip
from tests.wallet.conftest import api_for, fee_rule, give, rail, set_tier

__all__ = [
    "agent", "api_for", "burst", "client", "clock", "container", "deliver", "detection",
    "enrol_totp", "fee_rule", "give", "holder", "last_code", "mailbox", "make_staff", "manager",
    "rail", "ready_staff", "runtime", "senior", "set_tier", "settings", "sms", "totp_code", "uow",
    "vault",
]  # fmt: skip

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = os.environ.get("ANXIN_SCREENSHOTS")
BIN = Path(sys.executable).parent


def browser_pairs() -> set[tuple[str, str]]:
    """The (language, database) pairs a browser journey runs in.

    Each journey runs once per language, each language on its own database when PostgreSQL
    is there (Chinese on SQLite, English on PostgreSQL): both languages and both databases
    are driven in a real browser, while the page tests beside them run every page on both
    databases. ANXIN_BROWSER_ALL=1 (``make screenshots``) runs every pair available."""
    if os.environ.get("ANXIN_BROWSER_ALL"):
        return {(lang, db) for lang in ("zh_CN", "en") for db in ("sqlite", "postgres")}
    if os.environ.get("ANXIN_TEST_POSTGRES_URL"):
        return {("zh_CN", "sqlite"), ("en", "postgres")}
    return {("zh_CN", "sqlite"), ("en", "sqlite")}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    pairs = browser_pairs()
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        journey = "browser" in getattr(item, "fixturenames", ())
        pair = (params.get("lang"), params.get("db_url"))
        if journey and None not in pair and pair not in pairs:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    url: str
    home: Path
    env: dict[str, str]

    def sent_to(self, recipient: str, *, after: int = 0, wait: float = 20.0) -> str:
        """The latest SMS or email body the fake senders wrote for ``recipient`` (the
        outbox sends every 0.2 s; this waits for it, it asserts nothing about time)."""
        deadline = time.monotonic() + wait
        while True:
            found = []
            for name in ("dev-sms.jsonl", "dev-email.jsonl"):
                path = self.home / name
                if path.exists():
                    for line in path.read_text(encoding="utf-8").splitlines():
                        item = json.loads(line)
                        if item["recipient"] == recipient:
                            found.append(item["body"])
            if len(found) > after:
                return str(found[-1])
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing was sent to {recipient}")
            time.sleep(0.1)

    def anxin(self, *args: str) -> str:
        done = subprocess.run(
            [str(BIN / "anxin"), *args], env=self.env, capture_output=True, text=True,
            check=True, timeout=120,
        )  # fmt: skip
        return done.stdout


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra environment for the ``server`` (a test module overrides this fixture)."""
    return {}


@pytest.fixture
def server(
    db_url: str, tmp_path: Path, key_file: Path, server_env: dict[str, str]
) -> Iterator[Server]:
    port = _free_port()
    home = tmp_path / "home"
    env = {
        **os.environ,
        "ANXIN_ENV": "test", "ANXIN_HOME": str(home), "ANXIN_DATABASE_URL": db_url,
        "ANXIN_KEY_FILE": str(key_file), "ANXIN_HOST": "127.0.0.1", "ANXIN_PORT": str(port),
        "ANXIN_WEBAUTHN_ORIGIN": f"http://127.0.0.1:{port}", "ANXIN_WEBAUTHN_RP_ID": "127.0.0.1",
        "ANXIN_DELIVERY_INTERVAL_SECONDS": "0.2", "ANXIN_LOG_LEVEL": "warning",
        **server_env,
    }  # fmt: skip
    log_file = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "anxin"), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=log_file
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (tmp_path / "server.log").read_text()
                    raise AssertionError(f"the server did not start:\n{log}") from None
                time.sleep(0.2)
        yield Server(url=url, home=home, env=env)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log_file.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


class Authenticator:
    """The holder's authenticator app: one code per time step, never the same step twice
    (the server refuses a reused step), so later codes may come from the next step."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last_step: int | None = None

    def code(self) -> str:
        while True:
            now = SystemClock().now()
            current = time_step(now)
            # The server accepts the previous step too, unless its clock moves on to the
            # next step before the code arrives: use it only well inside the current step.
            oldest = current - 1 if now.second % STEP_SECONDS < STEP_SECONDS - 5 else current
            step = oldest if self.last_step is None else max(self.last_step + 1, oldest)
            if step <= current + 1:
                self.last_step = step
                return str(self.totp.generate_otp(step))
            time.sleep(1)  # every code the server would accept now is used: wait


def door_for(path: str) -> str:
    """Where a signed-out holder asking for ``path`` is sent: the sign-in, which brings
    them back to ``path`` afterwards (the wallet is where it goes anyway)."""
    return "/sign-in" if path == "/wallet" else f"/sign-in?{urlencode({'next': path})}"


def screenshot(page: Any, journey: str, lang: str) -> None:
    if SCREENSHOTS:
        target = Path(SCREENSHOTS)
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / f"{journey}-{lang}.png"), full_page=True)
