"""Staff roles and what each may do. Every staff endpoint names one permission; the
authorization matrix test checks each role gets exactly these."""

from __future__ import annotations

from anxin.models.identity import STAFF_ROLES

PERMISSIONS: dict[str, str] = {
    "staff:self": "see one's own staff profile",
    "holders:read": "list and look up wallet holders (masked personal data only)",
    "holders:suspend": "suspend and reinstate a holder's account",
    "staff:read": "list staff members",
    "wallet:freeze": "freeze and unfreeze a holder's wallet, read appeals",
    "fees:waive": "read the fee schedule and charges; waive fees for one holder",
    "fees:manage": "change the fee schedule; fee campaigns and time windows",
    "points:manage": "read and change the reward points rules",
    "reconciliation:manage": "run reconciliation, resolve its exceptions",
}

_EVERYONE = frozenset({"staff:self", "holders:read"})

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "agent": _EVERYONE,
    # Senior agents will differ once purpose-bound reveals of personal data exist.
    "senior_agent": _EVERYONE | {"fees:waive"},
    "risk_officer": _EVERYONE | {"holders:suspend", "wallet:freeze", "reconciliation:manage"},
    "compliance_officer": _EVERYONE
    | {"holders:suspend", "wallet:freeze", "reconciliation:manage", "fees:waive"},
    "admin": _EVERYONE
    | {"holders:suspend", "staff:read", "fees:waive", "fees:manage", "points:manage"},
}

# Purpose-bound access to personal data, cases, compliance and the audit trail
# (docs/privacy.md). Which fields each role may reveal is in anxin.privacy.reveal.
PERMISSIONS.update({
    "holders:reveal": "reveal a holder's personal fields for an assigned case or break-glass",
    "cases:read": "see the cases assigned to oneself",
    "cases:manage": "open, assign and close risk cases; see every case",
    "compliance:review": "see and acknowledge compliance alerts; review break-glass access",
    "audit:read": "read the audit log and its signed checkpoints",
})  # fmt: skip
_INSIDER: dict[str, frozenset[str]] = {
    "agent": frozenset({"holders:reveal", "cases:read"}),
    "senior_agent": frozenset({"holders:reveal", "cases:read"}),
    "risk_officer": frozenset({"holders:reveal", "cases:read", "cases:manage"}),
    "compliance_officer": frozenset(
        {"holders:reveal", "cases:read", "cases:manage", "compliance:review", "audit:read"}
    ),
}
ROLE_PERMISSIONS = {r: p | _INSIDER.get(r, frozenset()) for r, p in ROLE_PERMISSIONS.items()}

# Staff exports (four-eyes), breach response (docs/privacy-rights.md).
PERMISSIONS.update({
    "exports:request": "ask for an export of holders' data (a second staff member approves)",
    "exports:approve": "approve or reject others' exports; trace a leaked file to its export",
    "breaches:manage": "record breaches, prepare and send notices, publish the statement",
    "breaches:approve": "approve breach notices someone else prepared",
})  # fmt: skip
_RIGHTS: dict[str, frozenset[str]] = {
    "risk_officer": frozenset({"exports:request"}),
    "compliance_officer": frozenset(
        {"exports:request", "exports:approve", "breaches:manage", "breaches:approve"}
    ),
}
ROLE_PERMISSIONS = {r: p | _RIGHTS.get(r, frozenset()) for r, p in ROLE_PERMISSIONS.items()}

# The care desk (docs/care.md).
PERMISSIONS.update({
    "care:work": "work tickets: queues, replies, internal notes, phone notes, category, macros",
    "care:lead": "assign others, merge tickets, manage macros, SLA policies and calendars",
    "care:disputes": "decide disputes: uphold (the provisional credit stays) or reject",
    "care:reports": "complaint reports by category, channel, language and agent; yearly report",
})  # fmt: skip
_CARE: dict[str, frozenset[str]] = {
    "agent": frozenset({"care:work"}),
    "senior_agent": frozenset({"care:work", "care:lead", "care:disputes", "care:reports"}),
    "risk_officer": frozenset({"care:work", "care:disputes"}),
    "compliance_officer": frozenset({"care:reports"}),
    "admin": frozenset({"care:lead", "care:reports"}),
}
ROLE_PERMISSIONS = {r: p | _CARE.get(r, frozenset()) for r, p in ROLE_PERMISSIONS.items()}

# Incidents and their remediation (docs/incidents.md).
PERMISSIONS.update({
    "incidents:manage": "open and update incidents, timeline, affected holders, updates, notify",
    "remediation:prepare": "prepare an incident's remediation plan (someone else approves it)",
    "remediation:approve": "approve or reject remediation plans others prepared",
})  # fmt: skip
_INCIDENTS: dict[str, frozenset[str]] = {
    "senior_agent": frozenset({"incidents:manage", "remediation:prepare"}),
    "risk_officer": frozenset({"incidents:manage", "remediation:prepare", "remediation:approve"}),
    "compliance_officer": frozenset(
        {"incidents:manage", "remediation:prepare", "remediation:approve"}
    ),
    "admin": frozenset({"incidents:manage", "remediation:approve"}),
}
ROLE_PERMISSIONS = {r: p | _INCIDENTS.get(r, frozenset()) for r, p in ROLE_PERMISSIONS.items()}

assert set(ROLE_PERMISSIONS) == set(STAFF_ROLES)
assert all(p in PERMISSIONS for perms in ROLE_PERMISSIONS.values() for p in perms)


def permissions_of(role: str | None) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role or "", frozenset())


def has_permission(role: str | None, permission: str) -> bool:
    return permission in permissions_of(role)
