"""Assets: ISO 4217 currencies from the data package, and operator-defined assets."""

from __future__ import annotations

import pytest

from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.assets import ISO_CURRENCIES, AssetInfo, create_asset, get_asset, list_assets
from anxin.ledger.errors import AssetExists, UnknownAsset
from tests.ledger.helpers import START


@pytest.mark.parametrize(
    ("code", "scale"), [("JPY", 0), ("KWD", 3), ("CNY", 2), ("USD", 2), ("EUR", 2), ("CLF", 4)]
)
def test_iso_exponents_come_from_the_data_package(code: str, scale: int) -> None:
    info = ISO_CURRENCIES[code]
    assert (info.code, info.scale, info.kind) == (code, scale, "currency")
    assert info.name


@pytest.mark.parametrize("code", ["XAU", "XAG", "XXX", "XDR"])
def test_codes_without_a_minor_unit_are_not_assets(code: str) -> None:
    assert code not in ISO_CURRENCIES


def test_every_iso_asset_has_a_usable_scale() -> None:
    assert len(ISO_CURRENCIES) > 150
    assert all(0 <= info.scale <= 4 for info in ISO_CURRENCIES.values())


def test_get_asset(database: Database) -> None:
    with UnitOfWork(database, write=False) as uow:
        assert get_asset(uow.session, "JPY") == AssetInfo("JPY", "Yen", 0, "currency")
        for code in ("XAU", "POINTS", "jpy", ""):
            with pytest.raises(UnknownAsset):
                get_asset(uow.session, code)


def test_create_and_list_custom_assets(database: Database) -> None:
    with UnitOfWork(database) as uow:
        made = create_asset(uow.session, code="POINTS", name="Reward points", scale=0, now=START)
        create_asset(uow.session, code="MILES_2", name="Air miles", scale=18, now=START)
        uow.commit()
    assert made == AssetInfo("POINTS", "Reward points", 0, "custom")
    with UnitOfWork(database, write=False) as uow:
        assert get_asset(uow.session, "MILES_2") == AssetInfo("MILES_2", "Air miles", 18, "custom")
        listed = list_assets(uow.session)
    assert [a.code for a in listed[-2:]] == ["MILES_2", "POINTS"]
    iso = [a.code for a in listed[:-2]]
    assert iso == sorted(ISO_CURRENCIES)


def test_custom_codes_must_be_well_formed(database: Database) -> None:
    for code in ["AB", "points", "1POINTS", "_POINTS", "POINTS-1", "P" * 17, "PÖINTS", "POI NTS"]:
        with UnitOfWork(database) as uow, pytest.raises(UnknownAsset) as refused:
            create_asset(uow.session, code=code, name="x", scale=0, now=START)
        assert (refused.value.status, refused.value.code) == (422, "invalid_asset_code"), code


def test_iso_codes_cannot_be_redefined(database: Database) -> None:
    for code in ["USD", "CNY", "XAU", "XXX"]:
        with UnitOfWork(database) as uow, pytest.raises(AssetExists) as refused:
            create_asset(uow.session, code=code, name="x", scale=2, now=START)
        assert (refused.value.status, refused.value.code) == (409, "asset_exists"), code


def test_a_custom_asset_is_defined_once(database: Database) -> None:
    with UnitOfWork(database) as uow:
        create_asset(uow.session, code="POINTS", name="Points", scale=0, now=START)
        uow.commit()
    with UnitOfWork(database) as uow, pytest.raises(AssetExists):
        create_asset(uow.session, code="POINTS", name="Other points", scale=2, now=START)


def test_scale_range(database: Database) -> None:
    for scale in (-1, 19, 100):
        with UnitOfWork(database) as uow, pytest.raises(UnknownAsset) as refused:
            create_asset(uow.session, code="POINTS", name="x", scale=scale, now=START)
        assert refused.value.code == "invalid_asset_scale"
