"""The holder's security pages without a browser (SQLite and PostgreSQL): passkey sign-in
and second factor (a software authenticator plays the browser), passkeys added and removed
with step-up, recovery codes, the checkup (factors, sessions, sign-ins, tips), sessions
ended, the password changed; CSRF and someone else's objects refused."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from anxin.identity import recovery
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from tests.identity.conftest import PASSWORD, Person
from tests.identity.softauthn import SoftAuthenticator
from tests.web.conftest import door_for

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
CHALLENGE = re.compile(r'name="challenge_id" value="([^"]+)"')
NEW_PASSWORD = "amber quokka lantern drifting 7"
Tab = Callable[..., TestClient]
ALL = "totp,passkey,recovery_code"


@pytest.fixture
def tab(client: TestClient) -> Tab:
    """A browser tab (https, for the ``__Host-`` cookies), signed in as ``person``."""

    def make(person: Person | None = None, lang: str = "en") -> TestClient:
        web = TestClient(client.app, base_url="https://testserver", raise_server_exceptions=False)
        web.headers["Accept-Language"] = lang
        if person is not None:
            web.cookies.set("__Host-anxin_session", person.token)
        return web

    return make


@pytest.fixture
def device() -> SoftAuthenticator:
    # The test settings' relying party: http://localhost:8000, rp id localhost.
    return SoftAuthenticator()


def token(web: TestClient, path: str) -> str:
    found = TOKEN.search(web.get(path).text)
    assert found is not None, path
    return found.group(1)


def post(web: TestClient, path: str, form_page: str, **data: str) -> Any:
    return web.post(path, data={**data, "csrf_token": token(web, form_page)},
                    follow_redirects=False)  # fmt: skip


def add_passkey(web: TestClient, device: SoftAuthenticator, name: str = "phone",
                **step_up: str) -> Any:  # fmt: skip
    """The two steps of adding a passkey; returns the final answer (or the step-up page)."""
    started = post(web, "/security/passkeys/new", "/security/passkeys", name=name, **step_up)
    if "data-passkey-json" not in started.text:
        return started
    options = json.loads(re.search(r'data-passkey-json="([^"]+)"', started.text)
                         .group(1).replace("&#34;", '"'))  # type: ignore[union-attr]  # fmt: skip
    challenge = re.search(r'data-passkey-challenge="([^"]+)"', started.text).group(1)  # type: ignore[union-attr]
    created = json.dumps(device.create(options))
    return post(web, "/security/passkeys", "/security/passkeys", name=name,
                passkey_challenge=challenge, credential=created)  # fmt: skip


def me(client: TestClient, session_token: str) -> int:
    """The status of ``GET /v1/me`` with a session token: 200 while it is live."""
    return client.get("/v1/me", headers={"Authorization": f"Bearer {session_token}"}).status_code


def passkey_options(web: TestClient, path: str, form_page: str, **data: str) -> dict[str, Any]:
    answer = post(web, path, form_page, **data)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    found: dict[str, Any] = answer.json()
    return found


# -- signing in with a passkey --------------------------------------------------------------


def test_sign_in_page_offers_a_passkey_and_a_reset(tab: Tab) -> None:
    page = tab().get("/sign-in").text
    assert 'data-passkey="get"' in page and 'action="/sign-in/passkey"' in page
    assert 'src="/static/passkey.js"' in page and 'href="/password-reset"' in page
    assert "Sign in with a passkey" in page and "Forgot your password?" in page
    assert "忘记密码" in tab(lang="zh-CN").get("/sign-in").text


def test_passkey_sign_in(
    holder: Callable[..., Person], tab: Tab, device: SoftAuthenticator
) -> None:
    person = holder()
    assert add_passkey(tab(person), device).headers["location"] == "/security/passkeys?done=added"
    web = tab()
    found = passkey_options(web, "/sign-in/passkey/options", "/sign-in")
    assert found["options"]["rpId"] == "localhost" and found["options"]["allowCredentials"] == []
    answer = post(web, "/sign-in/passkey", "/sign-in", passkey_challenge=found["challenge_id"],
                  credential=json.dumps(device.get(found["options"])))  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == "/wallet"
    assert "__Host-anxin_session" in answer.cookies
    assert web.get("/wallet").status_code == 200
    # The same answer again: its challenge is used up.
    replay = post(web, "/sign-in/passkey", "/sign-in", passkey_challenge=found["challenge_id"],
                  credential=json.dumps(device.get(found["options"])))  # fmt: skip
    assert replay.status_code == 401 and 'role="alert"' in replay.text
    assert "use another passkey or sign in with your password" in replay.text


def test_passkey_sign_in_refusals(tab: Tab, device: SoftAuthenticator) -> None:
    web = tab(lang="zh-CN")
    found = passkey_options(web, "/sign-in/passkey/options", "/sign-in")
    unknown = SoftAuthenticator()
    unknown.create({"rp": {"id": "localhost"}, "user": {"id": "AAAA"}, "challenge": "AAAA"})
    answer = post(web, "/sign-in/passkey", "/sign-in", passkey_challenge=found["challenge_id"],
                  credential=json.dumps(unknown.get(found["options"])))  # fmt: skip
    assert answer.status_code == 401 and "未接受此通行密钥" in answer.text
    garbage = post(web, "/sign-in/passkey", "/sign-in", passkey_challenge="x", credential="{")
    assert garbage.status_code == 422 and 'role="alert"' in garbage.text
    # No CSRF token, or another site's Origin: refused before any challenge is made.
    assert web.post("/sign-in/passkey/options").status_code == 403
    foreign = web.post("/sign-in/passkey/options", data={"csrf_token": token(web, "/sign-in")},
                       headers={"Origin": "https://evil.example"})  # fmt: skip
    assert foreign.status_code == 403


def test_passkey_and_recovery_code_as_second_factor(
    holder: Callable[..., Person], tab: Tab, device: SoftAuthenticator,
    enrol_totp: Callable[[Person], str], totp_code: Callable[[str], str],
) -> None:  # fmt: skip
    person = holder()
    secret = enrol_totp(person)
    owner = tab(person)
    step = post(owner, "/security/passkeys/new", "/security/passkeys", name="laptop")
    assert step.status_code == 200 and "Confirm it is you" in step.text  # step-up first
    challenge = CHALLENGE.search(step.text).group(1)  # type: ignore[union-attr]
    assert add_passkey(owner, device, "laptop", challenge_id=challenge,
                       code=totp_code(secret)).status_code == 303  # fmt: skip
    codes = post(owner, "/security/recovery-codes", "/security/recovery-codes")
    challenge = CHALLENGE.search(codes.text).group(1)  # type: ignore[union-attr]
    shown = post(owner, "/security/recovery-codes", "/security/recovery-codes",
                 challenge_id=challenge, code=totp_code(secret))  # fmt: skip
    saved = re.findall(r'data-testid="recovery-code">([^<]+)<', shown.text)
    assert len(saved) == 10 and "shown only once" in shown.text

    def second_step(web: TestClient) -> str:
        page = post(web, "/sign-in", "/sign-in", identifier=person.identifier, password=PASSWORD)
        assert "Continue with a passkey" in page.text and "Use a recovery code" in page.text
        return str(re.search(r'name="pending_token" value="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]

    web = tab()
    pending = second_step(web)
    found = passkey_options(web, "/sign-in/passkey/options", "/sign-in")
    done = post(web, "/sign-in/second-factor", "/sign-in", pending_token=pending,
                method="passkey", methods=ALL,
                passkey_challenge=found["challenge_id"],
                credential=json.dumps(device.get(found["options"])))  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/wallet"

    web = tab()
    pending = second_step(web)
    wrong = post(web, "/sign-in/second-factor", "/sign-in", pending_token=pending,
                 method="recovery_code", methods=ALL, code="aaaa-bbbb-cccc")  # fmt: skip
    assert wrong.status_code == 401 and 'role="alert"' in wrong.text
    assert "<details open>" in wrong.text  # the recovery form stays open with the error
    done = post(web, "/sign-in/second-factor", "/sign-in", pending_token=pending,
                method="recovery_code", methods=ALL, code=saved[0])  # fmt: skip
    assert done.status_code == 303
    assert "Unused codes left: 9" in web.get("/security/recovery-codes").text


# -- managing passkeys ----------------------------------------------------------------------


def test_passkeys_listed_and_removed_with_step_up(
    holder: Callable[..., Person], tab: Tab, device: SoftAuthenticator,
) -> None:  # fmt: skip
    owner_person, other_person = holder(), holder()
    owner, other = tab(owner_person), tab(other_person)
    assert add_passkey(owner, device, "<b>phone</b>").status_code == 303  # no factor yet
    page = owner.get("/security/passkeys?done=added").text
    assert "&lt;b&gt;phone&lt;/b&gt;" in page and "Never" in page and 'role="status"' in page
    passkey_id = re.search(r"/security/passkeys/([0-9a-f-]{36})/remove", page).group(1)  # type: ignore[union-attr]
    # Someone else's passkey, an unknown one and a malformed id are the same 404.
    for target in (passkey_id, str(uuid.uuid4()), "nope"):
        answer = post(other, f"/security/passkeys/{target}/remove", "/security/passkeys")
        assert answer.status_code == 404
    # Removing the only passkey needs it: the step-up page offers the passkey.
    step = post(owner, f"/security/passkeys/{passkey_id}/remove", "/security/passkeys")
    assert step.status_code == 200
    assert 'data-passkey-options="/security/step-up/passkey-options"' in step.text
    assert 'name="code"' not in step.text  # no authenticator app to ask for
    challenge = CHALLENGE.search(step.text).group(1)  # type: ignore[union-attr]
    found = passkey_options(owner, "/security/step-up/passkey-options", "/security/passkeys")
    assert len(found["options"]["allowCredentials"]) == 1  # only the holder's own
    done = post(owner, f"/security/passkeys/{passkey_id}/remove", "/security/passkeys",
                challenge_id=challenge, passkey_challenge=found["challenge_id"],
                credential=json.dumps(device.get(found["options"])))  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/security/passkeys?done=removed"
    assert "You have no passkey yet." in owner.get("/security/passkeys").text


def test_a_passkey_holder_adds_an_authenticator_app_after_step_up(
    holder: Callable[..., Person], tab: Tab, device: SoftAuthenticator,
    totp_code: Callable[[str], str],
) -> None:  # fmt: skip
    web = tab(holder())
    assert add_passkey(web, device).status_code == 303
    step = post(web, "/security/totp", "/security/totp")
    assert step.status_code == 200 and "add_totp" not in step.text  # the action, translated
    assert 'data-passkey="get"' in step.text
    challenge = CHALLENGE.search(step.text).group(1)  # type: ignore[union-attr]
    found = passkey_options(web, "/security/step-up/passkey-options", "/security/totp")
    started = post(web, "/security/totp", "/security/totp", challenge_id=challenge,
                   passkey_challenge=found["challenge_id"],
                   credential=json.dumps(device.get(found["options"])))  # fmt: skip
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', started.text).group(1)  # type: ignore[union-attr]
    done = post(web, "/security/totp/confirm", "/security/totp", code=totp_code(secret))
    assert done.status_code == 303
    assert "Authenticator app:</strong> on" in web.get("/security").text


def test_a_wrong_step_up_code_is_shown_on_the_prompt(
    holder: Callable[..., Person], tab: Tab, enrol_totp: Callable[[Person], str]
) -> None:
    person = holder()
    enrol_totp(person)
    web = tab(person, "zh-CN")
    step = post(web, "/security/recovery-codes", "/security/recovery-codes")
    challenge = CHALLENGE.search(step.text).group(1)  # type: ignore[union-attr]
    wrong = post(web, "/security/recovery-codes", "/security/recovery-codes",
                 challenge_id=challenge, code="000000")  # fmt: skip
    assert wrong.status_code == 401 and 'role="alert"' in wrong.text and "确认" in wrong.text


def test_recovery_codes_need_a_factor(holder: Callable[..., Person], tab: Tab) -> None:
    web = tab(holder())
    page = web.get("/security/recovery-codes").text
    assert "Set up an authenticator app or a passkey first" in page
    refused = post(web, "/security/recovery-codes", "/security/recovery-codes")
    assert refused.status_code == 403 and 'role="alert"' in refused.text


# -- the checkup and sessions ---------------------------------------------------------------


def test_checkup_shows_state_and_tips(
    holder: Callable[..., Person], tab: Tab, client: TestClient
) -> None:
    person = holder()
    # A failed password and a second session from another browser.
    client.post("/v1/auth/signin", json={"identifier": person.identifier, "password": "nope"})
    other = client.post("/v1/auth/signin", headers={"User-Agent": "Mozilla/5.0 (iPhone) Safari"},
                        json={"identifier": person.identifier, "password": PASSWORD})  # fmt: skip
    assert other.status_code == 200
    web = tab(person)
    page = web.get("/security")
    assert page.status_code == 200 and 'aria-current="page"' in page.text
    text = page.text
    assert "You have no second factor" in text and 'href="/security/totp"' in text
    assert "There were 1 failed sign-in attempts recently" in text
    assert "Safari on iPhone" in text and "(this one)" in text and "Failed" in text
    assert "A new device (Safari on iPhone) signed in on" in text  # not the sign-up's own
    assert "Last changed 0 days ago." in text
    assert 'href="/security/access-log"' in text and "Who at Anxin looked at my data" in text
    assert 'data-testid="passkey-count">0<' in text
    chinese = tab(person, "zh-CN").get("/security").text
    assert "安全检查" in chinese and "谁在安心查看过我的数据" in chinese


def test_sessions_ended_one_or_all_others(
    holder: Callable[..., Person], tab: Tab, client: TestClient
) -> None:
    person, stranger = holder(), holder()
    other = client.post("/v1/auth/signin", json={"identifier": person.identifier,
                                                 "password": PASSWORD}).json()  # fmt: skip
    web = tab(person)
    # Someone else's session id is not found, and stays signed in.
    refused = post(tab(stranger), f"/security/sessions/{other['session_id']}/end", "/security")
    assert refused.status_code == 404
    assert me(client, other["token"]) == 200
    ended = post(web, f"/security/sessions/{other['session_id']}/end", "/security")
    assert ended.status_code == 303 and ended.headers["location"] == "/security?done=ended"
    assert me(client, other["token"]) == 401
    third = client.post("/v1/auth/signin", json={"identifier": person.identifier,
                                                 "password": PASSWORD}).json()  # fmt: skip
    assert post(web, "/security/sessions/others/end", "/security").status_code == 303
    assert me(client, third["token"]) == 401
    assert web.get("/security").status_code == 200  # this one stays
    # Without the form's token nothing happens.
    assert web.post(f"/security/sessions/{person.session_id}/end").status_code == 403
    assert web.get("/security").status_code == 200


def test_signed_out_visitors_go_to_sign_in(tab: Tab) -> None:
    web = tab()
    for path in ("/security", "/security/passkeys", "/security/recovery-codes",
                 "/security/password", "/security/contact"):  # fmt: skip
        answer = web.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == door_for(path), path


# -- password -------------------------------------------------------------------------------


def test_change_password(
    holder: Callable[..., Person], tab: Tab, client: TestClient,
    enrol_totp: Callable[[Person], str], totp_code: Callable[[str], str],
) -> None:  # fmt: skip
    person = holder()
    other = client.post("/v1/auth/signin", json={"identifier": person.identifier,
                                                 "password": PASSWORD}).json()  # fmt: skip
    secret = enrol_totp(person)
    web = tab(person)
    form = {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD}  # fmt: skip
    wrong = post(web, "/security/password", "/security/password",
                 **{**form, "current_password": "not it at all"})  # fmt: skip
    assert wrong.status_code == 401 and "the current password is not right" in wrong.text
    differ = post(web, "/security/password", "/security/password",
                  **{**form, "new_password_again": "x"})  # fmt: skip
    assert differ.status_code == 422 and "type the same new password twice" in differ.text
    common = {"new_password": "password1", "new_password_again": "password1"}
    weak = post(web, "/security/password", "/security/password", **{**form, **common})
    assert weak.status_code == 422 and "most common" in weak.text  # before any step-up
    step = post(web, "/security/password", "/security/password", **form)
    challenge = CHALLENGE.search(step.text).group(1)  # type: ignore[union-attr]
    done = post(web, "/security/password", "/security/password", **form,
                challenge_id=challenge, code=totp_code(secret))  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/security?done=password"
    assert "Password changed" in web.get("/security?done=password").text
    assert me(client, other["token"]) == 401
    signed = client.post("/v1/auth/signin", json={"identifier": person.identifier,
                                                  "password": NEW_PASSWORD})  # fmt: skip
    assert signed.status_code == 200


def test_strength_meter(tab: Tab, holder: Callable[..., Person]) -> None:
    web = tab()
    csrf = token(web, "/password-reset")
    weak = web.post("/password-strength", data={"new_password": "abc", "csrf_token": csrf})
    assert "Strength: very weak" in weak.text and "at least 8 characters" in weak.text
    good = web.post("/password-strength", data={"new_password": NEW_PASSWORD, "csrf_token": csrf})
    assert "Good enough." in good.text
    chinese = tab(lang="zh-CN")
    answer = chinese.post("/password-strength", data={
        "new_password": "abc", "csrf_token": token(chinese, "/password-reset"),
    })  # fmt: skip
    assert "强度" in answer.text
    assert web.post("/password-strength", data={"new_password": "abc"}).status_code == 403


def test_contact_page_without_pending_change(holder: Callable[..., Person], tab: Tab,
                                             container: Any) -> None:  # fmt: skip
    person = holder()
    web = tab(person)
    assert "No new phone number or email is waiting" in web.get("/security/contact").text
    wrong = post(web, "/security/contact", "/security/contact", code="123456")
    assert wrong.status_code == 400 and 'role="alert"' in wrong.text
    with UnitOfWork(container.database) as uow:
        user = uow.session.get(User, uuid.UUID(person.user_id))
        assert user is not None and recovery.remaining(uow.session, user.id) == 0
