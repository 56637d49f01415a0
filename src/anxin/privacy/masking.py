"""Masked forms of personal values, for showing without revealing.

A masked value lets a person recognise their own data (``138****5678``,
``z***@example.com``, ``张*明``) while telling an onlooker, a log reader or a support agent
almost nothing. Masks are computed from normalised values and are safe to store.
"""

from __future__ import annotations

import phonenumbers

_CN = 86


def mask_phone(e164: str) -> str:
    """``+8613812345678`` -> ``138****5678``; other countries keep their ``+code``."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return _mask_middle(e164.lstrip("+"), keep_start=0, keep_end=2)
    national = phonenumbers.national_significant_number(number)
    masked = _mask_middle(national, keep_start=3, keep_end=4)
    if number.country_code == _CN:
        return masked
    return f"+{number.country_code} {masked}"


def mask_email(email: str) -> str:
    """``zhang.san@example.com`` -> ``z***@example.com`` (the domain stays readable)."""
    local, at, domain = email.rpartition("@")
    if not at:
        return _mask_middle(email, keep_start=1, keep_end=0)
    return f"{local[:1]}***@{domain}"


def mask_name(name: str) -> str:
    """``张三明`` -> ``张*明``, ``张三`` -> ``张*``, ``Zhang San`` -> ``Z**** S**``."""
    name = " ".join(name.split())
    if not name:
        return ""
    if " " in name:
        return " ".join(word[:1] + "*" * (len(word) - 1) for word in name.split(" "))
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _mask_middle(text: str, *, keep_start: int, keep_end: int) -> str:
    """Keep the ends when the value is long enough that they do not give it away."""
    if len(text) < keep_start + keep_end + 3:
        keep_start, keep_end = min(keep_start, 1), min(keep_end, 2)
    if len(text) <= keep_start + keep_end:
        return "*" * len(text)
    hidden = len(text) - keep_start - keep_end
    return text[:keep_start] + "*" * hidden + (text[len(text) - keep_end :] if keep_end else "")
