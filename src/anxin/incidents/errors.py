"""Typed errors of incidents (problem+json in the API, one line in the CLI)."""

from __future__ import annotations

from anxin.kit.errors import Conflict, NotFound, Unprocessable


class IncidentNotFound(NotFound):
    code = "incident_not_found"
    title = "No such incident"


class InvalidIncident(Unprocessable):
    code = "invalid_incident"
    title = "The incident request is not valid"


class InvalidIncidentTransition(Conflict):
    code = "invalid_incident_transition"
    title = "The incident cannot move to that status from its current one"


class InvalidAffectedQuery(Unprocessable):
    code = "invalid_affected_query"
    title = "The affected-holders query is not valid"


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"
    title = "No such subscription (the link may be old or already used)"
