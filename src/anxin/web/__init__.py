"""Server-rendered pages for wallet holders (Jinja2, htmx), in Chinese and English.

``install(app)`` adds the pages and ``/static`` to the API's application: the pages call
the same services as the API, in the same process.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from anxin.web.guard import FormRefused, SignInFirst

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    from anxin.web import (
        account_pages,
        care_pages,
        console_auth,
        console_pages,
        statement_pages,
        transfer_pages,
        wallet_pages,
    )  # fmt: skip
    from anxin.web.pages import explain, locale_of
    from anxin.web.render import render

    for router in (
        account_pages.router, wallet_pages.router, transfer_pages.router, statement_pages.router,
        care_pages.router, console_auth.router, console_pages.router,
    ):  # fmt: skip
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    async def sign_in_first(request: Request, error: Exception) -> Response:
        staff = isinstance(error, console_auth.StaffSignInFirst)
        door = "/console/sign-in" if staff else "/sign-in"
        return RedirectResponse(door, status_code=303)

    async def refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, FormRefused | console_auth.ConsoleClosed)
        message = explain(error, locale_of(request))
        page: HTMLResponse = render(request, "refused.html", {"error": message}, status_code=403)
        return page

    app.add_exception_handler(SignInFirst, sign_in_first)
    app.add_exception_handler(FormRefused, refused)
    app.add_exception_handler(console_auth.ConsoleClosed, refused)
