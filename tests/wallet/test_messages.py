"""Every notice the wallet sends has its own plain words in Chinese and English: no kind it
knows falls back to the generic text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from anxin.wallet import merchant_notices, messages

SOURCES = Path(messages.__file__).parent
# The first "x.y" string literal in a call of one of the functions that send notices.
KIND = re.compile(
    r"(?:money_moved|security_event|notify_points|_points_notice|mandate_notice)\("
    r'[^"]{0,200}?"([a-z_]+\.[a-z_]+)"',
    re.DOTALL,
)


def _kinds_in_source() -> set[str]:
    found: set[str] = set()
    for path in SOURCES.glob("*.py"):
        found |= set(KIND.findall(path.read_text(encoding="utf-8")))
    # settlement.py builds these from the order's direction and outcome.
    found |= {f"{d}.{o}" for d in ("topup", "withdrawal") for o in ("completed", "failed")}
    return found


def test_every_kind_the_wallet_sends_has_its_own_text() -> None:
    sent = _kinds_in_source()
    assert len(sent) > 15, sorted(sent)  # the scan finds the calls
    missing = sent - set(messages.TEXTS) - set(merchant_notices.TEXTS)
    assert not missing, f"notice kinds without their own text: {sorted(missing)}"
    for kind in ("payment.sent", "payment.released", "refund.received", "transfer.sent",
                 "transfer.received", "mandate.debited", "points.clawed_back"):  # fmt: skip
        assert kind in messages.KINDS


PARAMS = {
    "amount": "38.00 CNY", "signed_amount": "-38.00 CNY", "fee": "0.19 CNY",
    "counterparty": "Happy Tea", "counterparty_text": " with Happy Tea",
    "balance_text": "Balance: 461.81 CNY.", "reason": "declined", "points": 12,
    "expires_text": "", "explanation": "", "scope_text": "", "next_steps": "",
    "review_by": "2030-01-08", "what": "top-up", "outcome": "credited",
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(messages.KINDS))
@pytest.mark.parametrize("locale", messages.LOCALES)
def test_each_text_renders_in_both_languages(kind: str, locale: str) -> None:
    assert locale in messages.TEXTS[kind], f"{kind} has no {locale} text"
    title, template = messages.text(kind, locale)
    body = template.format(**PARAMS)
    assert title and "{" not in body
    if "{amount}" in template:
        assert "38.00 CNY" in body
    if "{counterparty}" in template:
        assert "Happy Tea" in body
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in title + body)
    assert chinese == (locale == "zh-CN")


@pytest.mark.parametrize("kind", sorted(merchant_notices.TEXTS))
def test_mandate_notices_render_in_both_languages(kind: str) -> None:
    for locale in messages.LOCALES:
        assert locale in merchant_notices.TEXTS[kind]
        title, template = merchant_notices.TEXTS[kind][locale]
        assert "Happy Tea" in template.format(merchant="Happy Tea") and title
