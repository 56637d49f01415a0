"""Showing a page: the language, the CSRF token of its forms, errors in the reader's words."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from anxin.api.deps import Container
from anxin.kit.errors import AnxinError, Unprocessable
from anxin.web import guard, i18n
from anxin.web.guard import Holder
from anxin.web.render import gettext, render

_AMOUNT = re.compile(r"^\d{1,15}(\.\d{1,18})?$")


class InvalidAmountText(Unprocessable):
    code = "invalid_amount"
    title = "Enter an amount such as 100 or 100.50"


def show(
    request: Request, container: Container, template: str, context: dict[str, Any] | None = None,
    *, holder: Holder | None = None, status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    secret = guard.browser_secret(request)
    fresh = secret is None
    if secret is None:
        secret = guard.new_browser_secret()
    token = guard.csrf_token(container, request, secret)
    response = render(
        request, template, {**(context or {}), "csrf_token": token, "holder": holder},
        status_code=status_code,
    )  # fmt: skip
    if fresh:
        guard.set_browser_secret(response, secret)
    return response


def locale_of(request: Request) -> str:
    return i18n.choose(request)[0]


def explain(error: AnxinError, locale: str) -> str:
    """A refusal for a person: the translated title in Chinese (the details are English),
    the specific detail in English."""
    if locale == "en":
        return error.detail or error.title
    translated = gettext(locale, error.title)
    return translated if translated != error.title else error.detail or error.title


def see_other(url: str) -> RedirectResponse:
    # 303: after a POST the browser fetches the next page with GET.
    return RedirectResponse(url, status_code=303)


def parse_amount(text: str, scale: int) -> int:
    """``"100.5"`` with scale 2 -> 10050, exactly (Decimal, never float); more decimals
    than the currency has are refused, not rounded."""
    # Thousands separators, ASCII or the full-width comma of Chinese input methods.
    cleaned = text.strip().replace(",", "").replace("\uff0c", "")
    if not _AMOUNT.fullmatch(cleaned):
        raise InvalidAmountText("enter an amount such as 100 or 100.50")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as error:
        raise InvalidAmountText("enter an amount such as 100 or 100.50") from error
    minor = value.scaleb(scale)
    if minor != minor.to_integral_value() or minor <= 0:
        raise InvalidAmountText(f"use at most {scale} decimal places, and more than zero")
    return int(minor)
