"""RFC 9457 problem details: the one place errors become HTTP responses.

Every error a client can cause is an ``AnxinError`` (or a request validation error) and is
rendered here with a stable ``code``. Anything else is a bug: it is logged with its
traceback and answered with a plain 500 problem that leaks nothing.
"""

from __future__ import annotations

import email.message
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from anxin.kit.errors import AnxinError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://anxin.dev/problems/{code.replace('_', '-')}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    all_headers = dict(headers or {})
    if status == 401:
        all_headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=all_headers)


def _is_json(content_type: str) -> bool:
    """The same test FastAPI applies before it parses a body as JSON."""
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(AnxinError)
    async def _domain(_request: Request, error: AnxinError) -> JSONResponse:
        return problem(error.status, error.code, error.title, error.detail, **error.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        raw = error.errors()
        for e in raw:
            if e.get("type") == "json_invalid":
                reason = e.get("ctx", {}).get("error", "JSON decode error")
                position = list(e.get("loc", ()))[-1]
                return problem(
                    400, "invalid_json", "The body is not valid JSON",
                    f"{reason} at character {position}",
                )  # fmt: skip
        content_type = request.headers.get("content-type", "")
        if not _is_json(content_type) and any(
            tuple(e.get("loc", ())) == ("body",) and e.get("type") != "missing" for e in raw
        ):
            # FastAPI only parses JSON bodies; anything else arrives as raw bytes and would
            # be reported as a confusing "not a dictionary".
            return problem(
                415, "unsupported_media_type", "Send the body as application/json",
                f"content type {content_type or '(none)'!r} is not JSON",
            )  # fmt: skip
        errors = [
            {"field": _location(e.get("loc", ())), "message": e.get("msg", "invalid")}
            for e in error.errors()
        ]
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        return problem(
            422,
            "validation_failed",
            "The request is not valid",
            f"{first['field']}: {first['message']}",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400:
            # FastAPI's answer to a body it could not decode at all (nesting too deep,
            # numbers too long): the same thing as malformed JSON to the client.
            return problem(400, "invalid_json", "The body is not valid JSON", str(error.detail))
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        code = codes.get(error.status_code, "http_error")
        return problem(error.status_code, code, str(error.detail), None, headers=error.headers)

    @app.exception_handler(Exception)
    async def _bug(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=error)
        return problem(500, "internal_error", "Internal error", "The error was logged.")
