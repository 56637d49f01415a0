"""``anxin demo seed``: holders, money and a merchant made through the services, usable at
once through the API (the README's tour starts from here), idempotent, development only."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from anxin.api.app import create_app
from anxin.demo.holders import PEOPLE
from anxin.demo.staff import STAFF
from anxin.kit.db import Database
from anxin.models import Base
from anxin.settings import Settings
from tests.cli.conftest import Cli, one_line_error


def _sign_in(cli: Cli, client: TestClient, email: str, password: str) -> dict[str, str]:
    first = client.post("/v1/auth/signin", json={"identifier": email, "password": password})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "second_factor_required"
    code = cli("demo", "totp", email, env="development")
    assert code.code == 0, code
    done = client.post("/v1/auth/signin/second-factor", json={
        "pending_token": first.json()["pending_token"], "method": "totp",
        "proof": {"code": code.out.strip()},
    })  # fmt: skip
    assert done.status_code == 200, done.text
    return {"Authorization": f"Bearer {done.json()['token']}"}


def _lines(client: TestClient, me: dict[str, str], asset: str = "CNY") -> list[dict[str, Any]]:
    found = client.get(f"/v1/me/statements?asset={asset}", headers=me)
    assert found.status_code == 200, found.text
    return list(found.json()["data"])


def test_seed_is_idempotent_and_usable(
    cli: Cli, home: Path, settings: Settings, db_url: str
) -> None:
    first = cli("demo", "seed", env="development")
    assert first.code == 0, first
    assert "demo data created" in first.out
    keys = {}
    for name in ("demo-api-key.txt", "demo-merchant-key.txt"):
        path = home / name
        keys[name] = path.read_text().strip()
        assert keys[name].startswith("anx_")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert keys[name] not in first.out  # keys are only in their files
    for person in PEOPLE:
        assert person.email in first.out and person.password in first.out

    second = cli("demo", "seed", env="development")
    assert second.code == 0, second
    assert "demo data already present" in second.out
    assert (home / "demo-api-key.txt").read_text().strip() == keys["demo-api-key.txt"]
    assert cli("ledger", "verify").code == 0

    zhang, alice = PEOPLE
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        me = _sign_in(cli, client, zhang.email, zhang.password)
        wallet = client.get("/v1/me/wallet", headers=me).json()
        cny = next(a for a in wallet["accounts"] if a["asset"] == "CNY")
        # 800.00 in; 38.00 + 0.19 fee paid; 12.00 + 0.06 of the fee refunded; 66.00 sent.
        assert cny["balance"]["posted"] == 800_00 - 38_19 + 12_06 - 66_00
        assert wallet["points"] == 38 - 12  # earned on the payment, less the refunded part
        shown = {x["type"]: x for x in _lines(client, me)}
        assert set(shown) == {"topup", "payment", "refund", "p2p"}
        assert (shown["payment"]["amount"], shown["payment"]["fee"]) == (-38_00, 19)
        assert shown["payment"]["counterparty"] == "Happy Tea"
        assert (shown["refund"]["amount"], shown["refund"]["fee"]) == (12_00, -6)
        assert shown["p2p"]["counterparty"] == "A**** C***"
        kinds = {n["kind"] for n in client.get("/v1/me/notifications", headers=me).json()["data"]}
        assert {"topup.completed", "payment.sent", "points.earned", "refund.received",
                "points.clawed_back", "transfer.sent"} <= kinds  # fmt: skip
        # A payment request from the shop waits for him at the link the seed printed.
        request = re.search(r"/pay/([0-9a-f-]{36})", first.out)
        assert request is not None
        waiting = client.get(f"/v1/me/payment-intents/{request.group(1)}", headers=me).json()
        assert (waiting["amount"], waiting["status"]) == (26_00, "requires_confirmation")

        her = _sign_in(cli, client, alice.email, alice.password)
        mandates = client.get("/v1/me/mandates", headers=her).json()["items"]
        assert [m["status"] for m in mandates] == ["active"]
        got = {x["type"]: x for x in _lines(client, her)}
        assert got["p2p"]["counterparty"] == "张*" and got["p2p"]["amount"] == 66_00
        assert got["mandate_debit"]["amount"] == -18_00

        shop = {"Authorization": f"Bearer {keys['demo-merchant-key.txt']}"}
        assert client.get("/v1/merchant/me", headers=shop).json()["name"] == "Happy Tea"
        operator = {"Authorization": f"Bearer {keys['demo-api-key.txt']}"}
        assert client.get("/v1/accounts", headers=operator).status_code == 200

    # The console and the status page have something to show.
    for member in STAFF:
        assert member.email in first.out and member.password in first.out
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for member in STAFF:
            staff = _sign_in(cli, client, member.email, member.password)
            assert client.get("/v1/staff/me", headers=staff).json()["role"] == member.role
        tickets = client.get("/v1/staff/care/tickets", headers=staff).json()["data"]
        assert {t["status"] for t in tickets} == {"new", "pending_customer"}
        page = client.get("/status?lang=en")
        assert "Card top-ups delayed" in page.text and "Resolved" in page.text

    # Demo holders' personal data is encrypted like anyone's.
    database = Database(db_url)
    try:
        with database.engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                dump = str(list(connection.execute(text(f'SELECT * FROM "{table.name}"'))))
                for person in PEOPLE:
                    for value in (person.email, person.name, person.password,
                                  person.card.replace(" ", "")):  # fmt: skip
                        assert value not in dump, (table.name, value)
                for member in STAFF:
                    for value in (member.email, member.name, member.password):
                        assert value not in dump, (table.name, value)
    finally:
        database.dispose()


def test_seed_is_refused_outside_development(cli: Cli, home: Path) -> None:
    for env in ("test", "production"):
        line = one_line_error(cli("demo", "seed", env=env))
        assert "ANXIN_ENV=development" in line
        assert "ANXIN_ENV=development" in one_line_error(
            cli("demo", "totp", PEOPLE[0].email, env=env)
        )
    assert not (home / "demo-api-key.txt").exists()
    assert cli("apikey", "list").out.count("demo") == 0


def test_totp_is_only_for_demo_accounts(cli: Cli) -> None:
    assert "not a demo account" in one_line_error(
        cli("demo", "totp", "someone@example.com", env="development")
    )
