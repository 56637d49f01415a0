"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from anxin import __version__
from anxin.api import health, openapi, problems
from anxin.api.deps import Container
from anxin.api.limits import BodySizeLimit
from anxin.audit import endpoints as audit_endpoints
from anxin.audit.worker import AuditWorker
from anxin.care import chat_endpoints as care_chat_endpoints
from anxin.care import dispute_endpoints, report_endpoints
from anxin.care import holder_endpoints as care_holder_endpoints
from anxin.care import intake_endpoints as care_intake_endpoints
from anxin.care import macro_endpoints as care_macro_endpoints
from anxin.care import sla_endpoints as care_sla_endpoints
from anxin.care import staff_endpoints as care_staff_endpoints
from anxin.care.sla_worker import start_sla_worker
from anxin.identity import endpoints as identity_endpoints
from anxin.identity import factor_endpoints, staff
from anxin.identity.outbox import OutboxWorker
from anxin.identity.service import IdentityRuntime
from anxin.incidents import endpoints as incident_endpoints
from anxin.incidents import remediation_endpoints, status_endpoints
from anxin.incidents.detection import DetectionRuntime, start_detection_worker
from anxin.kit.clock import Clock, SystemClock
from anxin.kit.db import Database
from anxin.ledger.endpoints import router as ledger_router
from anxin.ledger.engine import LedgerEngine
from anxin.privacy import (
    approval_endpoints,
    breach_endpoints,
    case_endpoints,
    compliance_endpoints,
    export_endpoints,
    reveal_endpoints,
    rights_endpoints,
)
from anxin.privacy.keys import KeyService, resolve_keyring
from anxin.settings import Settings, get_settings
from anxin.wallet import merchant_endpoints, p2p_endpoints, pay_endpoints
from anxin.wallet.merchant_worker import start_merchant_worker
from anxin.wallet.money_endpoints import api as wallet_money_api

DESCRIPTION = """\
Anxin's operator API: a double-entry ledger with holds, reversals, linked batches and
idempotent writes. Authenticate with an API key (`Authorization: Bearer anx_...`, created
with `anxin apikey create`). Money is an integer in minor units of its asset. Errors are
RFC 9457 problem documents with a stable `code`.

Wallet holders and staff use `/v1/auth/...` (sign-up, sign-in, reset) and then a session
token (`Authorization: Bearer <session token>`, or the `__Host-anxin_session` cookie in
browsers) for `/v1/me/...` and `/v1/staff/...`.
"""


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock = clock or SystemClock()
    # Refuse to build the app at all without safe keys (outside development).
    keys = KeyService(resolve_keyring(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database(settings.resolved_database_url, pool_size=settings.db_pool_size)
        engine = LedgerEngine(
            database,
            clock=clock,
            max_batch=settings.ledger_max_batch,
            expiry_interval=settings.ledger_expiry_interval_seconds,
        ).start()
        identity = IdentityRuntime.build(settings, database, clock, keys)
        outbox = None
        if settings.delivery_interval_seconds > 0:
            outbox = OutboxWorker(
                database, keys, identity.senders, clock,
                interval=settings.delivery_interval_seconds,
                housekeeping=identity.throttle.purge_expired,
            ).start()  # fmt: skip
        # Merchants' webhooks: sent by the same rhythm as the email/SMS outbox.
        webhook_worker = start_merchant_worker(settings, database, keys, clock)
        audit_worker = None
        if settings.audit_checkpoint_interval_seconds > 0:
            audit_worker = AuditWorker(
                database, keys.keyring, clock, interval=settings.audit_checkpoint_interval_seconds
            ).start()
        sla_worker = start_sla_worker(settings, database, clock, keys)  # SLA clocks, auto-close
        # Collective complaints: new tickets feed the detector; bursts open incidents.
        detection = app.state.incident_detection
        detection_worker = start_detection_worker(settings, detection, database, keys, clock)
        app.state.incident_detection_worker = detection_worker
        app.state.container = Container(
            settings=settings, database=database, engine=engine, clock=clock, keys=keys,
            identity=identity,
        )  # fmt: skip
        try:
            yield
        finally:
            if outbox is not None:
                outbox.stop()
            if webhook_worker is not None:
                webhook_worker.stop()
            if audit_worker is not None:
                audit_worker.stop()
            if sla_worker is not None:
                sla_worker.stop()
            if detection_worker is not None:
                detection_worker.stop()
            engine.stop()  # finishes what was acknowledged to the engine first
            database.dispose()

    app = FastAPI(
        title="Anxin",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses={422: {"description": "Problem document (application/problem+json)"}},
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    problems.install(app)
    openapi.install(app)
    # One statement per router would push this factory past the statement limit.
    routers = (
        health.router,
        ledger_router,
        identity_endpoints.auth_router,
        identity_endpoints.me_router,
        factor_endpoints.router,
        staff.router,
        reveal_endpoints.router,
        case_endpoints.router,
        compliance_endpoints.router,
        export_endpoints.router,
        approval_endpoints.router,
        breach_endpoints.router,
        breach_endpoints.status_router,
        rights_endpoints.router,
        audit_endpoints.router,
        merchant_endpoints.router,
        pay_endpoints.router,
        p2p_endpoints.router,
        wallet_money_api,
        care_holder_endpoints.router,
        care_staff_endpoints.router,
        care_macro_endpoints.router,
        care_sla_endpoints.router,
    )
    for router in routers:
        app.include_router(router)
    for intake in (
        care_intake_endpoints.public_router,
        care_intake_endpoints.staff_router,
        care_chat_endpoints.holder_router,
        care_chat_endpoints.staff_router,
    ):
        app.include_router(intake)
    app.include_router(dispute_endpoints.holder_router)
    app.include_router(dispute_endpoints.staff_router)
    app.include_router(report_endpoints.router)
    app.state.incident_detection = DetectionRuntime(settings.detector_settings)
    for incidents_router in (
        incident_endpoints.router,
        remediation_endpoints.router,
        status_endpoints.page_router,
        status_endpoints.api_router,
    ):
        app.include_router(incidents_router)
    from anxin.web import install as install_web_pages  # pages call the same services

    install_web_pages(app)
    return app
