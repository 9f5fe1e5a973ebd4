"""Errors as the API shows them: one JSON shape, the right 4xx, never a stack trace.

Every error body is `{"error": {"type", "code", "message", "param", "request_id"}}`, the shape the
`openai` client reads, so its exceptions carry our message.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kefu.server.logs import current_request_id

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

log = logging.getLogger("kefu.server")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "request_too_large",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """An error meant for the caller: status, a stable code, and a sentence saying what to change."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param
        self.headers = headers or {}


def error_body(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {
        "error": {
            "type": _TYPES.get(status, "api_error"),
            "code": code,
            "message": message,
            "param": param,
            "request_id": current_request_id(),
        }
    }


def error_response(
    status: int, code: str, message: str, param: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    from fastapi.responses import JSONResponse

    return JSONResponse(error_body(status, code, message, param), status_code=status, headers=headers)


def _describe(errors: list[Any]) -> tuple[int, str, str, str | None]:
    """A clear sentence for the first validation error; 400 for a body that is not JSON."""
    first = errors[0] if errors else {}
    kind = first.get("type", "")
    loc = [str(p) for p in first.get("loc", ())]
    where = ".".join(p for p in loc if p not in ("body", "query", "path", "header")) or None
    if kind == "json_invalid":
        return 400, "invalid_json", "The request body is not valid JSON.", None
    if kind == "missing" and loc == ["body"]:
        return 400, "missing_body", "A JSON request body is required.", None
    if kind in ("model_attributes_type", "dict_type") and loc == ["body"]:
        return 400, "invalid_body", "The request body must be a JSON object.", None
    section = loc[0] if loc else "body"
    msg = first.get("msg", "invalid value")
    message = f"Invalid {section} field '{where}': {msg}." if where else f"Invalid {section}: {msg}."
    return 422, "invalid_" + section, message, where


def install_error_handlers(app: FastAPI) -> None:
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.param, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message, param = _describe(list(exc.errors()))
        return error_response(status, code, message, param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {
            404: "There is nothing at this path.",
            405: "This method is not allowed on this path.",
        }.get(exc.status_code, str(exc.detail))
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "Something went wrong on the server; it was logged.")
