"""Languages of the web pages: Simplified Chinese and English, with Babel catalogs.

The page's language comes from ``?lang=`` (a switch link; then remembered in a cookie),
else the cookie, else the browser's ``Accept-Language``, else Chinese. The catalog
``locale/zh_CN/LC_MESSAGES/messages.po`` is compiled in memory when first needed, so no
compiled ``.mo`` file has to be built or committed; English is the source language.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from fastapi import Request

LOCALES = ("zh_CN", "en")
DEFAULT = "zh_CN"
COOKIE = "anxin_lang"
COOKIE_MAX_AGE = 365 * 86_400
LOCALE_DIR = Path(__file__).parent / "locale"
# What the API and notices call these languages (``users.locale``).
TAGS = {"zh_CN": "zh-CN", "en": "en"}


def normalise(value: str | None) -> str | None:
    """``zh``, ``zh-CN``, ``zh_Hans_CN`` -> ``zh_CN``; ``en-GB`` -> ``en``; others None."""
    if not value:
        return None
    try:
        parsed = Locale.parse(value.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    if parsed.language == "zh":
        # Traditional script or Hong Kong/Taiwan readers still get Simplified Chinese,
        # the only Chinese catalog; better than English for them.
        return "zh_CN"
    if parsed.language == "en":
        return "en"
    return None


def from_accept_language(header: str | None) -> str | None:
    """The supported language the browser prefers most (RFC 9110 quality values)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        found = normalise(tag)
        if found is not None and quality > 0:
            ranked.append((-quality, position, found))
    return min(ranked)[2] if ranked else None


def choose(request: Request) -> tuple[str, bool]:
    """The page's locale, and whether the choice came from ``?lang=`` (to be remembered)."""
    asked = normalise(request.query_params.get("lang"))
    if asked is not None:
        return asked, True
    remembered = normalise(request.cookies.get(COOKIE))
    if remembered is not None:
        return remembered, False
    return from_accept_language(request.headers.get("accept-language")) or DEFAULT, False


@cache
def translations(locale: str) -> NullTranslations:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)
