"""The agent console's incident pages (permission ``incidents:manage``): the dashboard of
detected bursts and incidents, and one incident with its timeline, affected holders,
public updates and notices. One router made of the use-case modules."""

from __future__ import annotations

from fastapi import APIRouter

from anxin.web import (
    console_incident_affected,
    console_incident_announce,
    console_incident_detail,
    console_incident_list,
)

router = APIRouter(include_in_schema=False)
# The dashboard's fixed paths (/console/incidents/live) before /console/incidents/{id}.
for part in (
    console_incident_list.router, console_incident_detail.router,
    console_incident_affected.router, console_incident_announce.router,
):  # fmt: skip
    router.include_router(part)
