"""Staff roles and what each may do. Every staff endpoint names one permission; the
authorization matrix test checks each role gets exactly these."""

from __future__ import annotations

from anxin.models.identity import STAFF_ROLES

PERMISSIONS: dict[str, str] = {
    "staff:self": "see one's own staff profile",
    "holders:read": "list and look up wallet holders (masked personal data only)",
    "holders:suspend": "suspend and reinstate a holder's account",
    "staff:read": "list staff members",
}

_EVERYONE = frozenset({"staff:self", "holders:read"})

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "agent": _EVERYONE,
    # Senior agents will differ once purpose-bound reveals of personal data exist.
    "senior_agent": _EVERYONE,
    "risk_officer": _EVERYONE | {"holders:suspend"},
    "compliance_officer": _EVERYONE | {"holders:suspend"},
    "admin": _EVERYONE | {"holders:suspend", "staff:read"},
}

assert set(ROLE_PERMISSIONS) == set(STAFF_ROLES)
assert all(p in PERMISSIONS for perms in ROLE_PERMISSIONS.values() for p in perms)


def permissions_of(role: str | None) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role or "", frozenset())


def has_permission(role: str | None, permission: str) -> bool:
    return permission in permissions_of(role)
