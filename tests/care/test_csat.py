"""CSAT: asked once, on the first resolution; answered once; the comment sealed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from anxin.care import csat, states
from anxin.care.errors import CsatAlreadyAnswered, CsatNotRequested, InvalidTicket
from anxin.care.tickets import add_message
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Notification
from anxin.models.care import Csat
from anxin.privacy.vault import Vault
from tests.care.conftest import NOW, make_user, new_ticket


def test_asked_once_answered_once(uow: UnitOfWork, vault: Vault) -> None:
    holder = make_user(uow.session, vault, NOW)
    ticket = new_ticket(uow.session, vault, holder=holder)
    with pytest.raises(CsatNotRequested):
        csat.answer(uow.session, vault, ticket, rating=5, comment=None, now=NOW)
    states.change_status(uow.session, vault, ticket, "resolved", now=NOW)
    add_message(uow.session, vault, ticket, author_kind="customer", body="not fixed",
                channel="app", now=NOW + timedelta(hours=1))  # fmt: skip
    states.change_status(uow.session, vault, ticket, "resolved", now=NOW + timedelta(hours=2))
    assert len(uow.session.scalars(select(Csat)).all()) == 1
    asked = [n for n in uow.session.scalars(select(Notification)) if n.kind == "care.csat"]
    assert len(asked) == 1
    for rating in (0, 6, True):
        with pytest.raises(InvalidTicket):
            csat.answer(uow.session, vault, ticket, rating=rating, comment=None, now=NOW)
    row = csat.answer(uow.session, vault, ticket, rating=2, comment="  slow but ok ", now=NOW)
    assert row.rating == 2 and row.comment_enc is not None and b"slow" not in row.comment_enc
    with pytest.raises(CsatAlreadyAnswered):
        csat.answer(uow.session, vault, ticket, rating=5, comment=None, now=NOW)
