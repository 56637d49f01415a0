"""Canonical JSON and request fingerprints: stable, order-blind, exact."""

from __future__ import annotations

import hashlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from anxin.kit.canonical import canonical_json, fingerprint

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


def test_known_form_and_digest() -> None:
    body = {"b": 1, "a": [1, "é", None, True], "c": {"y": 2**63 - 1, "x": "安心"}}
    text = '{"a":[1,"é",null,true],"b":1,"c":{"x":"安心","y":9223372036854775807}}'
    assert canonical_json(body) == text.encode()
    assert fingerprint(body) == hashlib.sha256(text.encode()).hexdigest()


def test_key_order_does_not_matter_but_values_do() -> None:
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    assert fingerprint({"a": 1}) != fingerprint({"a": "1"})
    assert fingerprint([1, 2]) != fingerprint([2, 1])
    assert fingerprint({"amount": 10**30}) != fingerprint({"amount": 10**30 + 1})


@settings(max_examples=50)
@given(st.dictionaries(st.text(), json_values))
def test_fingerprint_ignores_insertion_order(value: dict[str, Any]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert fingerprint(value) == fingerprint(reordered)
    assert len(fingerprint(value)) == 64
