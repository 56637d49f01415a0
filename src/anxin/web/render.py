"""Rendering pages: one Jinja2 environment per language (autoescaped), security headers.

Every page goes out with a Content-Security-Policy that allows scripts and styles from
this site only (no inline script, no ``eval``), and with the headers that keep it out of
other sites' frames and stop browsers guessing content types.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from anxin.web import i18n

TEMPLATES = Path(__file__).parent / "templates"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Pages show balances and personal data: never keep them in a shared cache.
    "Cache-Control": "no-store",
}


def format_money(amount: int, scale: int) -> str:
    """Minor units as a decimal string by integer arithmetic: ``(-3805, 2) -> "-38.05"``."""
    sign = "-" if amount < 0 else ""
    if scale == 0:
        return f"{sign}{abs(amount):,}"
    whole, fraction = divmod(abs(amount), 10**scale)
    return f"{sign}{whole:,}.{fraction:0{scale}d}"


@cache
def environment(locale: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.filters["money"] = format_money
    env.filters["zip"] = lambda first, second: zip(first, second, strict=True)
    return env


def gettext(locale: str, message: str) -> str:
    return str(i18n.translations(locale).ugettext(message))


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200,
    locale: str | None = None, remember: bool | None = None,
) -> HTMLResponse:  # fmt: skip
    chosen, asked = i18n.choose(request)
    locale = locale or chosen
    page = environment(locale).get_template(template)
    body = page.render(
        request=request, locale=locale, lang_tag=i18n.TAGS[locale], path=request.url.path,
        **context,
    )  # fmt: skip
    response = HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)
    # Different languages and htmx fragments share URLs: caches must tell them apart.
    response.headers["Vary"] = "Accept-Language, Cookie, HX-Request"
    if asked if remember is None else remember:
        response.set_cookie(
            i18n.COOKIE, locale, max_age=i18n.COOKIE_MAX_AGE, path="/", samesite="lax",
            secure=request.url.scheme == "https",
        )  # fmt: skip
    return response
