"""Group keys from a complaint's structured facts.

A complaint joins one group per fact it carries, because the same outage shows up
differently: a merchant's checkout failing (merchant), a release breaking sign-in (app
version and category), a payout rail returning one error (transaction kind and error
code). Category alone is not a key: every category has a large, steady volume, and what
makes a crowd collective is the narrower thing its members share.
"""

from __future__ import annotations

from anxin.collective.model import Complaint

FactKey = tuple[str, ...]


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip().casefold()
    return stripped or None


def fact_keys(complaint: Complaint, category: str | None) -> list[FactKey]:
    """The fact groups a complaint belongs to (possibly none)."""
    keys: list[FactKey] = []
    merchant = _clean(complaint.merchant)
    if merchant:
        keys.append(("merchant", merchant))
    version = _clean(complaint.app_version)
    if version:
        keys.append(("app_version", version, _clean(category) or "unknown"))
    error = _clean(complaint.error_code)
    if error:
        keys.append(("error", _clean(complaint.transaction) or "unknown", error))
    return keys


def describe(key: FactKey) -> str:
    """A short human title for a fact group."""
    kind = key[0]
    if kind == "merchant":
        return f"merchant {key[1]}"
    if kind == "app_version":
        return f"app version {key[1]}, {key[2]}"
    if kind == "topic":
        return "about " + key[1].replace("+", ", ").replace("_", " ")
    if kind == "error":
        return f"{key[1]} error {key[2]}"
    return " ".join(key)
