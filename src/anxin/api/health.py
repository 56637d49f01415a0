"""``GET /healthz``: 200 only when the database answers and its schema is current."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from anxin import migrations
from anxin.api.deps import ContainerDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness and readiness")
def healthz(c: ContainerDep) -> JSONResponse:
    try:
        schema = migrations.schema_status(c.database.engine)
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if not schema.up_to_date:
        return JSONResponse(
            {"status": "unavailable", "database": "reachable", "schema": schema.problem()},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "reachable", "schema": schema.current})


# Load balancers often probe with HEAD; same answer, no body, not a separate API operation.
router.add_api_route("/healthz", healthz, methods=["HEAD"], include_in_schema=False)
