"""Holder-facing identity API: ``/v1/auth/...`` (sign-up, sign-in, reset) and ``/v1/me``.

Throttles are read before the unit of work writes and updated after it ended (``guarded``).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from anxin.api.deps import ContainerDep, ReadUoW, WriteUoW
from anxin.identity import contacts as book
from anxin.identity import notifications, service, sessions
from anxin.identity.deps import (
    AnyAuth,
    IdentityDep,
    SignedIn,
    StepUpToken,
    check_login_origin,
    client_of,
    guarded,
)
from anxin.identity.passwords import WeakPassword, check_new_password, context_words, estimate
from anxin.identity.schemas import (
    ContactChangeIn,
    ContactChangeOut,
    ContactOut,
    ContactVerifyIn,
    MeOut,
    MePatch,
    NotificationList,
    NotificationOut,
    PasswordChangeIn,
    PasswordStrengthIn,
    PasswordStrengthOut,
    ResetConfirmIn,
    ResetRequestIn,
    ResetRequestOut,
    SecondFactorIn,
    SessionList,
    SessionOut,
    SignInIn,
    SignInOut,
    SignUpIn,
    SignUpOut,
    VerifyContactIn,
)
from anxin.identity.sessions import DEVICE_COOKIE, DEVICE_COOKIE_MAX_AGE, SESSION_COOKIE
from anxin.privacy.masking import mask_name
from anxin.settings import Settings

auth_router = APIRouter(prefix="/v1/auth", tags=["auth"])
me_router = APIRouter(prefix="/v1/me", tags=["me"])


def _signed_in(
    response: Response, outcome: sessions.SignInOutcome, settings: Settings
) -> SignInOut:
    if outcome.status != "signed_in" or outcome.started is None:
        return SignInOut(
            status="second_factor_required", pending_token=outcome.pending_token,
            methods=outcome.methods, passkey=outcome.passkey,
        )  # fmt: skip
    started, secure = outcome.started, not settings.is_development
    response.set_cookie(
        SESSION_COOKIE, started.token, max_age=settings.session_lifetime_seconds, path="/",
        secure=secure, httponly=True, samesite="lax",
    )  # fmt: skip
    device_token = outcome.device.token if outcome.device else None
    if device_token:
        response.set_cookie(
            DEVICE_COOKIE, device_token, max_age=DEVICE_COOKIE_MAX_AGE, path="/",
            secure=secure, httponly=True, samesite="lax",
        )  # fmt: skip
    row = started.session
    return SignInOut(
        status="signed_in", token=started.token, token_type="Bearer",  # noqa: S106
        session_id=row.id,
        expires_at=row.expires_at, idle_timeout_seconds=row.idle_timeout_seconds,
        device_token=device_token, kind=outcome.user.kind,
    )  # fmt: skip


# -- /v1/auth -----------------------------------------------------------------------------


@auth_router.post("/signup", status_code=202, response_model=SignUpOut)
def signup(
    body: SignUpIn, request: Request, uow: WriteUoW, container: ContainerDep, rt: IdentityDep
) -> SignUpOut:
    """Create an account with a phone number or an email and a password. A code goes to
    the contact; the account is pending until `POST /v1/auth/verify-contact`."""
    check_login_origin(request, rt.settings)
    client = client_of(request)
    contact = book.parse_contact(body.kind, body.value)
    # Refuse a weak password before counting the attempt against the contact's budget.
    check_new_password(body.password, staff=False,
                       context=context_words(contact.value, body.display_name))  # fmt: skip
    vault = container.keys.vault()
    rt.throttle.consume("signup:address", client.address)
    rt.throttle.consume("code:contact", book.lookup_key(vault, contact))
    service.signup(
        uow.session, vault, rt, contact=contact, password=body.password,
        name=body.display_name, locale=body.locale, now=container.clock.now(),
    )  # fmt: skip
    uow.commit()
    return SignUpOut(
        channel=contact.kind, contact=contact.masked,
        expires_in_seconds=rt.settings.verification_code_lifetime_seconds,
    )  # fmt: skip


@auth_router.post("/verify-contact", response_model=SignInOut)
def verify_contact(
    body: VerifyContactIn, request: Request, response: Response, uow: WriteUoW,
    container: ContainerDep, rt: IdentityDep,
) -> SignInOut:  # fmt: skip
    """Activate the account with the code and the password chosen at sign-up; signs in."""
    check_login_origin(request, rt.settings)
    client = client_of(request, body.device_token)
    contact = book.parse_identifier(body.identifier)
    vault = container.keys.vault()
    key = book.lookup_key(vault, contact)
    rt.throttle.check_password_attempt(key, client.address)
    rt.throttle.check("code-check:address", client.address)
    with guarded(uow, rt, client, key):
        outcome = service.verify_contact(
            uow.session, vault, rt, contact=contact, password=body.password, code=body.code,
            client=client, now=container.clock.now(),
        )  # fmt: skip
    uow.commit()
    rt.throttle.password_succeeded(key)
    return _signed_in(response, outcome, rt.settings)


@auth_router.post("/signin", response_model=SignInOut)
def signin(
    body: SignInIn, request: Request, response: Response, uow: WriteUoW,
    container: ContainerDep, rt: IdentityDep,
) -> SignInOut:  # fmt: skip
    """Sign in with a phone number or email and the password. With a second factor the
    answer is `second_factor_required` and a `pending_token` for
    `POST /v1/auth/signin/second-factor`. Unknown identifiers and wrong passwords get the
    same answer; repeated failures are slowed down."""
    check_login_origin(request, rt.settings)
    client = client_of(request, body.device_token)
    contact = book.parse_identifier(body.identifier)
    vault = container.keys.vault()
    key = book.lookup_key(vault, contact)
    rt.throttle.check_password_attempt(key, client.address)
    with guarded(uow, rt, client, key):
        outcome = service.signin(
            uow.session, vault, rt, contact=contact, password=body.password, client=client,
            now=container.clock.now(),
        )  # fmt: skip
    uow.commit()
    rt.throttle.password_succeeded(key)
    return _signed_in(response, outcome, rt.settings)


@auth_router.post("/signin/second-factor", response_model=SignInOut)
def signin_second_factor(
    body: SecondFactorIn, request: Request, response: Response, uow: WriteUoW,
    container: ContainerDep, rt: IdentityDep,
) -> SignInOut:  # fmt: skip
    """Finish a sign-in with a TOTP code, a passkey assertion or a recovery code. Five
    failures in a row block second-factor checks for 15 minutes (warned before)."""
    check_login_origin(request, rt.settings)
    client = client_of(request, body.device_token)
    rt.throttle.check("code-check:address", client.address)
    with guarded(uow, rt, client):
        outcome = service.signin_second_factor(
            uow.session, container.keys.vault(), rt, pending_token=body.pending_token,
            method=body.method, proof=body.proof, client=client, now=container.clock.now(),
        )  # fmt: skip
    uow.commit()
    return _signed_in(response, outcome, rt.settings)


@auth_router.post("/signout", status_code=204, response_class=Response)
def signout(auth: AnyAuth, uow: WriteUoW) -> Response:
    """End this session now (the token stops working everywhere)."""
    auth.session.revoked_at = auth.now
    uow.commit()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response


@auth_router.post("/password-strength", response_model=PasswordStrengthOut)
def password_strength(
    body: PasswordStrengthIn, request: Request, rt: IdentityDep
) -> PasswordStrengthOut:
    """The strength meter: a score 0-4 with advice, and whether the password would be
    accepted. Nothing is stored."""
    rt.throttle.consume("strength:address", client_of(request).address)
    words = context_words(*body.context)
    meter = estimate(body.password, words)
    try:
        check_new_password(body.password, staff=body.staff, context=words)
    except WeakPassword as weak:
        return PasswordStrengthOut(**meter.as_dict(), acceptable=False, problem=weak.detail)
    return PasswordStrengthOut(**meter.as_dict(), acceptable=True)


@auth_router.post("/password-reset", status_code=202, response_model=ResetRequestOut)
def password_reset(
    body: ResetRequestIn, request: Request, uow: WriteUoW, container: ContainerDep,
    rt: IdentityDep,
) -> ResetRequestOut:  # fmt: skip
    """Send a reset code to a verified phone or email, if an account has it. The answer
    is the same either way."""
    check_login_origin(request, rt.settings)
    client = client_of(request)
    contact = book.parse_identifier(body.identifier)
    vault = container.keys.vault()
    rt.throttle.consume("code:address", client.address)
    rt.throttle.consume("code:contact", book.lookup_key(vault, contact))
    service.request_reset(uow.session, vault, rt, contact=contact, now=container.clock.now())
    uow.commit()
    return ResetRequestOut()


@auth_router.post("/password-reset/confirm", status_code=204, response_class=Response)
def password_reset_confirm(
    body: ResetConfirmIn, request: Request, uow: WriteUoW, container: ContainerDep,
    rt: IdentityDep,
) -> Response:  # fmt: skip
    """Set a new password with the code, plus the second factor if the account has one
    (`second_factor_proof_required` says which). Every session of the account ends."""
    check_login_origin(request, rt.settings)
    client = client_of(request)
    contact = book.parse_identifier(body.identifier)
    vault = container.keys.vault()
    key = book.lookup_key(vault, contact)
    rt.throttle.check("code-check:address", client.address)
    factor = body.second_factor.model_dump() if body.second_factor else None
    with guarded(uow, rt, client, key):
        service.confirm_reset(
            uow.session, vault, rt, contact=contact, code=body.code,
            new_password=body.new_password, second_factor=factor, now=container.clock.now(),
        )  # fmt: skip
    uow.commit()
    rt.throttle.password_succeeded(key)
    return Response(status_code=204)


# -- /v1/me -------------------------------------------------------------------------------


def contacts_out(session: Session, user_id: uuid.UUID) -> list[ContactOut]:
    return [
        ContactOut(kind=c.kind, masked=c.masked, verified=c.verified_at is not None)
        for c in book.contacts_of(session, user_id)
    ]


@me_router.get("", response_model=MeOut)
def me(auth: SignedIn, uow: WriteUoW) -> MeOut:
    """Your profile; phone, email and name are masked."""
    from anxin.identity.factors import enrolled_methods

    user, session = auth.user, uow.session
    name = book.display_name(session, auth.vault, user)
    return MeOut(
        id=user.id, kind=user.kind, status=user.status, tier=user.tier,
        locale=user.locale, display_name=mask_name(name) if name else None,
        contacts=contacts_out(session, user.id), second_factors=enrolled_methods(session, user.id),
        created_at=user.created_at,
    )  # fmt: skip


@me_router.patch("", response_model=MeOut)
def update_me(body: MePatch, auth: SignedIn, uow: WriteUoW) -> MeOut:
    """Change your language or display name."""
    user = auth.user
    if body.locale is not None:
        user.locale = body.locale
    if body.display_name is not None:
        user.display_name_enc = book.seal_name(uow.session, auth.vault, user.id, body.display_name)
    user.updated_at = auth.now
    uow.session.flush()
    result = me(auth, uow)
    uow.commit()
    return result


@me_router.post("/password", status_code=204, response_class=Response)
def change_password(
    body: PasswordChangeIn, request: Request, auth: SignedIn, uow: WriteUoW, rt: IdentityDep,
    step_up_token: StepUpToken = None,
) -> Response:  # fmt: skip
    """Change the password: the current one, and a second factor (`step_up_required`
    then `X-Step-Up-Token`) when one is enrolled. Other sessions end."""
    client = client_of(request)
    key = f"user:{auth.user.id}"
    rt.throttle.check_password_attempt(key, client.address)
    with guarded(uow, rt, client, key):
        service.change_password(
            uow.session, auth.vault, rt, auth.user, auth.session.id,
            current=body.current_password, new=body.new_password,
            step_up_token=step_up_token, now=auth.now,
        )  # fmt: skip
    uow.commit()
    rt.throttle.password_succeeded(key)
    return Response(status_code=204)


@me_router.post("/contacts", status_code=202, response_model=ContactChangeOut)
def change_contact(
    body: ContactChangeIn, request: Request, auth: SignedIn, uow: WriteUoW, rt: IdentityDep,
    step_up_token: StepUpToken = None,
) -> ContactChangeOut:  # fmt: skip
    """Replace your phone number or email: needs step-up for exactly the new value, then
    the code sent to it (`POST /v1/me/contacts/verify`)."""
    client = client_of(request)
    contact = book.parse_contact(body.kind, body.value)
    rt.throttle.consume("code:contact", book.lookup_key(auth.vault, contact))
    with guarded(uow, rt, client):
        book.start_change(
            uow.session, auth.vault, auth.user, auth.session.id, contact=contact,
            step_up_token=step_up_token, now=auth.now,
            lifetime_seconds=rt.settings.verification_code_lifetime_seconds,
        )  # fmt: skip
    uow.commit()
    return ContactChangeOut(contact=contact.masked)


@me_router.post("/contacts/verify", response_model=ContactOut)
def verify_new_contact(
    body: ContactVerifyIn, request: Request, auth: SignedIn, uow: WriteUoW, rt: IdentityDep
) -> ContactOut:
    """Confirm the new phone number or email with its code; the old one is removed."""
    client = client_of(request)
    rt.throttle.check("code-check:address", client.address)
    with guarded(uow, rt, client):
        row = book.finish_change(uow.session, auth.vault, auth.user, code=body.code, now=auth.now)
    result = ContactOut(kind=row.kind, masked=row.masked, verified=True)
    uow.commit()
    return result


@me_router.get("/sessions", response_model=SessionList)
def list_sessions(auth: SignedIn, uow: ReadUoW) -> SessionList:
    """Your signed-in sessions, newest first."""
    rows = sessions.list_live(uow.session, auth.user.id, auth.now)
    return SessionList(
        data=[
            SessionOut(
                id=r.id,
                current=r.id == auth.session.id,
                created_at=r.created_at,
                last_seen_at=r.last_seen_at,
                idle_expires_at=sessions.idle_deadline(r),
                expires_at=r.expires_at,
                user_agent=r.user_agent,
                device_id=r.device_id,
                auth_methods=list(r.auth_methods),
            )
            for r in rows
        ]
    )


@me_router.delete("/sessions/{session_id}", status_code=204, response_class=Response)
def revoke_session(session_id: uuid.UUID, auth: SignedIn, uow: WriteUoW) -> Response:
    """Sign out one of your sessions (another device, or this one)."""
    sessions.revoke(uow.session, auth.user.id, session_id, auth.now)
    uow.commit()
    return Response(status_code=204)


@me_router.get("/notifications", response_model=NotificationList)
def list_notifications(
    auth: SignedIn, uow: ReadUoW, limit: Annotated[int, Query(ge=1, le=200)] = 50,
    unread_only: bool = False,
) -> NotificationList:  # fmt: skip
    """Your inbox: security notices such as a sign-in from a new device."""
    rows, unread = notifications.inbox(
        uow.session, auth.user.id, limit=limit, unread_only=unread_only
    )
    return NotificationList(
        data=[NotificationOut.model_validate(r, from_attributes=True) for r in rows], unread=unread
    )


@me_router.post("/notifications/{notification_id}/read", response_model=NotificationOut)
def read_notification(notification_id: uuid.UUID, auth: SignedIn, uow: WriteUoW) -> NotificationOut:
    """Mark a notification as read."""
    row = notifications.mark_read(uow.session, auth.user.id, notification_id, auth.now)
    result = NotificationOut.model_validate(row, from_attributes=True)
    uow.commit()
    return result
