"""`Authorization: Bearer <key>`: a call acts for the one creditor its key names."""

from collections.abc import Callable

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False, description="The creditor's API key.")

Authenticate = Callable[[str], str | None]
"""Maps an API key to the id of its creditor, or None for an unknown key."""


def creditor_of_key(authenticate: Authenticate) -> Callable[..., str]:
    """A FastAPI dependency giving the creditor id the request's key belongs to."""

    def dependency(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> str:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise _unauthorised("an API key is required: Authorization: Bearer <key>")
        creditor = authenticate(credentials.credentials)
        if creditor is None:
            raise _unauthorised("the API key is not valid")
        return creditor

    return dependency


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(
        status_code=401,
        detail={"field": "Authorization", "message": message},
        headers={"WWW-Authenticate": "Bearer"},
    )
