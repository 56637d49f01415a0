from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.test_auth import LEDGER_ROUTES


def test_openapi_documents_every_route_and_the_key(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Anxin"
    documented = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
    }
    assert documented >= LEDGER_ROUTES | {("GET", "/healthz")}

    schemes = spec["components"]["securitySchemes"]
    for method, path in LEDGER_ROUTES:
        operation = spec["paths"][path][method.lower()]
        names = [name for requirement in operation["security"] for name in requirement]
        assert len(names) == 1, (method, path)
        scheme = schemes[names[0]]
        assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
        assert "API key" in scheme["description"]
    assert "security" not in spec["paths"]["/healthz"]["get"]


def test_openapi_documents_idempotency_and_strict_amounts(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    create = spec["paths"]["/v1/transfers"]["post"]
    headers = {p["name"]: p for p in create["parameters"] if p["in"] == "header"}
    assert "Idempotency-Key" in headers
    amount = spec["components"]["schemas"]["TransferCreate"]["properties"]["amount"]
    assert amount["type"] == "integer"
    assert amount["exclusiveMinimum"] == 0
    assert amount["maximum"] == 2**63 - 1  # exactly, not the nearest float


def test_docs_pages(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
