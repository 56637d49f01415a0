"""The holder's inbox as a page: in-app notifications newest first (as ``GET
/v1/notifications``), unread ones marked, mark one or all read, and "more" paging that
works without scripts (a link; htmx swaps the list in place when it is there).
Someone else's notification is the same 404 page as a missing one."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity import notifications
from anxin.kit.errors import NotFound
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.web import guard
from anxin.web.account_pages import CheckedForm
from anxin.web.guard import Holder
from anxin.web.pages import see_other, show

router = APIRouter(include_in_schema=False)
PAGE = 20
# The list grows by PAGE per "more"; past this, older notices are not worth a page.
MOST = 500
# Out-of-range counts are clamped, not refused: they come from links people may edit.
Shown = Annotated[int, Query()]
ShownField = Annotated[int, Form()]


def _clamp(shown: int) -> int:
    return max(1, min(shown, MOST))


def _back(shown: int, *, done: str = "", anchor: str = "") -> str:
    query = {"shown": str(shown)} if shown != PAGE else {}
    if done:
        query["done"] = done
    return "/notifications" + (f"?{urlencode(query)}" if query else "") + anchor


@router.get("/notifications", response_class=HTMLResponse)
def inbox_page(
    request: Request, container: ContainerDep, uow: WriteUoW, shown: Shown = PAGE
) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    shown = _clamp(shown)
    # One more than shown tells whether a "more" link is needed.
    rows, unread = notifications.inbox(uow.session, holder.user.id, limit=shown + 1)
    context = {
        "items": rows[:shown], "unread": unread, "more": len(rows) > shown,
        "shown": shown, "next": min(shown + PAGE, MOST), "tz": BUSINESS_TZ,
        "done": request.query_params.get("done"),
    }  # fmt: skip
    return show(request, container, "inbox.html", context, holder=holder)


def _missing(request: Request, container: ContainerDep, holder: Holder) -> HTMLResponse:
    return show(request, container, "inbox_missing.html", holder=holder, status_code=404)


@router.post("/notifications/read-all", response_class=HTMLResponse, dependencies=[CheckedForm])
def mark_all_read(
    request: Request, container: ContainerDep, uow: WriteUoW, shown: ShownField = PAGE
) -> Response:
    holder = guard.require_holder(request, container, uow)
    # The service marks one at a time (as the API does); a few batches cover any inbox.
    for _ in range(50):
        rows, _unread = notifications.inbox(
            uow.session, holder.user.id, limit=200, unread_only=True
        )
        if not rows:
            break
        for row in rows:
            notifications.mark_read(uow.session, holder.user.id, row.id, holder.now)
    uow.commit()
    return see_other(_back(_clamp(shown), done="all_read"))


@router.post(
    "/notifications/{notification_id}/read", response_class=HTMLResponse,
    dependencies=[CheckedForm],
)  # fmt: skip
def mark_read(
    notification_id: str, request: Request, container: ContainerDep, uow: WriteUoW,
    shown: ShownField = PAGE,
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    try:
        wanted = uuid.UUID(notification_id)
        notifications.mark_read(uow.session, holder.user.id, wanted, holder.now)
    except (ValueError, NotFound):
        return _missing(request, container, holder)
    uow.commit()
    return see_other(_back(_clamp(shown), anchor=f"#n-{wanted}"))
