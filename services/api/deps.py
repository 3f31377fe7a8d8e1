"""Dependencies shared by the routers: database sessions and bearer-token auth."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from wise_al.db.models import ApiToken
from wise_al.db.repositories import TokenRepository
from wise_al.db.repositories.tokens import has_scope, is_expired

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
    tokens = TokenRepository(session)
    token = tokens.authenticate(credentials.credentials)
    if token is None:
        found = tokens.find(credentials.credentials)
        reason = "invalid or revoked token"
        if found is not None and found.revoked_at is None and is_expired(found):
            assert found.expires_at is not None
            reason = (
                f"token expired at {found.expires_at.isoformat(timespec='seconds')} "
                "(mint a new one with `wise-al token create`)"
            )
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, reason, headers=challenge)
    return token


TokenDep = Annotated[ApiToken, Depends(require_token)]


def require_scope(scope: str) -> Callable[[ApiToken], ApiToken]:
    """A dependency: the caller's token, 403 unless it holds ``scope`` (or ``admin``)."""

    def check(token: TokenDep) -> ApiToken:
        if not has_scope(token, scope):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"token '{token.name}' may {token.scopes.replace(' ', ', ')}; "
                f"this needs scope '{scope}' (`wise-al token create --scope {scope}`)",
            )
        return token

    return check


ReviewToken = Annotated[ApiToken, Depends(require_scope("review"))]
OperateToken = Annotated[ApiToken, Depends(require_scope("operate"))]
