"""No plaintext of what people wrote to the care desk, or of how to reach them, in any
table: subjects, messages (the customer's and the agents'), notes, contacts, CSAT comments."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import text

from anxin.api.deps import Container
from anxin.care.tickets import NewTicket, open_ticket
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Base
from tests.care.conftest import Person

SECRETS = {
    "subject": "Qiaoqiao subject marker",
    "complaint": "我的钱被偷了 marker-complaint-7731",
    "reply": "agent reply marker-4410",
    "note": "internal note marker-9902",
    "comment": "csat comment marker-5521",
    "contact": "wang.xiaoyu.marker@example.com",
    "contact body": "email complaint marker-3318",
}


def test_no_plaintext_in_care_tables(
    client: TestClient, container: Container, holder: Callable[..., Person], agent: Person
) -> None:
    alice = holder()
    ticket = client.post("/v1/me/care/tickets", headers=alice.headers, json={
        "subject": SECRETS["subject"], "body": SECRETS["complaint"],
    }).json()  # fmt: skip
    path = f"/v1/staff/care/tickets/{ticket['id']}"
    client.post(f"{path}/notes", json={"body": SECRETS["note"]}, headers=agent.headers)
    done = client.post(f"{path}/replies", json={"body": SECRETS["reply"], "status": "resolved"},
                       headers=agent.headers)  # fmt: skip
    assert done.status_code == 201, done.text
    rated = client.post(f"/v1/me/care/tickets/{ticket['id']}/rating",
                        json={"rating": 3, "comment": SECRETS["comment"]},
                        headers=alice.headers)  # fmt: skip
    assert rated.status_code == 201, rated.text
    with UnitOfWork(container.database) as uow:
        open_ticket(uow.session, container.keys.vault(), NewTicket(
            channel="email", subject="", body=SECRETS["contact body"], contact_kind="email",
            contact=SECRETS["contact"], category="other",
        ), now=container.clock.now())  # fmt: skip
        uow.commit()
    found: list[str] = []
    with container.database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(text(f"SELECT * FROM {table.name}")):
                for cell in row:
                    if cell is None:
                        continue
                    raw = bytes(cell) if isinstance(cell, bytes | memoryview) else (
                        json.dumps(cell, ensure_ascii=False)
                        if isinstance(cell, dict | list) else str(cell)
                    ).encode()  # fmt: skip
                    found += [f"{label} in {table.name}" for label, value in SECRETS.items()
                              if value.encode() in raw]  # fmt: skip
    assert found == []
