"""The accessibility gate: axe-core (pinned in package.json, read from node_modules) run
in a real browser over every page in PAGES, in Chinese on a phone and English on a
desktop, for a signed-out visitor, a signed-in holder and a staff member in the console.
No violation of impact "serious" or "critical" is allowed; each is printed with the page,
the rule, and the elements, to fix it where it is.

axe is injected with ``page.evaluate`` (DevTools evaluation, outside the page's CSP), so
the pages keep their strict policy while they are checked."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import Authenticator, Server
from tests.web.test_care_journey import _console_sign_in, _new_staff
from tests.web.test_journeys import LAYOUTS, _submit, enrol_authenticator, sign_up

pytestmark = pytest.mark.slow
AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# ANXIN_AXE_IMPACTS=minor,moderate,serious,critical shows the lesser findings too.
BLOCKING = tuple(os.environ.get("ANXIN_AXE_IMPACTS", "serious,critical").split(","))

# Every page to check, by who sees it. `{ticket}` is a complaint the holder filed here.
# Add new pages here (the lead: withdraw, pay, mandates, security, console disputes, ...).
PAGES: dict[str, tuple[str, ...]] = {
    "visitor": (
        "/sign-in", "/sign-up", "/password-reset", "/status", "/console/sign-in",
    ),
    "holder": (
        "/wallet", "/top-up", "/withdraw", "/transfer", "/statement", "/pay", "/mandates",
        "/notifications", "/security", "/security/access-log", "/security/totp",
        "/security/passkeys", "/security/password", "/security/contact", "/care",
        "/care/new", "/care/{ticket}", "/appeals/new",
    ),
    "staff": (
        "/console", "/console/tickets/{ticket}", "/console/disputes", "/console/incidents",
    ),
}  # fmt: skip


def violations(page: Any, source: str) -> list[str]:
    """axe's serious and critical findings on the current page, one readable line each."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source)
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(
                n => `${n.target.join(' ')}  ${n.html.slice(0, 160)}`)}))"""
    )
    return [
        f"{v['impact']}: {v['id']} ({v['help']})\n      " + "\n      ".join(v["nodes"][:5])
        for v in found
        if v["impact"] in BLOCKING
    ]


def check(page: Any, server: Server, source: str, paths: tuple[str, ...], ticket: str,
          report: dict[str, list[str]]) -> None:  # fmt: skip
    for path in paths:
        url = path.replace("{ticket}", ticket)
        answer = page.goto(f"{server.url}{url}")
        assert answer is not None and answer.status < 500, f"{url}: {answer and answer.status}"
        found = violations(page, source)
        if found:
            report[f"{url} (shown: {page.url.removeprefix(server.url)})"] = found


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_no_serious_accessibility_violations(browser: Any, server: Server, lang: str) -> None:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `make install` (npm ci)")
    source = AXE.read_text(encoding="utf-8")
    report: dict[str, list[str]] = {}

    visitor = browser.new_context(**LAYOUTS[lang])
    page = visitor.new_page()
    page.goto(f"{server.url}/sign-in?lang={lang}")
    check(page, server, source, PAGES["visitor"], "", report)
    # The gate itself: an image without a text alternative is caught.
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=x>')")
    assert any("image-alt" in line for line in violations(page, source))
    visitor.close()

    holder = browser.new_context(**LAYOUTS[lang])
    page = holder.new_page()
    page.goto(f"{server.url}/?lang={lang}")
    phone = f"+86136{secrets.randbelow(10**8):08d}"
    sign_up(page, server, phone, phone, "林安心" if lang == "zh_CN" else "Lin Anxin")
    enrol_authenticator(page)
    page.goto(f"{server.url}/care/new")
    page.fill("#subject", "<i>axe</i>")
    page.fill("#body", "checking every page")
    _submit(page, "/care/new")
    ticket = page.url.split("?")[0].rsplit("/", 1)[1]
    check(page, server, source, PAGES["holder"], ticket, report)
    holder.close()

    email = f"axe-{secrets.token_hex(3)}@anxin.example"
    _new_staff(server, email)
    staff = browser.new_context(**LAYOUTS[lang])
    console = staff.new_page()
    console.goto(f"{server.url}/console/sign-in?lang={lang}")
    _console_sign_in(console, server, email)
    check(console, server, source, ("/console/enrol",), ticket, report)
    _submit(console, "/console/enrol")
    app = Authenticator(console.inner_text("#totp-secret").strip())
    console.fill("#code", app.code())
    _submit(console, "/console/enrol/confirm")
    _console_sign_in(console, server, email)
    console.fill("#code", app.code())
    _submit(console, "/console/sign-in/second-factor")
    check(console, server, source, PAGES["staff"], ticket, report)
    staff.close()

    lines = [f"{page}\n    " + "\n    ".join(found) for page, found in report.items()]
    assert not report, f"axe ({lang}): serious or critical violations\n" + "\n".join(lines)
