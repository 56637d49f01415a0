"""Remediation in the agent console: an incident's plans, a new plan's preview and
preparation (``remediation:prepare``), four-eyes approval, execution and retries
(``remediation:approve``), and the progress while a plan is paid. One router, made of the
use cases' modules."""

from __future__ import annotations

from fastapi import APIRouter

from anxin.web import console_remediation_new, console_remediation_plan

router = APIRouter(include_in_schema=False)
router.include_router(console_remediation_new.router)
router.include_router(console_remediation_plan.router)
