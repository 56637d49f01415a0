"""The password reset as pages, without a browser (SQLite and PostgreSQL): the same answer
whether or not an account exists, wrong codes, passwords that differ or are weak, the
second factor when the account has one, every session ended; CSRF refused."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from anxin.identity.delivery import FakeSmsProvider
from tests.identity.conftest import Person
from tests.web import test_security_pages as pages

tab = pages.tab
Tab = pages.Tab
post, me = pages.post, pages.me
NEW = pages.NEW_PASSWORD


def _reset(web: TestClient, identifier: str) -> str:
    answer = post(web, "/password-reset", "/password-reset", identifier=identifier)
    assert answer.status_code == 200, answer.text
    return str(answer.text)


def _confirm(web: TestClient, identifier: str, code: str, new: str = NEW,
             again: str | None = None, **extra: str) -> object:  # fmt: skip
    return post(web, "/password-reset/confirm", "/password-reset", identifier=identifier,
                code=code, new_password=new, new_password_again=again or new, **extra)  # fmt: skip


def test_the_same_answer_with_or_without_an_account(
    holder: Callable[..., Person], tab: Tab, sms: FakeSmsProvider,
    deliver: Callable[[], object],
) -> None:  # fmt: skip
    person = holder(phone="+8613800001111")
    web = tab()
    known = _reset(web, person.identifier)
    unknown = _reset(web, "+8613800002222")

    def neutral(page: str) -> str:
        page = re.sub(r'value="[^"]*"', 'value=""', page)
        return page.replace("138****1111", "X").replace("138****2222", "X")

    assert neutral(known) == neutral(unknown)
    assert "If an account uses 138****1111, we sent a code to it." in known
    deliver()
    assert sms.last_to("+8613800002222") is None  # nothing sent, nothing said
    assert "138****2222" in unknown and 'role="status"' in unknown
    chinese = tab(lang="zh-CN")
    assert "如果有账户使用" in _reset(chinese, "+8613800003333")


def test_reset_signs_out_everywhere(
    holder: Callable[..., Person], tab: Tab, last_code: Callable[[str], str],
    client: TestClient,
) -> None:  # fmt: skip
    person = holder()
    web = tab()
    _reset(web, person.identifier)
    code = last_code(person.identifier)
    wrong = _confirm(web, person.identifier, "000000" if code != "000000" else "111111")
    assert wrong.status_code == 400 and 'role="alert"' in wrong.text  # type: ignore[attr-defined]
    differ = _confirm(web, person.identifier, code, again="something else entirely")
    assert differ.status_code == 422  # type: ignore[attr-defined]
    weak = _confirm(web, person.identifier, code, new="password1")
    assert weak.status_code == 422 and "most common" in weak.text  # type: ignore[attr-defined]
    done = _confirm(web, person.identifier, code)
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert done.headers["location"] == "/sign-in?done=reset"  # type: ignore[attr-defined]
    assert me(client, person.token) == 401  # every session ended
    assert "every session was signed out" in web.get("/sign-in?done=reset").text
    again = _confirm(web, person.identifier, code)  # the code is used up
    assert again.status_code == 400  # type: ignore[attr-defined]
    signed = post(web, "/sign-in", "/sign-in", identifier=person.identifier, password=NEW)
    assert signed.status_code == 303 and signed.headers["location"] == "/wallet"


def test_reset_with_a_second_factor(
    holder: Callable[..., Person], tab: Tab, last_code: Callable[[str], str],
    enrol_totp: Callable[[Person], str], totp_code: Callable[[str], str],
) -> None:  # fmt: skip
    person = holder()
    secret = enrol_totp(person)
    web = tab()
    _reset(web, person.identifier)
    code = last_code(person.identifier)
    asked = _confirm(web, person.identifier, code)
    text = asked.text  # type: ignore[attr-defined]
    assert asked.status_code == 401 and 'id="factor_code"' in text  # type: ignore[attr-defined]
    assert "Your account has a second factor" in text
    wrong = _confirm(web, person.identifier, code, factor_code="000000")
    assert wrong.status_code == 401 and 'id="factor_code"' in wrong.text  # type: ignore[attr-defined]
    done = _confirm(web, person.identifier, code, factor_code=totp_code(secret))
    assert done.status_code == 303  # type: ignore[attr-defined]


def test_reset_forms_need_their_token(tab: Tab) -> None:
    web = tab()
    assert web.post("/password-reset", data={"identifier": "+8613800001111"}).status_code == 403
    refused = web.post("/password-reset/confirm", data={
        "identifier": "+8613800001111", "code": "123456", "new_password": NEW,
        "new_password_again": NEW,
    })  # fmt: skip
    assert refused.status_code == 403
    bad = post(web, "/password-reset", "/password-reset", identifier="not a contact")
    assert bad.status_code == 422 and 'role="alert"' in bad.text
