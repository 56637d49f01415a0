from __future__ import annotations

import json

from tests.cli.conftest import Cli, one_line_error


def test_create_and_show(cli: Cli) -> None:
    created = cli("account", "create", "--asset", "CNY", "--label", "Float",
                  "--owner-ref", "ops:float", "--allow-negative")  # fmt: skip
    assert created.code == 0, created
    account_id = created.out.strip()
    shown = cli("account", "show", account_id)
    assert shown.code == 0, shown
    doc = json.loads(shown.out)
    assert doc == {
        "id": account_id, "asset": "CNY", "status": "active", "status_reason": None,
        "allow_negative": True, "label": "Float", "owner_ref": "ops:float",
        "balance": {"posted": 0, "pending": 0, "available": 0},
    }  # fmt: skip
    plain = json.loads(
        cli("account", "show", cli("account", "create", "--asset", "JPY").out.strip()).out
    )
    assert (plain["asset"], plain["allow_negative"], plain["label"]) == ("JPY", False, None)


def test_bad_accounts(cli: Cli) -> None:
    assert "'ZZZ' is neither" in one_line_error(cli("account", "create", "--asset", "ZZZ"))
    assert "is not an account id" in one_line_error(cli("account", "show", "nope"))
    missing = "0190a000-0000-7000-8000-000000000000"
    assert "not found" in one_line_error(cli("account", "show", missing))


def test_the_api_rules_apply(cli: Cli) -> None:
    assert "--label" in one_line_error(cli("account", "create", "--asset", "CNY",
                                           "--label", "l" * 201))  # fmt: skip
    assert "--owner-ref" in one_line_error(cli("account", "create", "--asset", "CNY",
                                               "--owner-ref", ""))  # fmt: skip
    assert "--asset" in one_line_error(cli("account", "create", "--asset", "cny"))
    assert cli("account", "create", "--asset", "CNY", "--label", "l" * 200).code == 0
