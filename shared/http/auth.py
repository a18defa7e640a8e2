"""`Authorization: Bearer <key>`: a call acts for the one creditor its key names."""

from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False, description="The creditor's API key.")

_NO_KEY = "an API key is required: Authorization: Bearer <key>"
_BAD_KEY = "the API key is not valid"

Authenticate = Callable[[str], str | None]
"""Maps an API key to the id of its creditor, or None for an unknown key."""


def creditor_of_key(authenticate: Authenticate) -> Callable[..., str]:
    """A FastAPI dependency giving the creditor id the request's key belongs to."""

    def dependency(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> str:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise _unauthorised(_NO_KEY)
        creditor = authenticate(credentials.credentials)
        if creditor is None:
            raise _unauthorised(_BAD_KEY)
        return creditor

    return dependency


def require_keys(app: FastAPI, authenticate: Authenticate, *, prefix: str) -> None:
    """Refuse a request under `prefix` without a valid key before its body is
    read: without a key, a body that is not even JSON is a 401, not a 422."""

    @app.middleware("http")
    async def keys_first(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path.startswith(prefix):
            credentials = await bearer(request)
            if credentials is None:
                return _refusal(_unauthorised(_NO_KEY))
            if await run_in_threadpool(authenticate, credentials.credentials) is None:
                return _refusal(_unauthorised(_BAD_KEY))
        return await call_next(request)


def _refusal(error: HTTPException) -> JSONResponse:
    return JSONResponse(
        {"error": error.detail}, status_code=error.status_code, headers=error.headers
    )


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(
        status_code=401,
        detail={"field": "Authorization", "message": message},
        headers={"WWW-Authenticate": "Bearer"},
    )
