"""What a real uvicorn server answers to bodies over the limit, sent with a declared length
and streamed in chunks (the in-process test client cannot show the wire behaviour)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system.server import Server, anxin_env

pytestmark = pytest.mark.slow

LIMIT = 4096


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, key_file: Path) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("server")
    env = anxin_env(database_url=f"sqlite:///{home / 'anxin.db'}", home=str(home), env="test",
                    key_file=str(key_file), max_body_bytes=str(LIMIT))  # fmt: skip
    with Server(env, home / "server.log") as running:
        running.wait_healthy()
        yield running


def _post(server: Server, body: bytes | Iterator[bytes], headers: dict[str, str]
          ) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("POST", "/v1/accounts", body=body,
                           headers={"Content-Type": "application/json", **headers})  # fmt: skip
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _chunks(total: int) -> Iterator[bytes]:
    """An iterator body: http.client sends it chunked, without a Content-Length."""
    yield b'{"asset": "CNY", "label": "'
    for _ in range(total // 1000):
        yield b"x" * 1000
    yield b'"}'


def test_declared_length_over_the_limit(server: Server) -> None:
    body = json.dumps({"asset": "CNY", "label": "x" * LIMIT}).encode()
    status, headers, raw = _post(server, body, {})
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(raw)["code"] == "payload_too_large"


def test_chunked_body_over_the_limit(server: Server) -> None:
    status, headers, raw = _post(server, _chunks(LIMIT * 4), {})
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(raw)["code"] == "payload_too_large"
    assert headers["connection"] == "close"


def test_small_chunked_body_is_read(server: Server) -> None:
    # Under the limit, a chunked body goes through to authentication as usual.
    status, headers, raw = _post(server, _chunks(1000), {})
    assert status == 401
    assert json.loads(raw)["code"] == "unauthorized"
    assert headers["www-authenticate"] == "Bearer"
