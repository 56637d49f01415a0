"""Passkeys and the password reset in a real browser, Chinese on a phone and English on a
desktop: a holder signs up, adds a passkey (Chromium's virtual authenticator, through the
DevTools protocol), signs out, signs in with the passkey alone and opens the security
checkup; then forgets the password, resets it with the code sent to the phone and the
passkey as second factor, and signs in with the new password and the passkey.

WebAuthn refuses an IP address as relying-party id, so this server is browsed at
``localhost`` (origin and RP id ``localhost``), unlike the other journeys' 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import BIN, Server, _free_port, screenshot
from tests.web.test_journeys import CODE, LAYOUTS, PASSWORD, _submit, sign_up, unlabelled_fields

pytestmark = pytest.mark.slow
NEW_PASSWORD = "amber quokka lantern drifting 7"


@pytest.fixture
def local_server(db_url: str, tmp_path: Path, key_file: Path) -> Iterator[Server]:
    """``anxin serve`` as conftest's ``server``, but with http://localhost as origin."""
    port = _free_port()
    home = tmp_path / "home"
    env = {
        **os.environ,
        "ANXIN_ENV": "test", "ANXIN_HOME": str(home), "ANXIN_DATABASE_URL": db_url,
        "ANXIN_KEY_FILE": str(key_file), "ANXIN_HOST": "127.0.0.1", "ANXIN_PORT": str(port),
        "ANXIN_WEBAUTHN_ORIGIN": f"http://localhost:{port}", "ANXIN_WEBAUTHN_RP_ID": "localhost",
        "ANXIN_DELIVERY_INTERVAL_SECONDS": "0.2", "ANXIN_LOG_LEVEL": "warning",
    }  # fmt: skip
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [str(BIN / "anxin"), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=log_file
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(f"no server:\n{log_path.read_text()}") from None
                    time.sleep(0.2)
            yield Server(url=f"http://localhost:{port}", home=home, env=env)
        finally:
            process.terminate()
            process.wait(timeout=30)


def _virtual_authenticator(context: Any, page: Any) -> Any:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
    }})  # fmt: skip
    return cdp


def _passkey(page: Any, form: str) -> None:
    """Press a passkey button (revealed by static/passkey.js) and wait for the next page."""
    button = page.locator(f"{form} button[type=submit]")
    button.wait_for(state="visible")
    with page.expect_navigation():
        button.click()


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_passkey_and_password_reset(browser: Any, local_server: Server, lang: str) -> None:
    server = local_server
    context = browser.new_context(**LAYOUTS[lang])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _virtual_authenticator(context, page)
    phone = f"+86137{secrets.randbelow(10**8):08d}"
    page.goto(f"{server.url}/?lang={lang}")
    sign_up(page, server, phone, phone, "王安心" if lang == "zh_CN" else "Wang Anxin")

    # Add a passkey: a name, then the browser's own dialogue (the virtual authenticator).
    page.goto(f"{server.url}/security/passkeys")
    page.fill("#name", "Pixel")
    _submit(page, "/security/passkeys/new")
    _passkey(page, "form[data-passkey=create]")
    assert page.url.endswith("/security/passkeys?done=added")
    assert "Pixel" in page.inner_text("main table")
    _submit(page, "/sign-out")

    # Sign in with the passkey alone.
    page.goto(f"{server.url}/sign-in")
    _passkey(page, "form[action='/sign-in/passkey']")
    assert page.url.endswith("/wallet")
    page.goto(f"{server.url}/security")
    assert page.inner_text("[data-testid=passkey-count]") == "1"
    assert page.locator("nav a[aria-current=page]").get_attribute("href") == "/security"
    assert page.locator("main table").first.is_visible()
    assert unlabelled_fields(page) == []
    screenshot(page, "security", lang)
    _submit(page, "/sign-out")

    # Forgot the password: a code to the phone, the passkey as second factor.
    page.goto(f"{server.url}/sign-in")
    with page.expect_navigation():
        page.click("a[href='/password-reset']")
    sent_before = 1  # the sign-up code
    page.fill("#identifier", phone)
    _submit(page, "/password-reset")
    found = CODE.search(server.sent_to(phone, after=sent_before))
    assert found is not None
    page.fill("#code", found.group(1))
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#new_password_again", NEW_PASSWORD)
    page.locator("#strength .meter").wait_for()  # the meter answered (htmx)
    assert unlabelled_fields(page) == []
    _submit(page, "/password-reset/confirm")
    assert page.locator("#form-error").is_visible()  # "also give your second factor"
    _passkey(page, "form[data-passkey=get]")
    assert page.url.endswith("/sign-in?done=reset")
    assert page.locator("[role=status]").is_visible()

    # The old password no longer works; the new one with the passkey does.
    page.fill("#identifier", phone)
    page.fill("#password", PASSWORD)
    _submit(page, "/sign-in")
    assert page.locator("#form-error").is_visible()
    page.fill("#identifier", phone)
    page.fill("#password", NEW_PASSWORD)
    _submit(page, "/sign-in")
    _passkey(page, "form[data-passkey=get]")
    assert page.url.endswith("/wallet")
    # Refusals come as 4xx pages, which Chromium logs; anything else (a CSP violation) fails.
    assert [e for e in errors if "status of 4" not in e] == []
    context.close()
