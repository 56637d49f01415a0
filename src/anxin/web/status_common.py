"""What the status pages share: the words of states and steps, the page's language for the
incidents' own ``zh``/``en`` texts, and the two ways they are sent (shared-cacheable, or
per visitor like every other page)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from anxin.wallet.accounts import BUSINESS_TZ
from anxin.web.pages import locale_of
from anxin.web.words import N_

STATES = {
    "operational": N_("All systems operational"), "minor": N_("Minor disruption"),
    "major": N_("Partial outage"), "critical": N_("Major outage"),
}  # fmt: skip
STEPS = {
    "investigating": N_("Investigating"), "identified": N_("Identified"),
    "monitoring": N_("Monitoring"), "resolved": N_("Resolved"), "reviewed": N_("Resolved"),
}  # fmt: skip
ERRORS = (
    N_("The incident request is not valid"),
    N_("No such subscription (the link may be old or already used)"),
)
# Seconds a shared cache (a CDN, a proxy) may keep a public page: during an incident
# everyone reloads /status; 30 s of staleness is a fair price for not rendering each time.
# (The Atom feed: ``anxin.incidents.status_endpoints.FEED_MAX_AGE``.)
PAGE_MAX_AGE = 30


def language(request: Request) -> str:
    """The incidents' texts are keyed ``zh``/``en``; the page's locale is ``zh_CN``/``en``."""
    return "en" if locale_of(request) == "en" else "zh"


def common(request: Request) -> dict[str, Any]:
    lang = language(request)
    return {"lang": lang, "states": STATES, "steps": STEPS, "tz": BUSINESS_TZ,
            "feed": f"/status/feed.atom?lang={lang}"}  # fmt: skip


def tagged(response: Response, request: Request) -> Response:
    response.headers["Content-Language"] = "en" if locale_of(request) == "en" else "zh-CN"
    return response


def shareable(response: Response, max_age: int = PAGE_MAX_AGE) -> Response:
    """Let shared caches keep a page that is the same for every visitor of a language.

    Only for pages without a form or anything about the visitor (no CSRF token, no
    holder). The language may come from the cookie, so caches key on it too. A response
    that sets a cookie (``?lang=`` remembered) must not be replayed to others: the
    visitor's own browser may keep it, shared caches may not."""
    shared = "set-cookie" not in response.headers
    response.headers["Cache-Control"] = (
        f"public, max-age={max_age}" if shared else f"private, max-age={max_age}"
    )
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response
