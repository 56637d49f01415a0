"""The web layer without a browser: language choice, security headers, CSRF refusals,
escaping, amounts typed by people."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from anxin.api.app import create_app
from anxin.identity.staff import create_staff
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Session as AuthSession
from anxin.settings import Settings
from anxin.web import i18n
from anxin.web.guard import CSRF_COOKIE
from anxin.web.pages import InvalidAmountText, parse_amount
from anxin.web.render import environment, format_money
from anxin.web.spending import last_months
from tests.web.conftest import door_for

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def web(settings: Settings) -> Iterator[TestClient]:
    # https: the CSRF cookie is Secure (``__Host-``), so the client only returns it there.
    app = create_app(settings)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


def _token(client: TestClient, path: str = "/sign-in") -> str:
    found = TOKEN.search(client.get(path).text)
    assert found is not None
    return found.group(1)


# -- language -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR,en;q=0.5,zh;q=0.7", "zh_CN"),
        ("zh-TW", "zh_CN"),
        ("de, fr", None),
        ("en;q=0, zh;q=0.1", "zh_CN"),
        ("", None),
        ("q=;;,", None),
    ],
)
def test_accept_language(header: str, expected: str | None) -> None:
    assert i18n.from_accept_language(header) == expected


def test_language_from_header_then_switch_remembered(web: TestClient) -> None:
    assert '<html lang="zh-CN">' in web.get("/sign-in").text  # nothing said: Chinese
    english = web.get("/sign-in", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.text and "Sign in" in english.text
    switched = web.get("/sign-in?lang=zh_CN", headers={"Accept-Language": "en"})
    assert "登录" in switched.text
    assert switched.cookies.get(i18n.COOKIE) == "zh_CN"
    again = web.get("/sign-up", headers={"Accept-Language": "en"})
    assert '<html lang="zh-CN">' in again.text  # the switch wins over the browser's wish
    assert web.get("/sign-in?lang=xx").status_code == 200  # unknown: ignored


def test_catalog_placeholders_match() -> None:
    path = i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    names = re.compile(r"%\((\w+)\)s")
    for message in catalog:
        if message.id:
            assert message.string, f"untranslated: {message.id!r}"
            assert sorted(names.findall(message.string)) == sorted(names.findall(str(message.id)))


# -- headers, escaping --------------------------------------------------------------------------


def test_pages_have_a_strict_csp_and_no_inline_script(web: TestClient) -> None:
    for path in ("/sign-in", "/sign-up"):
        page = web.get(path)
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["cache-control"] == "no-store"
        assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)  # no inline script
        assert not re.search(r"\son[a-z]+=", page.text)  # no inline handlers
        assert not re.search(r"\sstyle=", page.text)


def test_static_assets_are_served(web: TestClient) -> None:
    css = web.get("/static/app.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


def test_output_is_escaped(web: TestClient) -> None:
    hostile = '<script>alert("x")</script>'
    page = web.post(
        "/sign-up",
        data={"identifier": hostile, "password": "whatever", "display_name": hostile,
              "csrf_token": _token(web, "/sign-up")},
    )  # fmt: skip
    assert page.status_code == 422  # not a phone number or an email
    assert hostile not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_templates_autoescape() -> None:
    template = environment("en").from_string("{{ value }}")
    assert template.render(value="<b>&") == "&lt;b&gt;&amp;"


def test_signed_out_pages_send_to_sign_in(web: TestClient) -> None:
    for path in ("/wallet", "/top-up", "/transfer", "/statement", "/security/totp"):
        answer = web.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == door_for(path)


def test_a_fragment_refreshed_after_sign_out_sends_the_whole_page_to_sign_in(
    web: TestClient,
) -> None:
    # htmx follows a 303 itself and would swap the sign-in form into a part of the page.
    # The holder comes back to the page the fragment was part of.
    for path, door in (
        ("/statement?type=p2p", door_for("/statement?type=p2p")),
        ("/console/incidents/live", "/console/sign-in"),
    ):
        answer = web.get(path, follow_redirects=False, headers={
            "HX-Request": "true", "HX-Current-URL": "https://testserver/statement?type=p2p",
        })  # fmt: skip
        assert answer.status_code == 204 and answer.headers["HX-Redirect"] == door


# -- CSRF ---------------------------------------------------------------------------------------


def test_forms_without_a_valid_token_are_refused(web: TestClient, settings: Settings) -> None:
    form = {"identifier": "+8613800138000", "password": "not the password"}
    _token(web)  # the browser now has its CSRF cookie
    missing = web.post("/sign-in", data=form)
    assert missing.status_code == 403 and "text/html" in missing.headers["content-type"]
    forged = web.post("/sign-in", data={**form, "csrf_token": "0" * 64})
    assert forged.status_code == 403
    # A token shown to another browser is no good in this one.
    with TestClient(web.app, base_url="https://testserver") as other:
        theirs = _token(other)
    assert web.post("/sign-in", data={**form, "csrf_token": theirs}).status_code == 403
    # A valid token posted from another site is refused too.
    token = _token(web)
    foreign = web.post("/sign-in", data={**form, "csrf_token": token},
                       headers={"Origin": "https://evil.example"})  # fmt: skip
    assert foreign.status_code == 403
    # The same form with its token from our origin is heard (and the password is wrong).
    ours = web.post("/sign-in", data={**form, "csrf_token": token},
                    headers={"Origin": settings.webauthn_origin})  # fmt: skip
    assert ours.status_code == 401 and "手机号、邮箱或密码不正确" in ours.text
    # So is one whose page was served by the host it posts to (127.0.0.1 vs localhost).
    served = web.post("/sign-in", data={**form, "csrf_token": token},
                      headers={"Origin": "https://testserver"})  # fmt: skip
    assert served.status_code == 401


def test_token_is_bound_to_the_session(web: TestClient) -> None:
    token = _token(web)
    web.cookies.set("__Host-anxin_session", "another-session")
    refused = web.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 403
    assert web.cookies.get(CSRF_COOKIE)


# -- amounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scale", "minor"),
    [("100", 2, 10_000), ("100.5", 2, 10_050), (" 1,000.05 ", 2, 100_005), ("7", 0, 7),
     ("0.01", 2, 1), ("123456789012345.99", 2, 12_345_678_901_234_599)],
)  # fmt: skip
def test_amounts_typed_by_people(text: str, scale: int, minor: int) -> None:
    assert parse_amount(text, scale) == minor


@pytest.mark.parametrize("text", ["0", "0.00", "-1", "1e3", "1.001", "abc", "", "1.5.0", "NaN"])
def test_amounts_refused(text: str) -> None:
    with pytest.raises(InvalidAmountText):
        parse_amount(text, 2)


def test_format_money() -> None:
    assert format_money(-3805, 2) == "-38.05"
    assert format_money(123_456_789, 2) == "1,234,567.89"
    assert format_money(42, 0) == "42"


def test_last_months_cross_the_year_in_china_time() -> None:
    # 2027-01-31 20:00 UTC is already 1 February in Beijing.
    now = datetime(2027, 1, 31, 20, 0, tzinfo=UTC)
    assert last_months(now, 3) == [(2026, 12), (2027, 1), (2027, 2)]


def test_staff_cannot_sign_in_to_the_wallet_pages(web: TestClient, settings: Settings) -> None:
    container = web.app.state.container  # type: ignore[attr-defined]
    email, password = "agent@example.com", "violet tandem orchard quietly 42"
    with UnitOfWork(container.database) as uow:
        created = create_staff(
            uow.session, container.keys.vault(), settings, role="agent", email=email,
            name="王小明", now=container.clock.now(),
        )  # fmt: skip
        uow.commit()
    reset = web.post(
        "/v1/auth/password-reset/confirm",
        json={"identifier": email, "code": created.setup_code, "new_password": password},
    )
    assert reset.status_code == 204, reset.text
    page = web.post(
        "/sign-in", data={"identifier": email, "password": password, "csrf_token": _token(web)},
        follow_redirects=False,
    )  # fmt: skip
    assert page.status_code == 403
    assert "__Host-anxin_session" not in page.headers.get("set-cookie", "")
    with UnitOfWork(container.database) as uow:  # and no session was left behind
        assert uow.session.scalar(select(func.count()).select_from(AuthSession)) == 0
