"""The OpenAPI document, with exact integer bounds.

FastAPI's OpenAPI models hold ``minimum``/``maximum`` as floats, so the largest amount,
2^63-1, is published as ``9.223372036854776e+18``, which is 2^63: a client generated from
the document would accept one amount the server refuses. Integer bounds are put back as
integers; the one a float cannot hold is mapped back to the exact value.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from anxin.ledger.commands import MAX_AMOUNT

_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
# Exact integers that become another number as a float. Bounds of the API, not general.
_EXACT = {float(MAX_AMOUNT): MAX_AMOUNT, float(-MAX_AMOUNT): -MAX_AMOUNT}


def _restore_integers(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _BOUNDS and isinstance(value, float) and value.is_integer():
                node[key] = _EXACT.get(value, int(value))
            else:
                _restore_integers(value)
    elif isinstance(node, list):
        for item in node:
            _restore_integers(item)


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _restore_integers(generate())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
