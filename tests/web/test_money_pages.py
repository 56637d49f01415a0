"""The holder's money pages without a browser (SQLite and PostgreSQL): withdrawing (fee
shown, step-up, pending order, replayed key moves money once, frozen wallet, too little
money, bad amounts), paying a merchant's payment request, auto-pay mandates and appealing a
freeze; CSRF refusals and someone else's objects (404)."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from anxin.api.deps import Container
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import FundingOrder
from tests.wallet.conftest import Person
from tests.wallet.merchant_helpers import Shop, make_shop, payment_fee, points_rule, wallet

__all__ = ["make_shop", "payment_fee", "points_rule"]

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
BANK = "6222 0212 3456 7890"


class Tab:
    """A browser tab (https, for the ``__Host-`` cookies) signed in as a holder with an
    authenticator app, answering step-up pages with its next code."""

    def __init__(self, app: Any, person: Person, code: Callable[[], str]) -> None:
        self.web = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
        self.web.cookies.set("__Host-anxin_session", person.token)
        self.web.headers["Accept-Language"] = "en"
        self.person, self.code = person, code

    def get(self, path: str) -> Any:
        return self.web.get(path, follow_redirects=False)

    def token(self, path: str) -> str:
        found = TOKEN.search(self.get(path).text)
        assert found is not None, path
        return found.group(1)

    def post(self, path: str, form_page: str, **data: str) -> Any:
        data = {**data, "csrf_token": self.token(form_page)}
        return self.web.post(path, data=data, follow_redirects=False)

    def step_up(self, path: str, page: Any) -> Any:
        """Answer the step-up page ``page`` (shown by a post to ``path``) with a code."""
        assert "Confirm with your authenticator app" in page.text, page.text
        fields = {k: html.unescape(v) for k, v in HIDDEN.findall(page.text)}
        return self.web.post(path, data={**fields, "code": self.code()}, follow_redirects=False)

    def stepped(self, path: str, form_page: str, **data: str) -> Any:
        return self.step_up(path, self.post(path, form_page, **data))


Tabs = Callable[..., Tab]


@pytest.fixture
def tab(
    client: TestClient, holder: Callable[..., Person], enrol_totp: Callable[[Person], str],
    totp_code: Callable[[str], str],
) -> Tabs:  # fmt: skip
    def make(person: Person | None = None) -> Tab:
        person = person or holder()
        secret = enrol_totp(person)
        return Tab(client.app, person, lambda: totp_code(secret))

    return make


def hidden(page: Any, name: str) -> str:
    return dict(HIDDEN.findall(page.text))[name]


def link_bank(tab: Tab) -> str:
    linked = tab.stepped("/withdraw/accounts", "/withdraw", number=BANK)
    assert linked.status_code == 303 and linked.headers["location"] == "/withdraw?done=account"
    found = re.search(r'<option value="([0-9a-f-]{36})"', tab.get("/withdraw").text)
    assert found is not None
    return found.group(1)


def quote_withdrawal(tab: Tab, bank: str, amount: str) -> Any:
    return tab.post("/withdraw", "/withdraw", destination_id=bank, amount=amount)


def confirm_fields(page: Any) -> dict[str, str]:
    return {k: hidden(page, k) for k in ("destination_id", "amount", "fee", "idempotency_key")}


def orders(container: Container, person: Person) -> int:
    with UnitOfWork(container.database, write=False) as unit:
        query = select(func.count()).select_from(FundingOrder).where(
            FundingOrder.user_id == uuid.UUID(person.user_id),
            FundingOrder.direction == "withdrawal",
        )  # fmt: skip
        return int(unit.session.scalar(query) or 0)


# -- withdrawals --------------------------------------------------------------------------------


def test_withdraw_with_fee_step_up_and_pending_order(
    tab: Tabs, give: Callable[..., None], fee_rule: Callable[..., None], container: Container
) -> None:
    me = tab()
    give(me.person, 100_00)
    fee_rule("withdrawal", fixed=2_00)
    assert "Link a bank account first" in me.get("/withdraw").text
    bank = link_bank(me)
    shown = quote_withdrawal(me, bank, "30.5")
    assert shown.status_code == 200, shown.text
    assert "****7890" in shown.text and "2.00 CNY" in shown.text and "32.50 CNY" in shown.text
    fields = confirm_fields(shown)
    assert fields["amount"] == "3050" and fields["fee"] == "200"
    asked = me.post("/withdraw/confirm", "/withdraw", **fields)
    assert "32.50 CNY" in asked.text and "****7890" in asked.text  # what the code authorises
    done = me.step_up("/withdraw/confirm", asked)
    assert done.status_code == 303, done.text
    order_page = me.get(done.headers["location"])
    assert order_page.status_code == 200 and 'role="status"' in order_page.text
    assert "pending" in order_page.text and "30.50" in order_page.text
    assert wallet(container, me.person)["available"] == 100_00 - 32_50
    # A replay of the same key (a double submit, a reload) finds the same order.
    again = me.post("/withdraw/confirm", "/withdraw", **fields)
    assert again.status_code == 303 and again.headers["location"] == done.headers["location"]
    assert orders(container, me.person) == 1
    assert wallet(container, me.person)["available"] == 100_00 - 32_50
    listing = me.get("/withdraw").text
    assert done.headers["location"].split("?")[0] in listing and "pending" in listing


@pytest.mark.parametrize("amount", ["", "abc", "1.001", "-5", "0", "1e3"])
def test_bad_amounts_are_refused_on_the_form(
    tab: Tabs, give: Callable[..., None], amount: str
) -> None:
    me = tab()
    give(me.person, 100_00)
    bank = link_bank(me)
    page = quote_withdrawal(me, bank, amount)
    assert page.status_code == 422 and 'role="alert"' in page.text


def test_insufficient_funds_and_frozen_wallet_say_so(
    tab: Tabs, give: Callable[..., None], container: Container,
    ready_staff: Callable[[str], Person], client: TestClient,
) -> None:  # fmt: skip
    me = tab()
    give(me.person, 10_00)
    bank = link_bank(me)
    poor = quote_withdrawal(me, bank, "20")
    assert poor.status_code == 422 and "Insufficient" in poor.text and 'role="alert"' in poor.text
    shown = quote_withdrawal(me, bank, "5")
    assert shown.status_code == 200
    fields = confirm_fields(shown)
    freeze_wallet(client, ready_staff, me.person)
    frozen = quote_withdrawal(me, bank, "5")
    assert frozen.status_code == 403 and 'role="alert"' in frozen.text
    # A confirmation already on screen is refused too, before any step-up.
    late = me.post("/withdraw/confirm", "/withdraw", **fields)
    assert late.status_code == 403 and 'role="alert"' in late.text
    assert orders(container, me.person) == 0


def freeze_wallet(client: TestClient, ready_staff: Callable[[str], Person],
                  person: Person) -> str:  # fmt: skip
    officer = ready_staff("risk_officer")
    made = client.post(
        f"/v1/staff/holders/{person.user_id}/freezes", headers=officer.headers,
        json={"scope": "outgoing", "reason_code": "suspected_fraud", "note": "odd pattern"},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_withdrawal_forms_need_the_csrf_token(tab: Tabs, give: Callable[..., None]) -> None:
    me = tab()
    give(me.person, 10_00)
    bank = link_bank(me)
    for path, data in (
        ("/withdraw", {"destination_id": bank, "amount": "1"}),
        ("/withdraw/confirm", {"destination_id": bank, "amount": "100", "fee": "0",
                               "idempotency_key": str(uuid.uuid4())}),
        ("/withdraw/accounts", {"number": BANK}),
    ):  # fmt: skip
        refused = me.web.post(path, data=data, follow_redirects=False)
        assert refused.status_code == 403, path


def test_someone_elses_withdrawal_or_account_is_not_found(
    tab: Tabs, give: Callable[..., None]
) -> None:
    owner, other = tab(), tab()
    give(owner.person, 10_00)
    bank = link_bank(owner)
    shown = quote_withdrawal(owner, bank, "1")
    asked = owner.post("/withdraw/confirm", "/withdraw", **confirm_fields(shown))
    done = owner.step_up("/withdraw/confirm", asked)
    location = done.headers["location"].split("?")[0]
    for path in (location, f"/withdraw/{uuid.uuid4()}", "/withdraw/not-an-id"):
        assert other.get(path).status_code == 404
    give(other.person, 10_00)
    stolen = quote_withdrawal(other, bank, "1")
    assert stolen.status_code == 404 and 'role="alert"' in stolen.text


def test_a_card_is_not_a_withdrawal_destination(tab: Tabs, give: Callable[..., None]) -> None:
    me = tab()
    give(me.person, 10_00)
    card = me.stepped("/top-up/cards", "/top-up", number="4111 1111 1111 1111")
    assert card.status_code == 303
    found = re.search(r'<option value="([0-9a-f-]{36})"', me.get("/top-up").text)
    assert found is not None
    refused = quote_withdrawal(me, found.group(1), "1")
    assert refused.status_code == 422 and 'role="alert"' in refused.text


def test_signed_out_money_pages_send_to_sign_in(client: TestClient) -> None:
    web = TestClient(client.app, base_url="https://testserver")
    for path in ("/withdraw", "/pay", f"/pay/{uuid.uuid4()}", "/mandates",
                 f"/mandates/{uuid.uuid4()}", "/appeals/new"):  # fmt: skip
        answer = web.get(path, follow_redirects=False)
        assert answer.status_code == 303 and "/sign-in" in answer.headers["location"], path


# -- paying a merchant's payment request ---------------------------------------------------------


def open_and_pay(me: Tab, intent_id: str) -> tuple[Any, Any]:
    """The payment page, then the answer to its confirmation (with step-up if asked)."""
    shown = me.get(f"/pay/{intent_id}")
    assert shown.status_code == 200, shown.text
    data = {"idempotency_key": hidden(shown, "idempotency_key"), "fee": hidden(shown, "fee")}
    answer = me.post(f"/pay/{intent_id}/confirm", f"/pay/{intent_id}", **data)
    if answer.status_code == 200 and "authenticator" in answer.text:
        answer = me.step_up(f"/pay/{intent_id}/confirm", answer)
    return shown, answer


def test_pay_a_payment_request(
    tab: Tabs, give: Callable[..., None], make_shop: Callable[..., Shop], payment_fee: int,
    points_rule: None, container: Container,
) -> None:  # fmt: skip
    me = tab()
    give(me.person, 200_00)
    shop = make_shop("Happy <Tea>")
    intent_id = shop.intent(100_00, description="Two cups of <oolong>", reference="A-17")
    shown, paid = open_and_pay(me, intent_id)
    assert "Happy &lt;Tea&gt;" in shown.text and "Two cups of &lt;oolong&gt;" in shown.text
    assert "<oolong>" not in shown.text
    assert "0.60 CNY" in shown.text and "100.60 CNY" in shown.text  # fee and total
    assert ">100<" in shown.text  # points: one per yuan
    assert "99.40 CNY" in shown.text  # balance after
    assert paid.status_code == 303 and paid.headers["location"] == f"/pay/{intent_id}?done=paid"
    receipt = me.get(paid.headers["location"])
    assert receipt.status_code == 200 and 'role="status"' in receipt.text
    assert "You paid 100.60 CNY to Happy &lt;Tea&gt;" in receipt.text and "A-17" in receipt.text
    assert wallet(container, me.person)["available"] == 200_00 - 100_60
    assert intent_id in me.get("/pay").text
    # Paid already: opening the link again shows the receipt, and paying again is refused.
    again = me.get(f"/pay/{intent_id}")
    assert "already paid" in again.text
    assert shop.post(f"/payment-intents/{intent_id}/capture").status_code == 200
    assert "captured" in me.get(f"/pay/{intent_id}").text


def test_a_replayed_confirmation_pays_once(
    tab: Tabs, give: Callable[..., None], make_shop: Callable[..., Shop], container: Container
) -> None:
    me = tab()
    give(me.person, 50_00)
    intent_id = make_shop().intent(10_00)
    shown, paid = open_and_pay(me, intent_id)
    assert paid.status_code == 303
    data = {"idempotency_key": hidden(shown, "idempotency_key"), "fee": hidden(shown, "fee")}
    replay = me.post(f"/pay/{intent_id}/confirm", "/pay", **data)
    assert replay.status_code == 303 and replay.headers["location"].endswith("?done=paid")
    assert wallet(container, me.person)["available"] == 40_00
    # A new key for the same request is refused: it is paid.
    fresh = me.post(f"/pay/{intent_id}/confirm", "/pay", idempotency_key=str(uuid.uuid4()),
                    fee="0")  # fmt: skip
    assert fresh.status_code == 409 and "already paid" in fresh.text
    assert wallet(container, me.person)["available"] == 40_00


def test_expired_cancelled_missing_and_someone_elses_requests(
    tab: Tabs, give: Callable[..., None], make_shop: Callable[..., Shop], clock: Any,
    container: Container,
) -> None:  # fmt: skip
    from datetime import timedelta

    owner, other = tab(), tab()
    give(owner.person, 50_00)
    give(other.person, 50_00)
    shop = make_shop()
    # Someone else paid it: for everyone else it does not exist.
    mine = shop.intent(10_00, description="private order")
    assert open_and_pay(owner, mine)[1].status_code == 303
    for path in (f"/pay/{mine}", f"/pay/{uuid.uuid4()}", "/pay/not-an-id"):
        page = other.get(path)
        assert page.status_code == 404 and "private order" not in page.text, path
    stolen = other.post(f"/pay/{mine}/confirm", "/pay", idempotency_key=str(uuid.uuid4()),
                        fee="0")  # fmt: skip
    assert stolen.status_code == 404
    # The merchant cancels after the holder confirmed: the money comes back, the page says so.
    assert shop.post(f"/payment-intents/{mine}/cancel").status_code == 200
    cancelled = owner.get(f"/pay/{mine}")
    assert cancelled.status_code == 200 and "was cancelled" in cancelled.text
    assert wallet(container, owner.person)["available"] == 50_00
    # Too late to pay: a clear page, and a confirmation is refused.
    late = shop.intent(5_00, confirm_within_seconds=60)
    shown = owner.get(f"/pay/{late}")
    clock.advance(timedelta(minutes=2))
    expired = owner.get(f"/pay/{late}")
    assert "expired" in expired.text and 'role="alert"' in expired.text
    refused = owner.post(f"/pay/{late}/confirm", "/pay",
                         idempotency_key=hidden(shown, "idempotency_key"), fee="0")  # fmt: skip
    assert refused.status_code == 409 and "expired" in refused.text
    assert wallet(container, owner.person)["available"] == 50_00
    # A code typed on /pay opens the request; one that is not a request says so.
    opened = owner.get(f"/pay?intent=https://pay.example/pay/{late}")
    assert opened.status_code == 303 and opened.headers["location"] == f"/pay/{late}"
    assert owner.get("/pay?intent=nonsense").status_code == 404


def test_paying_with_too_little_money_or_a_frozen_wallet(
    tab: Tabs, give: Callable[..., None], make_shop: Callable[..., Shop],
    ready_staff: Callable[[str], Person], client: TestClient, container: Container,
) -> None:  # fmt: skip
    me = tab()
    give(me.person, 5_00)
    intent_id = make_shop().intent(10_00)
    shown, poor = open_and_pay(me, intent_id)
    assert "not enough" in shown.text
    assert poor.status_code == 422 and 'role="alert"' in poor.text
    give(me.person, 10_00)
    freeze_wallet(client, ready_staff, me.person)
    shown, frozen = open_and_pay(me, intent_id)
    assert frozen.status_code == 403 and 'role="alert"' in frozen.text
    assert wallet(container, me.person)["available"] == 15_00


def test_pay_forms_need_the_csrf_token(tab: Tabs, make_shop: Callable[..., Shop]) -> None:
    me = tab()
    intent_id = make_shop().intent(1_00)
    refused = me.web.post(f"/pay/{intent_id}/confirm",
                          data={"idempotency_key": str(uuid.uuid4()), "fee": "0"})  # fmt: skip
    assert refused.status_code == 403


# -- auto-pay mandates -----------------------------------------------------------------------------


def propose(shop: Shop, clock: Any, **changes: Any) -> str:
    from datetime import timedelta

    terms = {
        "currency": "CNY", "max_per_debit": 30_00, "frequency": "daily",
        "debits_per_period": 2, "ends_at": (clock.now() + timedelta(days=30)).isoformat(),
        "description": "Daily <breakfast>", **changes,
    }  # fmt: skip
    made = shop.post("/mandates", terms)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_accept_debit_and_cancel_a_mandate(
    tab: Tabs, give: Callable[..., None], make_shop: Callable[..., Shop], clock: Any,
    container: Container,
) -> None:  # fmt: skip
    me = tab()
    give(me.person, 100_00)
    shop = make_shop("Morning Bakery")
    mandate_id = propose(shop, clock)
    shown = me.get(f"/mandates/{mandate_id}")
    assert shown.status_code == 200
    assert "Morning Bakery" in shown.text and "30.00 CNY" in shown.text
    assert "Daily &lt;breakfast&gt;" in shown.text and "2 per day" in shown.text
    asked = me.post(f"/mandates/{mandate_id}/accept", f"/mandates/{mandate_id}")
    assert "Morning Bakery" in asked.text and "30.00 CNY" in asked.text  # what is signed
    accepted = me.step_up(f"/mandates/{mandate_id}/accept", asked)
    assert accepted.headers["location"] == f"/mandates/{mandate_id}?done=accepted"
    debit = shop.post(f"/mandates/{mandate_id}/debits", {"amount": 12_00, "currency": "CNY",
                                                         "description": "croissant"})  # fmt: skip
    assert debit.status_code == 201, debit.text
    listing = me.get("/mandates").text
    assert "Morning Bakery" in listing and "active" in listing and "12.00" in listing
    detail = me.get(f"/mandates/{mandate_id}").text
    assert "croissant" in detail and "12.00" in detail
    # Accepting again is refused clearly.
    twice = me.post(f"/mandates/{mandate_id}/accept", f"/mandates/{mandate_id}")
    assert twice.status_code == 409 and 'role="alert"' in twice.text
    confirm_page = me.get(f"/mandates/{mandate_id}/cancel")
    assert confirm_page.status_code == 200 and "Yes, cancel auto-pay" in confirm_page.text
    cancelled = me.post(f"/mandates/{mandate_id}/cancel", f"/mandates/{mandate_id}/cancel")
    assert cancelled.headers["location"] == f"/mandates/{mandate_id}?done=cancelled"
    after = me.get(cancelled.headers["location"]).text
    assert 'role="status"' in after and "cancelled" in after
    refused = shop.post(f"/mandates/{mandate_id}/debits", {"amount": 1_00, "currency": "CNY"})
    assert refused.status_code == 422, refused.text
    assert wallet(container, me.person)["available"] == 100_00 - 12_00


def test_someone_elses_mandate_is_404_and_forms_need_csrf(
    tab: Tabs, make_shop: Callable[..., Shop], clock: Any
) -> None:
    owner, other = tab(), tab()
    shop = make_shop()
    mandate_id = propose(shop, clock)
    asked = owner.post(f"/mandates/{mandate_id}/accept", f"/mandates/{mandate_id}")
    assert owner.step_up(f"/mandates/{mandate_id}/accept", asked).status_code == 303
    for path in (f"/mandates/{mandate_id}", f"/mandates/{mandate_id}/cancel",
                 f"/mandates/{uuid.uuid4()}", "/mandates/not-an-id"):  # fmt: skip
        assert other.get(path).status_code == 404, path
    for action in ("accept", "cancel"):
        answer = other.post(f"/mandates/{mandate_id}/{action}", "/mandates")
        assert answer.status_code == 404, action
        refused = owner.web.post(f"/mandates/{mandate_id}/{action}", data={})
        assert refused.status_code == 403, action
    assert "active" in owner.get(f"/mandates/{mandate_id}").text
    # A proposal nobody accepted cannot be cancelled by a holder who merely has its link.
    open_one = propose(shop, clock)
    assert other.get(f"/mandates/{open_one}/cancel").status_code == 404


# -- appealing a freeze ----------------------------------------------------------------------------


def test_appeal_a_freeze_once(
    tab: Tabs, ready_staff: Callable[[str], Person], client: TestClient
) -> None:
    me, other = tab(), tab()
    freeze_id = freeze_wallet(client, ready_staff, me.person)
    dashboard = me.get("/wallet").text
    assert f"/appeals/new?freeze={freeze_id}" in dashboard
    form = me.get(f"/appeals/new?freeze={freeze_id}")
    assert form.status_code == 200 and '<label for="message">' in form.text
    empty = me.post("/appeals/new", "/wallet", freeze_id=freeze_id, message="  ")
    assert empty.status_code == 422 and 'role="alert"' in empty.text
    filed = me.post("/appeals/new", "/wallet", freeze_id=freeze_id,
                    message="The <payments> were my own rent")  # fmt: skip
    assert filed.status_code == 303 and filed.headers["location"] == "/wallet?done=appeal"
    box = me.get("/wallet?done=appeal").text
    found = re.search(r"reference (AX-[0-9A-Z-]+)", box)
    assert found is not None, box
    assert "Appeal filed on" in box and "We answer by" in box
    ticket = re.search(r'href="/care/([0-9a-f-]{36})"', box)
    assert ticket is not None
    care = me.get(f"/care/{ticket.group(1)}").text
    assert "The &lt;payments&gt; were my own rent" in care and found.group(1) in care
    assert f"/appeals/new?freeze={freeze_id}" not in box
    again = me.post("/appeals/new", "/wallet", freeze_id=freeze_id, message="again")
    assert again.status_code == 409 and "already appealed" in again.text
    assert 'role="alert"' in again.text
    # Someone else's freeze, or none: not found; and the form needs the token.
    for path in (f"/appeals/new?freeze={freeze_id}", "/appeals/new?freeze=x", "/appeals/new"):
        assert other.get(path).status_code == 404, path
    hijack = other.post("/appeals/new", "/wallet", freeze_id=freeze_id, message="hijack")
    assert hijack.status_code == 404
    refused = me.web.post("/appeals/new", data={"freeze_id": freeze_id, "message": "x"})
    assert refused.status_code == 403


def test_chinese_money_pages(tab: Tabs, give: Callable[..., None],
                             make_shop: Callable[..., Shop]) -> None:  # fmt: skip
    me = tab()
    me.web.headers["Accept-Language"] = "zh-CN"
    give(me.person, 10_00)
    assert "提现" in me.get("/withdraw").text
    assert "自动扣款" in me.get("/mandates").text
    intent_id = make_shop("茶铺").intent(1_00)
    assert "茶铺" in me.get(f"/pay/{intent_id}").text
