"""Server-rendered pages for wallet holders (Jinja2, htmx), in Chinese and English.

``install(app)`` adds the pages and ``/static`` to the API's application: the pages call
the same services as the API, in the same process.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from anxin.web.guard import HOME, FormRefused, SignInFirst

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    from anxin.web import (
        access_log_pages,
        account_pages,
        appeal_pages,
        care_pages,
        console_auth,
        console_disputes,
        console_incidents,
        console_pages,
        console_remediation,
        inbox_pages,
        mandate_pages,
        passkey_pages,
        pay_pages,
        recovery_pages,
        security_pages,
        statement_pages,
        status_pages,
        transfer_pages,
        wallet_pages,
        withdraw_pages,
    )  # fmt: skip
    from anxin.web.pages import explain, locale_of
    from anxin.web.render import render

    for router in (
        account_pages.router, passkey_pages.router, recovery_pages.router,
        security_pages.router, access_log_pages.router, wallet_pages.router,
        withdraw_pages.router, transfer_pages.router, pay_pages.router, mandate_pages.router,
        statement_pages.router, inbox_pages.router, appeal_pages.router, care_pages.router,
        status_pages.router, console_auth.router, console_pages.router,
        console_disputes.router, console_incidents.router, console_remediation.router,
    ):  # fmt: skip
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    async def sign_in_first(request: Request, error: Exception) -> Response:
        staff = isinstance(error, console_auth.StaffSignInFirst)
        door = "/console/sign-in" if staff else "/sign-in"
        fragment = request.headers.get("HX-Request") == "true"
        # Back to this page after signing in (a merchant's /pay link, for one); for a
        # fragment, the page it is part of.
        page = urlsplit(request.headers.get("HX-Current-URL", "")) if fragment else request.url
        wanted = page.path + (f"?{page.query}" if page.query else "")
        if not staff and request.method == "GET" and wanted not in ("", HOME):
            door += "?" + urlencode({"next": wanted})
        if fragment:
            # A fragment refreshed by htmx after the session ended: send the whole page to
            # the sign-in, rather than swapping the sign-in form into a part of the page.
            return Response(status_code=204, headers={"HX-Redirect": door})
        return RedirectResponse(door, status_code=303)

    async def refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, FormRefused | console_auth.ConsoleClosed)
        message = explain(error, locale_of(request))
        page: HTMLResponse = render(request, "refused.html", {"error": message}, status_code=403)
        return page

    app.add_exception_handler(SignInFirst, sign_in_first)
    app.add_exception_handler(FormRefused, refused)
    app.add_exception_handler(console_auth.ConsoleClosed, refused)
