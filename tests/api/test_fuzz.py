"""Whatever JSON a client sends, the answer is never a 500: random values in every field
of every write, and random query strings on every read."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import PROBLEM_JSON, Api

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == PROBLEM_JSON
        assert isinstance(response.json()["code"], str)


def _valid_bodies(api: Api) -> list[tuple[str, dict[str, Any]]]:
    bank, wallet = api.funded(1000)
    hold = api.transfer(wallet, bank, 10, pending=True).json()["id"]
    payment = api.ok_transfer(wallet, bank, 10)
    transfer = {"source": bank, "destination": wallet, "amount": 1, "asset": "CNY",
                "kind": "topup", "reference": "r", "metadata": {}, "pending": True,
                "timeout_seconds": 60}  # fmt: skip
    return [
        ("/v1/transfers", transfer),
        ("/v1/transfers/batch", {"transfers": [transfer], "linked": True}),
        (f"/v1/transfers/{hold}/post", {"amount": 1, "metadata": {}}),
        (f"/v1/transfers/{hold}/void", {"metadata": {}}),
        (
            f"/v1/transfers/{payment}/reverse",
            {"amount": 1, "kind": "refund", "reference": "r", "metadata": {}},
        ),
        (
            "/v1/accounts",
            {
                "asset": "CNY",
                "allow_negative": False,
                "owner_ref": "o",
                "label": "l",
                "metadata": {},
            },
        ),
        ("/v1/assets", {"code": "PTS", "name": "Points", "scale": 0}),
        (f"/v1/accounts/{wallet}/freeze", {"reason": "r"}),
    ]


def test_random_field_values_never_break_a_write(api: Api) -> None:
    targets = _valid_bodies(api)

    @FUZZ
    @given(
        target=st.sampled_from(targets),
        field_index=st.integers(min_value=0, max_value=20),
        value=json_values,
    )
    def check(target: tuple[str, dict[str, Any]], field_index: int, value: Any) -> None:
        path, body = target
        fields = sorted(body)
        changed = {**body, fields[field_index % len(fields)]: value}
        _check(api.post(path, changed))

    check()


def test_random_bodies_never_break_a_write(api: Api) -> None:
    paths = [path for path, _ in _valid_bodies(api)]

    @FUZZ
    @given(path=st.sampled_from(paths), body=json_values)
    def check(path: str, body: Any) -> None:
        _check(api.post(path, body))

    check()


def test_random_queries_never_break_a_read(api: Api) -> None:
    _, wallet = api.funded(5)
    paths = ["/v1/accounts", f"/v1/accounts/{wallet}/entries", f"/v1/accounts/{wallet}/balance",
             "/v1/transfers"]  # fmt: skip
    names = ["owner_ref", "cursor", "limit", "order", "at", "reference", "account"]

    @FUZZ
    @given(
        path=st.sampled_from(paths),
        params=st.dictionaries(st.sampled_from(names), st.text(max_size=40), max_size=3),
    )
    def check(path: str, params: dict[str, str]) -> None:
        _check(api.get(path, **params))

    check()
