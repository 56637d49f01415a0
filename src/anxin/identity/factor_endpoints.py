"""Second factors, step-up, identity verification and limits: holder API under /v1.

Enrolling a factor is open to any signed-in user (staff must enrol before anything else).
Adding a factor when one exists, generating recovery codes and removing a factor need
step-up: the first call answers ``step_up_required`` with a challenge, the client answers it
at ``POST /v1/auth/step-up/{challenge_id}`` and repeats the call with the token in the
``X-Step-Up-Token`` header.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Request, Response, status

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity import factors, kyc, limits, passkeys, recovery, sessions, stepup, totp
from anxin.identity.contacts import contacts_of
from anxin.identity.deps import (
    AnyAuth,
    CsrfCheckFailed,
    HolderAuth,
    IdentityDep,
    StaffEnrolmentAuth,
    StepUpToken,
    client_of,
    same_origin,
)
from anxin.identity.endpoints import _signed_in as signed_in_response
from anxin.identity.factor_schemas import (
    DailyLimitOut,
    FactorsOut,
    KycOut,
    KycSubmit,
    LimitsOut,
    LimitsUpdate,
    PasskeyList,
    PasskeyOptionsOut,
    PasskeyOut,
    PasskeyRegister,
    PasskeySignIn,
    RecoveryCodesOut,
    StepUpProof,
    StepUpTokenOut,
    TierLimitOut,
    TotpConfirm,
    TotpOut,
    TotpStarted,
)
from anxin.identity.kyc import FakeKycProvider, KycProvider
from anxin.identity.passkeys import RelyingParty
from anxin.identity.schemas import SignInOut
from anxin.identity.stepup import SecondFactorRequired, StepUpRequired
from anxin.identity.throttle import InvalidSecondFactor, SecondFactorBlocked
from anxin.kit.errors import ServiceUnavailable, Unauthorized
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Passkey, User
from anxin.settings import Environment

router = APIRouter(prefix="/v1", tags=["factors"])
STEP_UP: dict[int | str, dict[str, Any]] = {
    401: {"description": "`step_up_required`: answer the challenge, then repeat the call."}
}


@contextmanager
def _step_up_kept(uow: UnitOfWork) -> Any:
    """Keep the challenge of a ``StepUpRequired`` (the rest of the request rolls back)."""
    try:
        yield
    except StepUpRequired as required:
        uow.session.rollback()
        stepup.persist_challenge(uow.session, required)
        uow.commit()
        raise


def _passkey_out(p: Passkey) -> PasskeyOut:
    return PasskeyOut(
        id=p.id, name=p.name, created_at=p.created_at, last_used_at=p.last_used_at,
        backed_up=p.backed_up,
    )  # fmt: skip


def _factors_out(uow: UnitOfWork, user: User) -> FactorsOut:
    found = factors.summary(uow.session, user.id)
    totp_out = (
        TotpOut(id=found.totp.id, enrolled_at=found.totp.confirmed_at) if found.totp else None
    )
    return FactorsOut(
        methods=factors.enrolled_methods(uow.session, user.id),
        totp=totp_out, passkeys=[_passkey_out(p) for p in found.passkeys],
        recovery_codes_left=found.recovery_codes_left,
    )  # fmt: skip


def _label(uow: UnitOfWork, user: User) -> str:
    """How the user's authenticator names the account: a masked contact, never the value."""
    known = contacts_of(uow.session, user.id, verified=True)
    return known[0].masked if known else (user.pseudonym or "wallet")


def _adding_factor(uow: UnitOfWork, auth: Any, method: str, token: str | None) -> None:
    factors.require_step_up_to_add(uow.session, auth.user, auth.session.id, method=method,
                                   step_up_token=token, now=auth.now)  # fmt: skip


# -- factors --------------------------------------------------------------------------------


@router.get("/me/factors", response_model=FactorsOut)
def list_factors(auth: StaffEnrolmentAuth, uow: WriteUoW) -> FactorsOut:
    return _factors_out(uow, auth.user)


@router.post("/me/factors/totp", status_code=201, response_model=TotpStarted, responses=STEP_UP)
def start_totp(auth: StaffEnrolmentAuth, uow: WriteUoW, token: StepUpToken = None) -> TotpStarted:
    with _step_up_kept(uow):
        if totp.active_factor(uow.session, auth.user.id) is not None:
            raise totp.TotpAlreadyEnrolled("remove the enrolled authenticator app first")
        _adding_factor(uow, auth, factors.TOTP, token)
        started = totp.start_enrolment(
            uow.session, auth.vault, auth.user.id, label=_label(uow, auth.user), now=auth.now
        )
    uow.commit()
    return TotpStarted(factor_id=started.factor_id, secret=started.secret, otpauth_uri=started.uri)


@router.post("/me/factors/totp/confirm", response_model=FactorsOut)
def confirm_totp(body: TotpConfirm, auth: StaffEnrolmentAuth, uow: WriteUoW) -> FactorsOut:
    totp.confirm_enrolment(uow.session, auth.vault, auth.user.id, code=body.code, now=auth.now)
    uow.commit()
    return _factors_out(uow, auth.user)


@router.delete("/me/factors/totp", status_code=204, responses=STEP_UP)
def delete_totp(auth: StaffEnrolmentAuth, uow: WriteUoW, token: StepUpToken = None) -> Response:
    with _step_up_kept(uow):
        factors.disable_totp(uow.session, auth.user, auth.session.id, step_up_token=token,
                             now=auth.now)  # fmt: skip
    uow.commit()
    return Response(status_code=204)


@router.post(
    "/me/factors/recovery-codes", status_code=201, response_model=RecoveryCodesOut,
    responses=STEP_UP,
)  # fmt: skip
def generate_recovery_codes(
    auth: StaffEnrolmentAuth, uow: WriteUoW, token: StepUpToken = None
) -> RecoveryCodesOut:
    if not factors.has_second_factor(uow.session, auth.user.id):
        raise SecondFactorRequired("recovery codes back up a factor: enrol one first")
    with _step_up_kept(uow):
        stepup.require_step_up(
            uow.session, auth.user, auth.session.id, action={"type": "generate_recovery_codes"},
            step_up_token=token, now=auth.now,
        )  # fmt: skip
        codes = recovery.generate(uow.session, auth.vault, auth.user.id, auth.now)
    uow.commit()
    return RecoveryCodesOut(codes=codes)


# -- passkeys -------------------------------------------------------------------------------


def _rp(container: ContainerDep) -> RelyingParty:
    return RelyingParty.from_settings(container.settings)


@router.post("/me/factors/passkeys/options", response_model=PasskeyOptionsOut, responses=STEP_UP)
def passkey_registration_options(
    auth: StaffEnrolmentAuth, uow: WriteUoW, container: ContainerDep, token: StepUpToken = None
) -> PasskeyOptionsOut:
    with _step_up_kept(uow):
        _adding_factor(uow, auth, factors.PASSKEY, token)
        challenge_id, options = passkeys.registration_options(
            uow.session, auth.user.id, auth_session_id=auth.session.id,
            user_name=_label(uow, auth.user), rp=_rp(container), now=auth.now,
        )  # fmt: skip
    uow.commit()
    return PasskeyOptionsOut(challenge_id=challenge_id, options=options)


@router.post("/me/factors/passkeys", status_code=201, response_model=PasskeyOut)
def register_passkey(body: PasskeyRegister, auth: StaffEnrolmentAuth, uow: WriteUoW) -> PasskeyOut:
    try:
        passkey = passkeys.register(
            uow.session, auth.user.id, challenge_id=body.challenge_id, credential=body.credential,
            name=body.name, now=auth.now,
        )  # fmt: skip
    except passkeys.PasskeyRejected:
        uow.commit()  # the challenge stays consumed
        raise
    uow.commit()
    return _passkey_out(passkey)


@router.get("/me/factors/passkeys", response_model=PasskeyList)
def list_passkeys(auth: StaffEnrolmentAuth, uow: WriteUoW) -> PasskeyList:
    return PasskeyList(
        items=[_passkey_out(p) for p in passkeys.active_passkeys(uow.session, auth.user.id)]
    )


@router.delete("/me/factors/passkeys/{passkey_id}", status_code=204, responses=STEP_UP)
def delete_passkey(
    passkey_id: uuid.UUID, auth: StaffEnrolmentAuth, uow: WriteUoW, token: StepUpToken = None
) -> Response:
    with _step_up_kept(uow):
        factors.disable_passkey(
            uow.session, auth.user, auth.session.id, passkey_id, step_up_token=token, now=auth.now
        )
    uow.commit()
    return Response(status_code=204)


@router.post("/me/factors/passkeys/assertion-options", response_model=PasskeyOptionsOut)
def passkey_assertion_options(
    auth: StaffEnrolmentAuth, uow: WriteUoW, container: ContainerDep
) -> PasskeyOptionsOut:
    """Options to sign a step-up proof with one of the user's passkeys."""
    challenge_id, options = factors.start_passkey_assertion(
        uow.session, auth.user.id, auth.now, rp=_rp(container), auth_session_id=auth.session.id
    )
    uow.commit()
    return PasskeyOptionsOut(challenge_id=challenge_id, options=options)


# -- passwordless sign-in ------------------------------------------------------------------


class PasskeyNotAccepted(Unauthorized):
    code = "passkey_not_accepted"
    title = "This passkey was not accepted"


@router.post("/auth/passkey/options", response_model=PasskeyOptionsOut, tags=["auth"])
def passkey_signin_options(
    request: Request, uow: WriteUoW, container: ContainerDep
) -> PasskeyOptionsOut:
    """Options for signing in with a passkey alone (the browser offers the ones it has)."""
    if "origin" in request.headers and not same_origin(request, container.settings):
        raise CsrfCheckFailed("this form was posted from another site")
    challenge_id, options = factors.start_passkey_assertion(
        uow.session, None, container.clock.now(), rp=_rp(container)
    )
    uow.commit()
    return PasskeyOptionsOut(challenge_id=challenge_id, options=options)


@router.post("/auth/passkey/verify", response_model=SignInOut, tags=["auth"])
def passkey_signin(
    body: PasskeySignIn, request: Request, response: Response, uow: WriteUoW,
    container: ContainerDep, rt: IdentityDep,
) -> SignInOut:  # fmt: skip
    """Sign in with a passkey: possession of the device plus its PIN or biometrics (user
    verification is required), so two factors in one step."""
    if "origin" in request.headers and not same_origin(request, container.settings):
        raise CsrfCheckFailed("this form was posted from another site")
    client = client_of(request, body.device_token)
    rt.throttle.check("code-check:address", client.address)
    now = container.clock.now()
    found = passkeys.verify_assertion(
        uow.session, challenge_id=body.challenge_id, credential=body.credential, user_id=None,
        now=now,
    )  # fmt: skip
    user = uow.session.get(User, found.user_id) if found is not None else None
    if user is None or user.status != "active":
        uow.commit()  # the challenge stays consumed
        rt.throttle.hit("code-check:address", client.address)
        raise PasskeyNotAccepted("use another passkey or sign in with your password")
    outcome = sessions.open_session(
        uow.session, container.keys.vault(), container.settings, user,
        methods=["passkey", "user_verification"], client=client, now=now,
    )  # fmt: skip
    uow.commit()
    return signed_in_response(response, outcome, container.settings)


# -- step-up --------------------------------------------------------------------------------


@router.post("/auth/step-up/{challenge_id}", response_model=StepUpTokenOut)
def answer_step_up(
    challenge_id: uuid.UUID, body: StepUpProof, auth: AnyAuth, uow: WriteUoW,
    container: ContainerDep,
) -> StepUpTokenOut:  # fmt: skip
    try:
        grant = stepup.satisfy(
            uow.session, auth.vault, auth.user, auth.session.id, challenge_id,
            method=body.method, proof=body.proof, now=auth.now,
            policy=stepup.StepUpPolicy.from_settings(container.settings),
        )  # fmt: skip
    except (InvalidSecondFactor, SecondFactorBlocked):
        uow.commit()  # keep the failure count and any consumed passkey challenge
        raise
    uow.commit()
    return StepUpTokenOut(step_up_token=grant.token, expires_at=grant.expires_at,
                          action=grant.action)  # fmt: skip


# -- identity verification ------------------------------------------------------------------


def kyc_provider(request: Request, container: ContainerDep) -> KycProvider:
    provider: KycProvider | None = getattr(request.app.state, "kyc_provider", None)
    if provider is None:
        if container.settings.kyc_provider != "fake":
            raise ServiceUnavailable(f"unknown KYC provider {container.settings.kyc_provider!r}")
        if container.settings.env is Environment.PRODUCTION:
            # A provider that approves everyone must never verify real customers.
            raise ServiceUnavailable("no identity verification provider is configured")
        provider = FakeKycProvider()
        request.app.state.kyc_provider = provider
    return provider


def _kyc_out(user: User, check: Any) -> KycOut:
    if check is None:
        return KycOut(tier=user.tier, status="none")
    return KycOut(
        tier=user.tier, check_id=check.id, applied_for=check.tier, status=check.status,
        reason=check.reason, submitted_at=check.created_at, decided_at=check.decided_at,
    )  # fmt: skip


@router.get("/me/kyc", response_model=KycOut)
def kyc_status(
    auth: HolderAuth, uow: WriteUoW, request: Request, container: ContainerDep
) -> KycOut:
    check = kyc.refresh(uow.session, kyc_provider(request, container), auth.user.id, auth.now)
    uow.commit()
    return _kyc_out(auth.user, check)


@router.post("/me/kyc", status_code=status.HTTP_202_ACCEPTED, response_model=KycOut)
def kyc_submit(
    body: KycSubmit, auth: HolderAuth, uow: WriteUoW, request: Request, container: ContainerDep
) -> KycOut:
    check = kyc.submit(
        uow.session, auth.vault, auth.user, kyc_provider(request, container), tier=body.tier,
        submission=body.submission(), now=auth.now,
    )  # fmt: skip
    uow.commit()
    return _kyc_out(auth.user, check)


# -- limits ---------------------------------------------------------------------------------


def _limits_out(user: User, policy: limits.LimitPolicy) -> LimitsOut:
    per_currency = policy.tiers.get(user.tier, {})
    found = limits.daily_limit(user, policy)
    return LimitsOut(
        tier=user.tier,
        limits={c: TierLimitOut(**values) for c, values in sorted(per_currency.items())},
        daily_limit=DailyLimitOut(
            currency=found.currency, tier_limit=found.tier_limit, chosen=found.chosen,
            effective=found.effective,
        ),
    )  # fmt: skip


@router.get("/me/limits", response_model=LimitsOut)
def get_limits(auth: HolderAuth, container: ContainerDep) -> LimitsOut:
    return _limits_out(auth.user, limits.LimitPolicy.from_settings(container.settings))


@router.put("/me/limits", response_model=LimitsOut, responses=STEP_UP)
def put_limits(
    body: LimitsUpdate, auth: HolderAuth, uow: WriteUoW, container: ContainerDep,
    token: StepUpToken = None,
) -> LimitsOut:  # fmt: skip
    policy = limits.LimitPolicy.from_settings(container.settings)
    with _step_up_kept(uow):
        limits.set_daily_limit(
            uow.session, auth.user, auth.session.id, limit=body.daily_limit,
            step_up_token=token, now=auth.now, policy=policy,
        )  # fmt: skip
    uow.commit()
    return _limits_out(auth.user, policy)
