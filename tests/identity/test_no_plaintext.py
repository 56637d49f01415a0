"""No plaintext personal data in the database.

Known personal values (a Chinese name, a phone number, an email address, a client address,
passwords, a TOTP seed) go in through the API and the staff command's service; then every
row of every table is read raw (``SELECT *``) and, on SQLite, the database file and its
write-ahead log are read byte by byte. None of the values may appear in any form.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import make_url, text

from anxin.api.deps import Container
from anxin.identity.staff import create_staff
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Base
from anxin.settings import Settings
from tests.identity.conftest import PASSWORD, STAFF_PASSWORD, Person

NAME = "张三明"
PHONE = "13812345678"
EMAIL = "zhang.sanming@example.com"
STAFF_NAME = "赵敏"
STAFF_EMAIL = "zhao.min@anxin.example"
ADDRESS = "203.0.113.77"


def _forms(value: str) -> list[bytes]:
    """The ways a value could be stored: UTF-8, and JSON-escaped (\\uXXXX) inside JSON."""
    escaped = json.dumps(value)[1:-1]
    return sorted({value.encode(), escaped.encode()})


def _needles(totp_secret: str) -> dict[str, list[bytes]]:
    values = {
        "name": NAME, "phone (E.164)": "+86" + PHONE, "phone": PHONE, "email": EMAIL,
        "email local part": "zhang.sanming", "staff name": STAFF_NAME, "staff email": STAFF_EMAIL,
        "client address": ADDRESS, "password": PASSWORD, "staff password": STAFF_PASSWORD,
        "TOTP seed": totp_secret,
    }  # fmt: skip
    return {label: _forms(value) for label, value in values.items()}


def _cell_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dict | list):
        return (json.dumps(value) + json.dumps(value, ensure_ascii=False)).encode()
    return str(value).encode()


def _populate(
    client: TestClient, container: Container, settings: Settings, holder: Callable[..., Person],
    last_code: Callable[[str], str], enrol_totp: Callable[[Person], str],
    deliver: Callable[[], object],
) -> str:  # fmt: skip
    person = holder(phone=PHONE, name=NAME)
    assert (
        client.post("/v1/me/contacts", json={"email": EMAIL}, headers=person.headers).status_code
        == 202
    )
    verified = client.post(
        "/v1/me/contacts/verify", json={"code": last_code(EMAIL)}, headers=person.headers
    )
    assert verified.status_code == 200
    secret = enrol_totp(person)
    # From a client address of its own: the throttles see it.
    other_place = TestClient(client.app, client=(ADDRESS, 40000))
    wrong = other_place.post(
        "/v1/auth/signin", json={"identifier": EMAIL, "password": "not it at all"}
    )
    assert wrong.status_code == 401
    first = other_place.post("/v1/auth/signin", json={"identifier": EMAIL, "password": PASSWORD})
    assert first.json()["status"] == "second_factor_required"
    # A reset code waits in the outbox, another was already sent.
    client.post("/v1/auth/password-reset", json={"identifier": PHONE})
    deliver()
    client.post("/v1/auth/password-reset", json={"identifier": EMAIL})
    with UnitOfWork(container.database) as uow:
        created = create_staff(
            uow.session, container.keys.vault(), settings, role="admin", email=STAFF_EMAIL,
            name=STAFF_NAME, now=container.clock.now(),
        )  # fmt: skip
        uow.commit()
    done = client.post("/v1/auth/password-reset/confirm", json={
        "identifier": STAFF_EMAIL, "code": created.setup_code, "new_password": STAFF_PASSWORD,
    })  # fmt: skip
    assert done.status_code == 204
    return secret


def test_personal_data_is_nowhere_in_plaintext(
    client: TestClient, container: Container, settings: Settings, db_url: str,
    holder: Callable[..., Person], last_code: Callable[[str], str],
    enrol_totp: Callable[[Person], str], deliver: Callable[[], object],
) -> None:  # fmt: skip
    secret = _populate(client, container, settings, holder, last_code, enrol_totp, deliver)
    needles = _needles(secret)
    found: list[str] = []
    rows_seen = 0
    with container.database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(text(f'SELECT * FROM "{table.name}"')):
                rows_seen += 1
                cells = b"\x00".join(_cell_bytes(v) for v in row)
                found += [
                    f"{label} in {table.name}"
                    for label, forms in needles.items() if any(f in cells for f in forms)
                ]  # fmt: skip
    assert rows_seen > 40  # the scan really saw the data
    assert found == []
    if container.database.is_sqlite:
        path = Path(str(make_url(db_url).database))
        raw = b"".join(
            p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
        )
        assert len(raw) > 10_000
        leaked = [label for label, forms in needles.items() if any(f in raw for f in forms)]
        assert leaked == []


def test_the_values_do_show_up_where_they_should(
    client: TestClient, container: Container, settings: Settings, holder: Callable[..., Person],
    last_code: Callable[[str], str], enrol_totp: Callable[[Person], str],
    deliver: Callable[[], object],
) -> None:  # fmt: skip
    """The scan above is meaningful: the same values are readable through the keys."""
    _populate(client, container, settings, holder, last_code, enrol_totp, deliver)
    deliver()
    sms = container.identity.senders.sms if container.identity else None
    assert sms is not None and any(m.recipient == "+86" + PHONE for m in sms.sent)  # type: ignore[attr-defined]
    signin = client.post(
        "/v1/auth/signin", json={"identifier": STAFF_EMAIL, "password": STAFF_PASSWORD}
    )
    assert signin.status_code == 200 and signin.json()["kind"] == "staff"
