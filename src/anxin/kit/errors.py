"""Typed domain errors.

Each error carries its HTTP status and a stable machine-readable ``code``; one handler in
``anxin.api.problems`` renders any of them as RFC 9457 problem+json, and the CLI prints
them as a one-line message. Services raise these; they never build HTTP responses.
"""

from __future__ import annotations

from typing import Any


class AnxinError(Exception):
    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        title: str | None = None,
        **extra: Any,
    ) -> None:
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if title is not None:
            self.title = title
        self.detail = detail or self.title
        # Extra members of the problem document (RFC 9457 allows extensions).
        self.extra = extra
        super().__init__(self.detail)


class NotFound(AnxinError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(AnxinError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Unprocessable(AnxinError):
    status = 422
    code = "unprocessable"
    title = "The request cannot be carried out"


class Unauthorized(AnxinError):
    status = 401
    code = "unauthorized"
    title = "Missing or invalid credentials"


class Forbidden(AnxinError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class Gone(AnxinError):
    status = 410
    code = "gone"
    title = "No longer available"


class TooManyRequests(AnxinError):
    status = 429
    code = "too_many_requests"
    title = "Too many attempts; wait before trying again"


class PayloadTooLarge(AnxinError):
    status = 413
    code = "payload_too_large"
    title = "Request body too large"


class ServiceUnavailable(AnxinError):
    status = 503
    code = "service_unavailable"
    title = "Service unavailable"
