"""Dependencies shared by the routers: database sessions and bearer-token auth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from wise_al.db.models import ApiToken
from wise_al.db.repositories import TokenRepository

_bearer = HTTPBearer(auto_error=False, description="a token from `wise-al token create`")


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: committed when the route returns, rolled back on error."""
    factory = request.app.state.session_factory
    with factory() as session, session.begin():
        yield session


# scope="function": commit before the response is sent, so a 201 means the row is stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def require_token(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiToken:
    """The caller's token; 401 when it is missing, unknown or revoked.

    The secret is only hashed and compared, never logged or echoed back.
    """
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token: send 'Authorization: Bearer <token>' "
            "(mint one with `wise-al token create`)",
            headers=challenge,
        )
    token = TokenRepository(session).authenticate(credentials.credentials)
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid or revoked token", headers=challenge
        )
    return token


TokenDep = Annotated[ApiToken, Depends(require_token)]
