"""Every error the HTTP API returns is JSON `{"error", "message"[, "detail"]}`, shaped here."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from graph.processor import NoPendingReview, StaleReview
from graph.review_protocol import InvalidReviewAnswer
from graph.workspace import ThreadMovedOn
from store.business import Conflict, NotFound
from store.settings import UnknownMarketplace

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, message: str, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.error, self.message, self.headers = status, error, message, headers


def error_body(error: str, message: str, detail: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": error, "message": message}
    if detail is not None:
        body["detail"] = detail
    return body


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: str = Field(description="Machine-readable kind, e.g. unauthorized, invalid_request")
    message: str = Field(description="What is wrong, for a person")
    detail: Any = Field(default=None, description="Field-level reasons, when there are some")
    request_id: str | None = Field(default=None, description="Quote it when reporting a 500")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting `ErrorBody` for these statuses."""
    return {status: {"model": ErrorBody, "description": ERRORS[status]} for status in statuses}


ERRORS = {
    401: "Missing or wrong API key (or X-Signature when a webhook secret is set)",
    404: "Not found",
    409: "The current state does not allow it",
    413: "Body too large",
    422: "Malformed JSON or schema violation, with field-level reasons",
    500: "Unexpected failure; nothing accepted is lost (quote request_id)",
    502: "Mirakl or the business API failed; the request can be retried",
    503: "A required part (database, knowledge base) is unavailable",
}

# The domain's refusals, answered the same way by every route that meets them (a route with
# its own words for one, like the reply route's `invalid_reply`, catches it itself).
DOMAIN_ERRORS: dict[type[Exception], tuple[int, str]] = {
    NotFound: (404, "not_found"),
    NoPendingReview: (404, "no_pending_review"),
    Conflict: (409, "conflict"),
    UnknownMarketplace: (409, "unknown_marketplace"),
    ThreadMovedOn: (409, "thread_moved_on"),
    StaleReview: (409, "stale_review"),
    InvalidReviewAnswer: (422, "invalid_review"),
}


def install_error_handlers(app: FastAPI) -> None:
    @app.middleware("http")
    async def request_id(request: Request, call_next: Any) -> Any:
        request.state.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        rid = getattr(request.state, "request_id", None) or uuid.uuid4().hex
        log.error("request %s failed", rid, exc_info=exc)
        body = error_body("internal_error", f"unexpected {type(exc).__name__}; see the logs")
        return JSONResponse(
            {**body, "request_id": rid}, status_code=500, headers={"X-Request-ID": rid}
        )

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.error, exc.message), status_code=exc.status, headers=exc.headers
        )

    async def refused(_: Request, exc: Exception) -> JSONResponse:
        status, error = next(v for k, v in DOMAIN_ERRORS.items() if isinstance(exc, k))
        return JSONResponse(error_body(error, str(exc)), status_code=status)

    for kind in DOMAIN_ERRORS:  # Starlette picks the handler of the nearest class
        app.add_exception_handler(kind, refused)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Field-level reasons, without echoing the (possibly large) input back.
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        fields = ", ".join(".".join(str(p) for p in d["loc"][1:]) or "body" for d in detail)
        return JSONResponse(
            error_body("invalid_request", f"invalid request: {fields}", detail), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's answer to a body that is not UTF-8: the same 422 as any bad body.
            return JSONResponse(
                error_body("invalid_request", "the body is not UTF-8 encoded JSON"),
                status_code=422,
            )
        return JSONResponse(
            error_body("http_error", str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
