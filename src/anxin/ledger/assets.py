"""Assets: every ISO 4217 currency (from the iso4217 data package) plus operator-defined
assets such as reward points, each with the number of decimal places of its minor unit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from iso4217 import Currency
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.ledger.errors import AssetExists, UnknownAsset
from anxin.models import Asset


@dataclass(frozen=True, slots=True)
class AssetInfo:
    code: str
    name: str
    scale: int
    kind: str  # "currency" (ISO 4217) or "custom" (operator-defined)


# ISO codes with no minor unit ("N.A.", e.g. gold XAU) cannot be counted in integers of a
# minor unit, so they are left out rather than guessed.
ISO_CURRENCIES: dict[str, AssetInfo] = {
    c.code: AssetInfo(code=c.code, name=c.currency_name, scale=c.exponent, kind="currency")
    for c in Currency
    if c.exponent is not None
}

CUSTOM_CODE = re.compile(r"^[A-Z][A-Z0-9_]{2,15}$")


def get_asset(session: Session, code: str) -> AssetInfo:
    if code in ISO_CURRENCIES:
        return ISO_CURRENCIES[code]
    row = session.get(Asset, code)
    if row is None:
        raise UnknownAsset(f"{code!r} is neither an ISO 4217 currency nor a defined asset")
    return AssetInfo(code=row.code, name=row.name, scale=row.scale, kind="custom")


def list_assets(session: Session) -> list[AssetInfo]:
    custom = [
        AssetInfo(code=row.code, name=row.name, scale=row.scale, kind="custom")
        for row in session.scalars(select(Asset).order_by(Asset.code))
    ]
    return sorted(ISO_CURRENCIES.values(), key=lambda a: a.code) + custom


def create_asset(session: Session, *, code: str, name: str, scale: int, now: datetime) -> AssetInfo:
    if not CUSTOM_CODE.fullmatch(code):
        raise UnknownAsset(
            "asset codes are 3 to 16 characters: capital letters, digits and underscores, "
            "starting with a letter",
            code="invalid_asset_code",
        )
    if code in ISO_CURRENCIES or any(c.code == code for c in Currency):
        raise AssetExists(f"{code} is an ISO 4217 currency code")
    if session.get(Asset, code) is not None:
        raise AssetExists(f"asset {code} already exists")
    if not 0 <= scale <= 18:
        raise UnknownAsset("scale must be between 0 and 18", code="invalid_asset_scale")
    session.add(Asset(code=code, name=name, scale=scale, created_at=now))
    session.flush()
    return AssetInfo(code=code, name=name, scale=scale, kind="custom")
