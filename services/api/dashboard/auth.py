"""Who is looking at the dashboard: signed session cookies and CSRF tokens.

A reviewer signs in with an API token (``wise-al token create``); the session cookie holds
only the token's id, signed, and every request re-checks that the token is not revoked.
Anonymous visitors can read every page and change nothing.

CSRF: every form and every ``fetch`` carries a token that repeats the ``csrf`` cookie, and
that token is signed together with a digest of the session cookie it was issued for (an
empty one before sign-in). A cross-site page can neither read the cookie nor forge the
signature; a same-site page (another port of this host can set cookies for it) may plant a
cookie of its own, but that token is bound to the planter's session, not the victim's, and
is refused. Signing in and out issue a new token. Cookies are ``SameSite=Lax`` and
``HttpOnly`` (the CSRF token is repeated in a ``<meta>`` tag for scripts).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status
from itsdangerous import BadSignature, URLSafeTimedSerializer

from services.api.deps import SessionDep
from wise_al.db.models import ApiToken
from wise_al.db.repositories import TokenRepository
from wise_al.db.repositories.tokens import has_scope
from wise_al.settings import ApiSettings

SESSION_COOKIE = "wise_al_session"
CSRF_COOKIE = "wise_al_csrf"
CSRF_HEADER = "X-CSRF-Token"


def session_secret(settings: ApiSettings) -> str:
    """The configured secret, or one kept in ``<home>/session.key`` (created 0600)."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    path = Path(settings.home) / "session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another API process wrote it first: use theirs
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


class Signer:
    """Signs and checks the session and CSRF cookie values."""

    def __init__(self, secret: str, max_age_s: int) -> None:
        self._session = URLSafeTimedSerializer(secret, salt="wise-al-session")
        self._csrf = URLSafeTimedSerializer(secret, salt="wise-al-csrf")
        self.max_age_s = max_age_s

    def session_value(self, token_id: int) -> str:
        return self._session.dumps({"token_id": token_id})

    def token_id(self, value: str | None) -> int | None:
        if not value:
            return None
        try:
            data = self._session.loads(value, max_age=self.max_age_s)
        except BadSignature:
            return None
        token_id = data.get("token_id") if isinstance(data, dict) else None
        return token_id if isinstance(token_id, int) else None

    @staticmethod
    def _binding(session_cookie: str | None) -> str:
        return hashlib.sha256((session_cookie or "").encode()).hexdigest()[:32]

    def new_csrf(self, session_cookie: str | None) -> str:
        """A CSRF token bound to ``session_cookie`` (None: an anonymous visitor)."""
        return self._csrf.dumps([secrets.token_urlsafe(16), self._binding(session_cookie)])

    def csrf_valid(self, value: str | None, session_cookie: str | None) -> bool:
        """Whether ``value`` is a token this server signed for exactly this session."""
        if not value:
            return False
        try:
            data = self._csrf.loads(value)
        except BadSignature:
            return False
        bound = data[1] if isinstance(data, list) and len(data) == 2 else None
        return isinstance(bound, str) and hmac.compare_digest(bound, self._binding(session_cookie))


@dataclass(frozen=True)
class Viewer:
    """The person behind a request: a reviewer's token name, or anonymous (``None``)."""

    reviewer: str | None
    csrf_token: str
    new_csrf: bool  # the CSRF cookie must be (re)set on the response
    may_review: bool = False  # the signed-in token holds the review scope

    @property
    def signed_in(self) -> bool:
        return self.reviewer is not None


def _signer(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


def current_viewer(request: Request, session: SessionDep) -> Viewer:
    """The viewer of this request; a revoked or unknown token reads as anonymous."""
    signer = _signer(request)
    reviewer, may_review = None, False
    session_cookie = request.cookies.get(SESSION_COOKIE)
    token_id = signer.token_id(session_cookie)
    if token_id is not None:
        token = TokenRepository(session).live(token_id)
        if token is not None:
            reviewer, may_review = token.name, has_scope(token, "review")
    csrf = request.cookies.get(CSRF_COOKIE)
    if signer.csrf_valid(csrf, session_cookie):
        assert csrf is not None
        return Viewer(reviewer, csrf, new_csrf=False, may_review=may_review)
    return Viewer(reviewer, signer.new_csrf(session_cookie), new_csrf=True, may_review=may_review)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def check_csrf(request: Request, viewer: Viewer, submitted: str | None) -> None:
    """403 unless the form field or ``X-CSRF-Token`` header repeats the CSRF cookie."""
    sent = submitted or request.headers.get(CSRF_HEADER)
    cookie = request.cookies.get(CSRF_COOKIE)
    if not (sent and cookie and hmac.compare_digest(sent, cookie) and not viewer.new_csrf):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "csrf: the form's security token is missing or stale; reload the page and retry",
        )


def require_reviewer(viewer: Viewer) -> str:
    """The reviewer's name; 401 for anonymous visitors, 403 for a token without ``review``."""
    if viewer.reviewer is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "sign in to review: anonymous visitors can look but change nothing",
        )
    if not viewer.may_review:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"token '{viewer.reviewer}' may not review (it lacks scope 'review')",
        )
    return viewer.reviewer


def _set_csrf(response: Response, request: Request, value: str) -> None:
    settings: ApiSettings = request.app.state.settings
    response.set_cookie(
        CSRF_COOKIE, value, httponly=True, samesite="lax", secure=settings.secure_cookies
    )


def set_cookies(response: Response, request: Request, viewer: Viewer) -> None:
    """Give a new visitor (or one whose session changed) their CSRF cookie."""
    if viewer.new_csrf:
        _set_csrf(response, request, viewer.csrf_token)


def sign_in(response: Response, request: Request, token: ApiToken) -> None:
    """Set the session cookie of ``token``'s owner, and a CSRF token bound to it."""
    settings: ApiSettings = request.app.state.settings
    session_value = _signer(request).session_value(token.id)
    response.set_cookie(
        SESSION_COOKIE,
        session_value,
        max_age=settings.session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    _set_csrf(response, request, _signer(request).new_csrf(session_value))


def sign_out(response: Response, request: Request) -> None:
    """Forget the session cookie; the next CSRF token is an anonymous one."""
    response.delete_cookie(SESSION_COOKIE)
    _set_csrf(response, request, _signer(request).new_csrf(None))
