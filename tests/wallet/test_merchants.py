"""Merchant accounts: created with their own API key and webhook secret (service and CLI),
keys that only ever act for their merchant, suspension, secrets never stored in clear."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from anxin.api.app import create_app
from anxin.api.deps import Container
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import ApiKey, Merchant
from anxin.settings import Settings
from anxin.wallet import merchants
from tests.cli.conftest import Cli, bare_cli, cli, home, one_line_error
from tests.wallet.merchant_helpers import Shop, make_shop

__all__ = ["bare_cli", "cli", "home", "make_shop"]  # fixtures used below


def test_a_merchant_has_its_own_key_and_secret(
    make_shop: Callable[..., Shop], client: TestClient, container: Container
) -> None:
    shop = make_shop(webhook_url="https://tea.example/hooks")
    me = client.get("/v1/merchant/me", headers=shop.headers)
    assert me.status_code == 200, me.text
    assert me.json() == {"id": shop.id, "name": "Happy Tea", "status": "active",
                         "webhook_url": "https://tea.example/hooks"}  # fmt: skip
    assert shop.secret.startswith("whsec_")
    assert len(base64.b64decode(shop.secret.removeprefix("whsec_"))) == 32
    with UnitOfWork(container.database, write=False) as unit:
        key = unit.session.query(ApiKey).one()
        assert key.scopes == ["merchant"]
        raw = unit.session.execute(text("SELECT webhook_secret_enc FROM wallet_merchants"))
        assert shop.secret.encode() not in bytes(raw.scalar_one())
        merchant = unit.session.query(Merchant).one()
        assert merchants.webhook_secret(unit.session, container.keys.vault(), merchant) == (
            shop.secret
        )


def test_merchant_keys_and_ledger_keys_stay_apart(
    make_shop: Callable[..., Shop], client: TestClient, container: Container
) -> None:
    shop = make_shop()
    # A merchant key cannot reach the operator's ledger (and so cannot move money there).
    ledger = client.get("/v1/accounts", headers=shop.headers)
    assert ledger.status_code == 403 and ledger.json()["code"] == "insufficient_scope"
    moved = client.post("/v1/transfers", headers=shop.headers | {"Idempotency-Key": "x"},
                        json={"source": shop.id, "destination": shop.id, "amount": 1,
                              "asset": "CNY"})  # fmt: skip
    assert moved.status_code == 403
    # An operator key is not a merchant.
    from anxin.apikeys.service import create_key

    with UnitOfWork(container.database) as unit:
        operator = create_key(unit.session, name="ops", scopes=["ledger"],
                              now=container.clock.now()).plaintext  # fmt: skip
        unit.commit()
    refused = client.get("/v1/merchant/me", headers={"Authorization": f"Bearer {operator}"})
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    anonymous = client.get("/v1/merchant/me")
    assert anonymous.status_code == 401


def test_suspended_merchants_and_revoked_keys(
    make_shop: Callable[..., Shop], client: TestClient, container: Container
) -> None:
    shop = make_shop()
    intent_id = shop.intent(10_00)
    with UnitOfWork(container.database) as unit:
        merchant = merchants.find_merchant(unit.session, "Happy Tea")
        merchants.set_status(unit.session, merchant, "suspended", container.clock.now())
        second = merchants.issue_key(unit.session, merchant, now=container.clock.now())
        unit.commit()
    refused = shop.post("/payment-intents", {"amount": 1_00, "currency": "CNY"})
    assert refused.status_code == 403 and refused.json()["code"] == "merchant_suspended"
    assert shop.post(f"/payment-intents/{intent_id}/cancel").status_code == 403
    with UnitOfWork(container.database) as unit:
        merchant = merchants.find_merchant(unit.session, shop.id)
        merchants.set_status(unit.session, merchant, "active", container.clock.now())
        from anxin.apikeys.service import revoke_key

        revoke_key(unit.session, shop.key.split("_")[1], now=container.clock.now())
        unit.commit()
    assert client.get("/v1/merchant/me", headers=shop.headers).status_code == 401
    other = client.get("/v1/merchant/me", headers={"Authorization": f"Bearer {second}"})
    assert other.status_code == 200


def test_names_and_urls_are_checked(container: Container) -> None:
    with UnitOfWork(container.database) as unit:
        vault = container.keys.vault()
        for name in ("", "   ", "x" * 101):
            with pytest.raises(AnxinError):
                merchants.create_merchant(unit.session, vault, name=name, webhook_url=None,
                                          now=container.clock.now())  # fmt: skip
        with pytest.raises(merchants.InvalidWebhookUrl):
            merchants.create_merchant(unit.session, vault, name="Shop", webhook_url="javascript:x",
                                      now=container.clock.now())  # fmt: skip
        with pytest.raises(merchants.MerchantNotFound):
            merchants.find_merchant(unit.session, "Nobody")


def test_cli_creates_a_merchant_and_prints_the_key_last(cli: Cli, settings: Settings) -> None:
    result = cli("merchant", "create", "--name", "Happy Tea",
                 "--webhook-url", "https://tea.example/hooks")  # fmt: skip
    assert result.code == 0, result
    key = result.last_line
    assert key.startswith("anx_") and key.split() == [key]
    assert "whsec_" in result.out and "Happy Tea" in result.out
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        me = client.get("/v1/merchant/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 200 and me.json()["name"] == "Happy Tea"
        another = cli("merchant", "key", "Happy Tea").last_line
        assert (
            client.get(
                "/v1/merchant/me", headers={"Authorization": f"Bearer {another}"}
            ).status_code
            == 200
        )
    listed = cli("merchant", "list")
    assert "Happy Tea" in listed.out and "whsec_" not in listed.out
    rotated = cli("merchant", "webhook", "Happy Tea", "--url", "https://tea.example/v2",
                  "--rotate-secret")  # fmt: skip
    assert rotated.code == 0 and "whsec_" in rotated.out and "/v2" in rotated.out
    assert cli("merchant", "suspend", "Happy Tea").code == 0
    assert cli("merchant", "reinstate", "Happy Tea").code == 0
    assert "not usable" in one_line_error(cli("merchant", "create", "--name", "X",
                                              "--webhook-url", "gopher://x"))  # fmt: skip
    assert "no single merchant" in one_line_error(cli("merchant", "key", "Nobody"))
    # Merchant keys come only from here: `anxin apikey create` does not know the scope.
    assert "unknown scope" in one_line_error(
        cli("apikey", "create", "--name", "m", "--scopes", "merchant")
    )
