"""Error bodies that name the field: `{"error": {"field": ..., "message": ...}}`.

A request a user got wrong gets a 4xx whose message says which field and why,
in words; a 5xx never leaks internals.
"""

from typing import Any, Protocol, runtime_checkable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException


@runtime_checkable
class ClientError(Protocol):
    """What a service's domain error offers to be shown to an API user."""

    status: int
    field: str | None
    message: str


class ErrorDetail(BaseModel):
    """The first problem, and every problem when there are several."""

    field: str | None = Field(
        description="The field at fault, e.g. `amount`, `lines[0].amount`, "
        "`Idempotency-Key`; null when no single field is."
    )
    message: str = Field(description="Why, in words.")
    problems: list[dict[str, Any]] | None = Field(
        default=None,
        description="Every problem found, each with its `field` and `message` "
        "(a CSV import: `line`, `column` and `message`).",
    )


class ErrorBody(BaseModel):
    """What every 4xx answer carries."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No API key, or an unknown one."},
    404: {
        "model": ErrorBody,
        "description": "Not found for this creditor (another creditor's is too).",
    },
    409: {"model": ErrorBody, "description": "Clashes with what is recorded."},
    422: {"model": ErrorBody, "description": "The request is invalid; see `field`."},
}
"""The error answers to show in OpenAPI for a route; pick what applies."""


def error_body(status: int, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"field": field, "message": message}}, status_code=status
    )


def field_path(location: tuple[Any, ...] | list[Any]) -> str:
    """`("body", "lines", 0, "amount")` → `lines[0].amount`."""
    parts = [
        part for part in location if part not in ("body", "query", "path", "header")
    ]
    path = ""
    for part in parts:
        path += (
            f"[{part}]"
            if isinstance(part, int)
            else (f".{part}" if path else str(part))
        )
    return path or "request"


def _problem(error: Any) -> dict[str, str]:
    if error["type"] == "json_invalid":
        # The location of a JSON syntax error is a character offset, not a field.
        reason = error.get("ctx", {}).get("error", "")
        return {
            "field": "body",
            "message": f"is not valid JSON ({reason}) at character {error['loc'][-1]}",
        }
    return {
        "field": field_path(error["loc"]),
        "message": error["msg"].removeprefix("Value error, "),
    }


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    problems = [_problem(error) for error in errors]
    first = problems[0] if problems else {"field": None, "message": "invalid request"}
    return JSONResponse({"error": {**first, "problems": problems}}, status_code=422)


async def _http_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, dict) else {"message": exc.detail}
    return JSONResponse(
        {"error": {"field": None, **detail}},
        status_code=exc.status_code,
        headers=exc.headers,
    )


def install_error_handlers(app: FastAPI, *domain_errors: type[Exception]) -> None:
    """Show each of `domain_errors` (`ClientError`s) and bad requests as 4xx bodies."""

    async def _domain(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ClientError)
        return error_body(exc.status, exc.message, exc.field)

    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_exception)
    for domain_error in domain_errors:
        app.add_exception_handler(domain_error, _domain)
