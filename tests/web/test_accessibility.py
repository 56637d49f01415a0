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

from tests.web.accessibility_data import call, holder_data, staff_data
from tests.web.conftest import Authenticator, Server
from tests.web.test_care_journey import _console_sign_in
from tests.web.test_incident_journey import _console, _new_staff
from tests.web.test_journeys import LAYOUTS, _submit, enrol_authenticator, sign_up

pytestmark = pytest.mark.slow
AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# ANXIN_AXE_IMPACTS=minor,moderate,serious,critical shows the lesser findings too.
BLOCKING = tuple(os.environ.get("ANXIN_AXE_IMPACTS", "serious,critical").split(","))

# Every page to check, by who sees it. The `{...}` ids are data made for the gate
# (accessibility_data): a complaint with linked transactions, payment requests (one paid),
# a withdrawal, a mandate, a dispute, a freeze, an incident with updates and its plan.
# Holder pages are read after every piece of data exists (the wallet's freeze box, the
# inbox's messages, the access log's rows, the statement's lines).
PAGES: dict[str, tuple[str, ...]] = {
    "visitor": (
        "/sign-in", "/sign-up", "/password-reset", "/status", "/status/incidents/{reference}",
        "/console/sign-in",
    ),
    "holder": (
        "/wallet", "/top-up", "/withdraw", "/withdraw/{order}", "/transfer", "/statement",
        "/pay", "/pay/{intent}", "/pay/{paid}", "/mandates", "/mandates/{mandate}",
        "/notifications", "/security", "/security/access-log", "/security/recovery-codes",
        "/security/totp", "/security/passkeys", "/security/password", "/security/contact",
        "/care", "/care/new", "/care/{ticket}", "/appeals/new", "/appeals/new?freeze={freeze}",
    ),
    "staff": (
        "/console", "/console/tickets/{ticket}", "/console/disputes",
        "/console/disputes/{dispute}", "/console/incidents", "/console/incidents/{incident}",
        "/console/incidents/{incident}/affected",
        "/console/incidents/{incident}/affected?kind=merchant_debits&merchant_id={shop}"
        "&from={since}&to={until}",
        "/console/incidents/{incident}/report",
        "/console/incidents/{incident}/remediation",
        "/console/incidents/{incident}/remediation/{plan}",
    ),
}  # fmt: skip
# What proves a page shows its data (not an empty state): what axe checks is there.
SHOWS = {
    "/wallet": "main section.alert.error a[href^='/appeals/new?freeze=']",
    "/statement": "table.lines tbody tr:nth-child(3)",
    "/notifications": "ol.notices li:nth-child(2)",
    "/security/access-log": "table.access-log tbody tr",
    "/care/{ticket}": "dl.summary dd code:nth-of-type(2)",
    "/console/tickets/{ticket}": "section[aria-labelledby=transfers-title] tbody tr:nth-child(2)",
    "/console/incidents/{incident}/affected?kind=merchant_debits&merchant_id={shop}"
    "&from={since}&to={until}": "#affected-preview ul.masked li",
    "/status": "main a[href^='/status/incidents/']",
}
# Pages that answer otherwise by design, checked as they are: the not-found page (no
# freeze named), a form refused (the affected-holder query sent empty).
STATUS = {"/appeals/new": 404, "/console/incidents/{incident}/affected": 422}


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


def check(page: Any, server: Server, source: str, paths: tuple[str, ...], ids: dict[str, str],
          report: dict[str, list[str]]) -> None:  # fmt: skip
    for path in paths:
        url = path.format_map(ids)
        answer = page.goto(f"{server.url}{url}")
        # The page itself, not a 404 or a sign-in it was sent to: the data is what it shows.
        expected = STATUS.get(path, 200)
        assert answer is not None and answer.status == expected, (
            f"{url}: {answer and answer.status}"
        )
        shown = page.url.removeprefix(server.url)
        assert shown.split("?")[0] == url.split("?")[0], f"{url} went to {shown}"
        if path in SHOWS:
            assert page.locator(SHOWS[path]).count(), f"{url} does not show {SHOWS[path]}"
        scan(page, source, url, report)


def scan(page: Any, source: str, name: str, report: dict[str, list[str]]) -> None:
    found = violations(page, source)
    if found:
        report[name] = found


def _staff_console(browser: Any, server: Server, lang: str, source: str,
                   report: dict[str, list[str]]) -> Any:  # fmt: skip
    """A risk officer (incidents, freezes, reveals, disputes, the care queue) from
    ``anxin staff create``, enrolled and signed in with both factors."""
    email = _new_staff(server, "risk_officer")
    staff = browser.new_context(**LAYOUTS[lang])
    console = staff.new_page()
    console.goto(f"{server.url}/console/sign-in?lang={lang}")
    _console_sign_in(console, server, email)
    check(console, server, source, ("/console/enrol",), {}, report)
    _submit(console, "/console/enrol")
    app = Authenticator(console.inner_text("#totp-secret").strip())
    console.fill("#code", app.code())
    _submit(console, "/console/enrol/confirm")
    _console_sign_in(console, server, email)
    console.fill("#code", app.code())
    _submit(console, "/console/sign-in/second-factor")
    return console


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_no_serious_accessibility_violations(
    browser: Any, server: Server, lang: str, db_url: str
) -> None:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `make install` (npm ci)")
    source = AXE.read_text(encoding="utf-8")
    report: dict[str, list[str]] = {}

    # The holder: money moved every way, a mandate, a dispute, a complaint.
    holder = browser.new_context(**LAYOUTS[lang])
    page = holder.new_page()
    page.goto(f"{server.url}/?lang={lang}")
    phone = f"+86136{secrets.randbelow(10**8):08d}"
    sign_up(page, server, phone, phone, "林安心" if lang == "zh_CN" else "Lin Anxin")
    app = enrol_authenticator(page)
    mine = holder_data(page, server, app, db_url, "安心茶铺" if lang == "zh_CN" else "Happy Tea")

    # The staff member: an incident, its plan, a freeze; then the complaint's holder data
    # revealed for the ticket (the holder's access log has a row; the answer is a page).
    console = _staff_console(browser, server, lang, source, report)
    made = staff_data(console, server, mine.holder_id)
    console.goto(f"{server.url}/console/tickets/{mine.ticket}")
    _submit(console, f"/console/tickets/{mine.ticket}/assign")
    console.select_option("#reveal-purpose", "ticket")
    console.check("input[name=fields][value=phone]")
    _submit(console, f"/console/tickets/{mine.ticket}/reveal")
    assert phone in console.inner_text("main"), "the reveal showed no phone number"
    scan(console, source, f"/console/tickets/{mine.ticket} (revealed)", report)

    ids = {**vars(mine), **vars(made)}
    check(page, server, source, PAGES["holder"], ids, report)
    check(console, server, source, PAGES["staff"], ids, report)
    holder.close()
    console.context.close()

    visitor = browser.new_context(**LAYOUTS[lang])
    page = visitor.new_page()
    page.goto(f"{server.url}/sign-in?lang={lang}")
    check(page, server, source, PAGES["visitor"], ids, report)
    # The gate itself: an image without a text alternative is caught.
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=x>')")
    assert any("image-alt" in line for line in violations(page, source))
    visitor.close()

    lines = [f"{page}\n    " + "\n    ".join(found) for page, found in report.items()]
    assert not report, f"axe ({lang}): {'/'.join(BLOCKING)} violations\n" + "\n".join(lines)


# -- the keyboard ----------------------------------------------------------------------------

# One form page per area: what Tab reaches, in which order, and whether focus shows.
KEYBOARD = {
    "visitor": ("/sign-up", "form[action='/sign-up']"),
    "holder": ("/transfer", "main form[action='/transfer']"),
    "staff": ("/console/incidents/{incident}/remediation", "form#plan-new"),
}
_FIELDS = """sel => [...document.querySelector(sel).querySelectorAll(
    'input:not([type=hidden]), select, textarea, button')].filter(e => !e.disabled)
    .map(e => e.type === 'radio' ? 'radio:' + e.name : e.id || e.name || e.textContent.trim())
    .filter((key, i, all) => all.indexOf(key) === i)"""
_FOCUSED = """sel => {
    const e = document.activeElement, form = document.querySelector(sel);
    const look = getComputedStyle(e);
    const ring = (look.outlineStyle !== 'none' && parseFloat(look.outlineWidth) > 0)
        || look.boxShadow !== 'none';
    const key = e.type === 'radio' ? 'radio:' + e.name : e.id || e.name || e.textContent.trim();
    return {inForm: form.contains(e), key: key, ring: ring, main: e.id === 'main'};
}"""


def keyboard_walk(page: Any, form: str) -> list[str]:
    """From the top of the page: the skip link first (shown, with a focus ring), Enter
    takes focus to the main content; then Tab through the page until the form's last
    control. Returns what is wrong, if anything."""
    wrong: list[str] = []
    page.keyboard.press("Tab")
    first = page.evaluate(_FOCUSED, "body")
    if page.evaluate("document.activeElement.className") != "skip":
        return [f"the first Tab stop is {first['key']!r}, not the skip link"]
    if not (page.locator("a.skip").is_visible() and first["ring"]):
        wrong.append("the skip link does not show when focused")
    page.keyboard.press("Enter")
    if not page.evaluate(_FOCUSED, "body")["main"]:
        wrong.append("the skip link does not move focus to the main content")
    wanted: list[str] = page.evaluate(_FIELDS, form)
    reached: list[str] = []
    for _ in range(len(wanted) + 60):  # the links before the form, then every control
        page.keyboard.press("Tab")
        now = page.evaluate(_FOCUSED, form)
        if not now["inForm"]:
            if reached:
                break  # Tab left the form
            continue
        reached.append(now["key"])
        if not now["ring"]:
            wrong.append(f"{now['key']!r} shows no focus")
        if now["key"] == wanted[-1]:
            break
    if reached != wanted:
        wrong.append(f"Tab order {reached} is not the form's order {wanted}")
    return wrong


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_keyboard_reaches_every_field_in_order(browser: Any, server: Server, lang: str) -> None:
    wrong: dict[str, list[str]] = {}

    def walk(page: Any, area: str, ids: dict[str, str]) -> None:
        path, form = KEYBOARD[area]
        page.goto(f"{server.url}{path.format_map(ids)}")
        found = keyboard_walk(page, form)
        if found:
            wrong[f"{area} {path}"] = found

    visitor = browser.new_context(**LAYOUTS[lang])
    page = visitor.new_page()
    page.goto(f"{server.url}/sign-in?lang={lang}")
    walk(page, "visitor", {})
    # The walk itself: a field taken out of the Tab order is caught.
    page.reload()
    page.evaluate("document.querySelector('#display_name').tabIndex = -1")
    assert any("not the form's order" in w for w in keyboard_walk(page, KEYBOARD["visitor"][1]))
    phone = f"+86135{secrets.randbelow(10**8):08d}"
    sign_up(page, server, phone, phone, "林安心" if lang == "zh_CN" else "Lin Anxin")
    enrol_authenticator(page)
    walk(page, "holder", {})
    visitor.close()

    staff, console, _errors = _console(browser, server, lang, "risk_officer")
    made = call(console, server, "POST", "/v1/staff/incidents", {"title": "Transfers delayed"})
    walk(console, "staff", {"incident": made["id"]})
    staff.close()
    assert not wrong, f"keyboard ({lang}):\n" + "\n".join(f"{k}: {v}" for k, v in wrong.items())
