"""Intake over HTTP besides the app and chat: the public contact form (``/v1/care/contact``),
phone notes logged by agents (``/v1/staff/care/phone-notes``, ``care:work``) and the
social-media import (``/v1/care/import/social``, an operator API key with the
``care:import`` scope, or a staff session with ``care:lead``).

The contact form is rate-limited like sign-up: per client address, and per contact for the
codes it sends; wrong codes count against the address like any other code check.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.apikeys.service import authenticate as authenticate_key
from anxin.care import contact_form, phone, social_import, views
from anxin.care.intake_schemas import (
    ContactFormIn,
    ContactFormOut,
    ContactTicketOut,
    ContactVerifyIn,
    PhoneNoteIn,
    SocialImportedOut,
    SocialImportIn,
    SocialImportOut,
)
from anxin.care.schemas import StaffTicketOut
from anxin.identity import contacts as book
from anxin.identity.deps import (
    AuthContext,
    IdentityDep,
    MissingPermission,
    check_login_origin,
    client_of,
    get_auth,
    require_permission,
    require_staff,
)
from anxin.identity.permissions import has_permission
from anxin.kit.errors import Unauthorized

public_router = APIRouter(prefix="/v1/care", tags=["care intake"])
staff_router = APIRouter(prefix="/v1/staff/care", tags=["care intake"])
CareWork = Annotated[AuthContext, Depends(require_permission("care:work"))]
IMPORT_SCOPE = "care:import"
IMPORT_PERMISSION = "care:lead"

# -- the contact form ---------------------------------------------------------------------


@public_router.post("/contact", status_code=202, response_model=ContactFormOut)
def contact(
    body: ContactFormIn, request: Request, uow: WriteUoW, container: ContainerDep,
    rt: IdentityDep,
) -> ContactFormOut:  # fmt: skip
    """File a complaint without an account. A code goes to the email or phone given; the
    complaint becomes a ticket once `POST /v1/care/contact/{id}/verify` has the code."""
    check_login_origin(request, rt.settings)
    client = client_of(request)
    value = book.parse_contact(body.kind, body.value)
    vault = container.keys.vault()
    # Counted before the unit of work writes (SQLite: one writer at a time).
    rt.throttle.consume("signup:address", client.address)
    rt.throttle.consume("code:contact", book.lookup_key(vault, value))
    lifetime = rt.settings.verification_code_lifetime_seconds
    started = contact_form.start(
        uow.session, vault, contact=value, subject=body.subject.strip(), body=body.body.strip(),
        language=body.language, now=container.clock.now(), lifetime_seconds=lifetime,
    )  # fmt: skip
    uow.commit()
    return ContactFormOut(id=started.request.id, channel=value.kind, contact=value.masked,
                          expires_in_seconds=lifetime)  # fmt: skip


@public_router.post("/contact/{request_id}/verify", status_code=201,
                    response_model=ContactTicketOut)  # fmt: skip
def verify_contact(
    request_id: uuid.UUID, body: ContactVerifyIn, request: Request, uow: WriteUoW,
    container: ContainerDep, rt: IdentityDep,
) -> ContactTicketOut:  # fmt: skip
    """Prove the contact with its code: the complaint becomes a ticket (channel `web_form`)
    and an acknowledgement with its reference goes to the contact. Five wrong codes end
    the request."""
    check_login_origin(request, rt.settings)
    client = client_of(request)
    rt.throttle.check("code-check:address", client.address)
    try:
        ticket = contact_form.verify(uow.session, container.keys.vault(), request_id,
                                     code=body.code, now=container.clock.now())  # fmt: skip
    except (contact_form.ContactCodeInvalid, contact_form.ContactCodeExpired):
        uow.commit()  # the wrong attempt stays counted
        rt.throttle.hit("code-check:address", client.address)
        raise
    out = ContactTicketOut(reference=ticket.reference, status=ticket.status,
                           channel=ticket.channel)  # fmt: skip
    uow.commit()
    return out


# -- phone notes --------------------------------------------------------------------------


@staff_router.post("/phone-notes", status_code=201, response_model=StaffTicketOut)
def log_call(body: PhoneNoteIn, auth: CareWork, uow: WriteUoW) -> StaffTicketOut:
    """Log a complaint taken on the phone: a ticket of channel `phone`, for the holder whose
    verified number it is (else answered by SMS), with you as the author."""
    ticket = phone.log_call(
        uow.session, auth.vault, auth.user, phone=body.phone, subject=body.subject.strip(),
        body=body.body, category=body.category, priority=body.priority,
        language=body.language, now=auth.now,
    )  # fmt: skip
    out = views.staff_ticket(uow.session, auth.vault, ticket, staff=auth.user, now=auth.now)
    uow.commit()
    return out


# -- social import ------------------------------------------------------------------------

_import_bearer = HTTPBearer(
    auto_error=False, scheme_name="ImportCredentials",
    description=f"An operator API key with the `{IMPORT_SCOPE}` scope (`anx_...`), or the "
    f"session token of a staff member with `{IMPORT_PERMISSION}`.",
)  # fmt: skip


@dataclass(frozen=True)
class Importer:
    kind: str  # api_key | staff
    id: uuid.UUID


def importer(
    request: Request, container: ContainerDep, uow: WriteUoW,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_import_bearer)],
) -> Importer:  # fmt: skip
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(
            f"send an API key with the {IMPORT_SCOPE!r} scope or a staff session token"
        )
    if credentials.credentials.startswith("anx_"):
        principal = authenticate_key(uow.session, credentials.credentials)
        uow.session.rollback()  # a read; nothing stays open
        principal.require(IMPORT_SCOPE)
        return Importer("api_key", principal.key_id)
    auth = require_staff(uow, get_auth(request, container, uow, credentials, None))
    uow.session.rollback()
    if not has_permission(auth.user.role, IMPORT_PERMISSION):
        raise MissingPermission(
            f"the {auth.user.role} role lacks {IMPORT_PERMISSION!r}", permission=IMPORT_PERMISSION
        )
    return Importer("staff", auth.user.id)


@public_router.post("/import/social", response_model=SocialImportOut)
def import_social(
    body: SocialImportIn, who: Annotated[Importer, Depends(importer)], uow: WriteUoW,
    container: ContainerDep,
) -> SocialImportOut:  # fmt: skip
    """Import social-media posts (up to 500) as tickets of channel `social`. A post already
    imported (same platform and id) is a duplicate and changes nothing, so a webhook may
    retry freely."""
    posts = [social_import.Post(**post.model_dump()) for post in body.posts]
    report = social_import.import_posts(uow.session, container.keys.vault(), posts,
                                        now=container.clock.now())  # fmt: skip
    uow.commit()
    return SocialImportOut(
        created=report.created, duplicate=report.duplicate,
        tickets=[SocialImportedOut(external_ref=ref, reference=reference, created=created)
                 for ref, reference, created in report.references],
    )  # fmt: skip
