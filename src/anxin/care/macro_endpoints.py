"""Macros over HTTP (``/v1/staff/care/macros``): agents list and fill them in
(``care:work``); care leads create, edit and delete them (``care:lead``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from anxin.api.deps import ReadUoW, WriteUoW
from anxin.care import macros
from anxin.care.schemas import (
    Category,
    Language,
    MacroIn,
    MacroList,
    MacroOut,
    MacroPatch,
    RenderIn,
    RenderOut,
)
from anxin.care.tickets import get_ticket
from anxin.identity.deps import AuthContext, require_permission
from anxin.models.care import Macro

router = APIRouter(prefix="/v1/staff/care/macros", tags=["care staff"])
CareWork = Annotated[AuthContext, Depends(require_permission("care:work"))]
CareLead = Annotated[AuthContext, Depends(require_permission("care:lead"))]


def _out(macro: Macro) -> MacroOut:
    return MacroOut(id=macro.id, name=macro.name, language=macro.language,
                    category=macro.category, body=macro.body, active=macro.active,
                    created_at=macro.created_at)  # fmt: skip


@router.get("", response_model=MacroList)
def list_macros(
    auth: CareWork, uow: ReadUoW, language: Language | None = None,
    category: Category | None = None, include_inactive: bool = False,
) -> MacroList:  # fmt: skip
    """Macros in a language; with a category, those for it and the general ones."""
    rows = macros.listing(uow.session, language=language, category=category,
                          include_inactive=include_inactive)  # fmt: skip
    return MacroList(data=[_out(m) for m in rows], placeholders=list(macros.PLACEHOLDERS))


@router.post("", status_code=201, response_model=MacroOut)
def create_macro(body: MacroIn, auth: CareLead, uow: WriteUoW) -> MacroOut:
    """A saved reply; its text may use the placeholders listed by ``GET``."""
    macro = macros.create(uow.session, name=body.name, language=body.language,
                          category=body.category, body=body.body, actor=auth.user,
                          now=auth.now)  # fmt: skip
    out = _out(macro)
    uow.commit()
    return out


@router.get("/{macro_id}", response_model=MacroOut)
def get_macro(macro_id: uuid.UUID, auth: CareWork, uow: ReadUoW) -> MacroOut:
    return _out(macros.get(uow.session, macro_id))


@router.patch("/{macro_id}", response_model=MacroOut)
def update_macro(macro_id: uuid.UUID, body: MacroPatch, auth: CareLead, uow: WriteUoW) -> MacroOut:
    macro = macros.update(
        uow.session, macros.get(uow.session, macro_id), actor=auth.user, now=auth.now,
        name=body.name, body=body.body, category=body.category,
        clear_category=body.clear_category, active=body.active,
    )  # fmt: skip
    out = _out(macro)
    uow.commit()
    return out


@router.delete("/{macro_id}", status_code=204)
def delete_macro(macro_id: uuid.UUID, auth: CareLead, uow: WriteUoW) -> Response:
    macros.delete(uow.session, macros.get(uow.session, macro_id), actor=auth.user, now=auth.now)
    uow.commit()
    return Response(status_code=204)


@router.post("/{macro_id}/render", response_model=RenderOut)
def render_macro(macro_id: uuid.UUID, body: RenderIn, auth: CareWork, uow: ReadUoW) -> RenderOut:
    """The macro filled in for a ticket, to read before sending."""
    macro = macros.get(uow.session, macro_id)
    ticket = get_ticket(uow.session, body.ticket_id)
    return RenderOut(text=macros.render(uow.session, auth.vault, macro, ticket, agent=auth.user))
