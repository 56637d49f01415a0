"""Sessions: opaque tokens stored as hashes, timeouts, listing and revoking, cookies with
CSRF protection, devices and the new-device notification."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.app import create_app
from anxin.api.deps import Container
from anxin.identity.delivery import FakeSmsProvider
from anxin.kit.clock import ManualClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Device, Notification
from anxin.models import Session as AuthSession
from anxin.settings import Environment, Settings
from tests.identity.conftest import CODE, PASSWORD, Person, advance

ORIGIN = "http://localhost:8000"


def signin(client: TestClient, person: Person, **extra: object) -> dict[str, object]:
    body = {"identifier": person.identifier, "password": person.password, **extra}
    response = client.post("/v1/auth/signin", json=body)
    assert response.status_code == 200, response.text
    out: dict[str, object] = response.json()
    return out


def test_defaults_follow_psd2() -> None:
    defaults = Settings()
    assert defaults.holder_idle_timeout_seconds == 300
    assert defaults.staff_idle_timeout_seconds == 900
    assert defaults.session_lifetime_seconds == 12 * 3600


def test_tokens_are_random_and_stored_only_as_sha256(
    client: TestClient, container: Container, holder: Callable[..., Person]
) -> None:
    person = holder()
    again = signin(client, person)
    tokens = [person.token, str(again["token"])]
    assert tokens[0] != tokens[1]  # a new token at every sign-in
    assert all(len(t) >= 43 for t in tokens)  # 32 random bytes, base64url: 256 bits
    with UnitOfWork(container.database, write=False) as uow:
        stored = set(uow.session.scalars(select(AuthSession.token_hash)))
        device_hashes = set(uow.session.scalars(select(Device.token_hash)))
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}
    assert person.device_token and person.device_token not in device_hashes
    assert hashlib.sha256(person.device_token.encode()).hexdigest() in device_hashes


def test_holder_idle_timeout_is_five_minutes(
    client: TestClient, clock: ManualClock, holder: Callable[..., Person]
) -> None:
    person = holder()
    advance(clock, 299)
    assert client.get("/v1/me", headers=person.headers).status_code == 200  # restarts the timer
    advance(clock, 299)
    assert client.get("/v1/me", headers=person.headers).status_code == 200
    advance(clock, 300)
    expired = client.get("/v1/me", headers=person.headers)
    assert expired.status_code == 401 and expired.json()["code"] == "session_expired"
    assert expired.headers["WWW-Authenticate"] == "Bearer"


def test_staff_idle_timeout_is_fifteen_minutes(
    client: TestClient, clock: ManualClock, make_staff: Callable[..., Person]
) -> None:
    agent = make_staff("agent")
    advance(clock, 899)
    assert client.get("/v1/me/factors", headers=agent.headers).status_code == 200
    advance(clock, 900)
    assert client.get("/v1/me/factors", headers=agent.headers).json()["code"] == "session_expired"


def test_absolute_lifetime_is_twelve_hours(
    client: TestClient, clock: ManualClock, holder: Callable[..., Person]
) -> None:
    person = holder()
    for _ in range(int(12 * 3600 / 290)):
        advance(clock, 290)
        assert client.get("/v1/me", headers=person.headers).status_code == 200
    advance(clock, 12 * 3600 - int(12 * 3600 / 290) * 290)
    ended = client.get("/v1/me", headers=person.headers)
    assert ended.status_code == 401 and "maximum lifetime" in ended.json()["detail"]


def test_list_revoke_and_sign_out(client: TestClient, holder: Callable[..., Person]) -> None:
    person = holder()
    other = signin(client, person)
    listed = client.get("/v1/me/sessions", headers=person.headers).json()["data"]
    assert [s["current"] for s in listed] == [False, True]  # newest first
    assert listed[0]["id"] == other["session_id"]
    assert listed[1]["auth_methods"] == ["password", "contact_code"]
    gone = client.delete(f"/v1/me/sessions/{other['session_id']}", headers=person.headers)
    assert gone.status_code == 204
    other_headers = {"Authorization": f"Bearer {other['token']}"}
    assert client.get("/v1/me", headers=other_headers).json()["code"] == "session_invalid"
    again = client.delete(f"/v1/me/sessions/{other['session_id']}", headers=person.headers)
    assert again.status_code == 404 and again.json()["code"] == "session_not_found"
    out = client.post("/v1/auth/signout", headers=person.headers)
    assert out.status_code == 204
    assert "__Host-anxin_session=" in out.headers["set-cookie"]
    assert client.get("/v1/me", headers=person.headers).status_code == 401
    none = client.get("/v1/me")
    assert none.status_code == 401 and none.json()["code"] == "not_signed_in"
    bogus = client.get("/v1/me", headers={"Authorization": "Bearer nope"})
    assert bogus.json()["code"] == "session_invalid"


def test_cookie_attributes(client: TestClient, holder: Callable[..., Person]) -> None:
    person = holder()
    response = client.post(
        "/v1/auth/signin", json={"identifier": person.identifier, "password": PASSWORD}
    )
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("__Host-anxin_session="))
    attributes = {part.strip().split("=")[0].lower() for part in session.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "path", "max-age"} <= attributes
    assert "domain" not in attributes  # __Host- cookies must not name a domain
    assert "samesite=lax" in session.lower() and "path=/" in session.lower()
    assert any(c.startswith("__Host-anxin_device=") for c in cookies)  # new device


def test_cookie_is_not_secure_in_development(settings: Settings, clock: ManualClock) -> None:
    development = settings.model_copy(update={"env": Environment.DEVELOPMENT})
    with TestClient(create_app(development, clock=clock)) as client:
        client.post("/v1/auth/signup", json={"email": "dev@example.com", "password": PASSWORD})
        # Not verified yet; the cookie attributes are what matters here.
        container = client.app.state.container  # type: ignore[attr-defined]
        from anxin.identity.outbox import deliver_due

        deliver_due(container.database, container.keys, container.identity.senders, now=clock.now())
        body = container.identity.senders.email.sent[-1].body
        found = CODE.search(body)
        assert found is not None
        code = found.group(1)
        verified = client.post(
            "/v1/auth/verify-contact",
            json={"identifier": "dev@example.com", "password": PASSWORD, "code": code},
        )
        session = next(
            c
            for c in verified.headers.get_list("set-cookie")
            if c.startswith("__Host-anxin_session")
        )
        assert "secure" not in session.lower()


def test_cookie_auth_needs_our_origin_for_changes(
    client: TestClient, holder: Callable[..., Person]
) -> None:
    person = holder()
    cookie = {"Cookie": f"__Host-anxin_session={person.token}"}
    assert client.get("/v1/me", headers=cookie).status_code == 200  # reading is fine
    forged = client.post("/v1/auth/signout", headers=cookie)
    assert forged.status_code == 403 and forged.json()["code"] == "csrf_check_failed"
    evil = client.post("/v1/auth/signout", headers={**cookie, "Origin": "https://evil.example"})
    assert evil.json()["code"] == "csrf_check_failed"
    by_referer = {**cookie, "Referer": f"{ORIGIN}/wallet/settings"}
    assert client.patch("/v1/me", json={"locale": "en"}, headers=by_referer).status_code == 200
    ours = client.post("/v1/auth/signout", headers={**cookie, "Origin": ORIGIN})
    assert ours.status_code == 204
    # Bearer requests need no Origin: browsers never attach them on their own.
    fresh = signin(client, person)
    bearer = {"Authorization": f"Bearer {fresh['token']}"}
    assert client.post("/v1/auth/signout", headers=bearer).status_code == 204


def test_login_from_another_site_is_refused(
    client: TestClient, holder: Callable[..., Person]
) -> None:
    person = holder()
    response = client.post(
        "/v1/auth/signin", json={"identifier": person.identifier, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )  # fmt: skip
    assert response.status_code == 403 and response.json()["code"] == "csrf_check_failed"


def test_new_device_is_notified_in_app_and_by_sms(
    client: TestClient, container: Container, holder: Callable[..., Person],
    sms: FakeSmsProvider, deliver: Callable[[], object],
) -> None:  # fmt: skip
    person = holder(phone="13812345678")
    deliver()
    before = len(sms.sent)
    # The device that signed up is known: no notice.
    signin(client, person, device_token=person.device_token)
    deliver()
    assert len(sms.sent) == before
    assert client.get("/v1/me/notifications", headers=person.headers).json()["data"] == []
    # Another browser: notified in the app and on the phone.
    fresh = signin(client, person)
    assert fresh["device_token"] and fresh["device_token"] != person.device_token
    deliver()
    assert len(sms.sent) == before + 1
    assert sms.sent[-1].recipient == "+8613812345678" and "新设备" in sms.sent[-1].body
    inbox = client.get("/v1/me/notifications", headers=person.headers).json()
    assert inbox["unread"] == 1
    notice = inbox["data"][0]
    assert notice["kind"] == "security.new_device"
    assert notice["data"]["session_id"] == fresh["session_id"]
    read = client.post(f"/v1/me/notifications/{notice['id']}/read", headers=person.headers)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert client.get("/v1/me/notifications?unread_only=true", headers=person.headers).json() == {
        "data": [], "unread": 0,
    }  # fmt: skip
    # That browser's token is known from now on.
    signin(client, person, device_token=fresh["device_token"])
    with UnitOfWork(container.database, write=False) as uow:
        assert len(uow.session.scalars(select(Notification)).all()) == 1
        assert len(uow.session.scalars(select(Device)).all()) == 2


def test_sms_log_file_is_in_anxin_home(settings: Settings, holder: Callable[..., Person]) -> None:
    holder(phone="13812345678")
    log = Path(settings.home) / "dev-sms.jsonl"
    assert "+8613812345678" in log.read_text(encoding="utf-8")


def test_idle_sessions_drop_out_of_the_list(
    client: TestClient, clock: ManualClock, holder: Callable[..., Person]
) -> None:
    person = holder()
    other = signin(client, person)
    advance(clock, 200)
    client.get("/v1/me", headers=person.headers)
    advance(clock, 200)  # the other session idled out; the list leaves it out
    listed = client.get("/v1/me/sessions", headers=person.headers).json()["data"]
    assert [s["id"] for s in listed] == [person.session_id]
    assert other["session_id"] != person.session_id
    idle = datetime.fromisoformat(listed[0]["idle_expires_at"])
    assert idle - datetime.fromisoformat(listed[0]["last_seen_at"]) == timedelta(seconds=300)
