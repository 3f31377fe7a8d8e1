"""Who is looking at the dashboard: signed session cookies and CSRF tokens.

A reviewer signs in with an API token (``wise-al token create``); the session cookie holds
a random key, signed, whose hash is a row on the server (``dashboard_session``): every
request re-checks that the session has not ended and its token is not revoked, and signing
out ends the row, so a copied cookie is worthless from then on. Anonymous visitors get a
pre-session cookie (a signed random value, no row); they can read every page and change
nothing.

CSRF: every form and every ``fetch`` carries a token that repeats the ``csrf`` cookie, and
that token is signed together with a digest of the session cookie it was issued for, the
pre-session included: no two visitors share a binding, so a token taken from one anonymous
visit cannot sign anyone else in (login CSRF). A cross-site page can neither read the cookie
nor forge the signature; a same-site page (another port of this host can set cookies for
it) may plant a cookie of its own, but that token is bound to the planter's session, not
the victim's, and is refused. Signing in and out issue a new session and token. Cookies are
``SameSite=Lax`` and ``HttpOnly`` (the CSRF token is repeated in a ``<meta>`` tag for
scripts).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

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

    def session_value(self, key: str) -> str:
        """The cookie of a signed-in session (its key names a server-side row)."""
        return self._session.dumps({"key": key})

    def anonymous_value(self) -> str:
        """The cookie of an anonymous visitor: a pre-session that CSRF tokens bind to."""
        return self._session.dumps({"anonymous": secrets.token_urlsafe(16)})

    def session_data(self, value: str | None) -> dict[str, str] | None:
        """What a session cookie this server signed holds, or None (absent, forged, old)."""
        if not value:
            return None
        try:
            data = self._session.loads(value, max_age=self.max_age_s)
        except BadSignature:
            return None
        if not isinstance(data, dict) or len(data) != 1:
            return None
        ((kind, text),) = data.items()
        return data if kind in ("key", "anonymous") and isinstance(text, str) else None

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
    new_session: str | None = None  # a pre-session cookie to set on the response

    @property
    def signed_in(self) -> bool:
        return self.reviewer is not None


def _signer(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


def current_viewer(request: Request, session: SessionDep) -> Viewer:
    """The viewer of this request; an ended session or a revoked token reads as anonymous."""
    signer = _signer(request)
    reviewer, may_review, new_session = None, False, None
    session_cookie = request.cookies.get(SESSION_COOKIE)
    data = signer.session_data(session_cookie)
    if data is None:  # a first visit (or a forged or outdated cookie): a fresh pre-session
        session_cookie = new_session = signer.anonymous_value()
    elif "key" in data:
        token = TokenRepository(session).signed_in(data["key"])
        if token is not None:
            reviewer, may_review = token.name, has_scope(token, "review")
    csrf = request.cookies.get(CSRF_COOKIE)
    if new_session is None and signer.csrf_valid(csrf, session_cookie):
        assert csrf is not None
        return Viewer(reviewer, csrf, new_csrf=False, may_review=may_review)
    return Viewer(
        reviewer, signer.new_csrf(session_cookie), True, may_review, new_session=new_session
    )


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


def _cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None = None
) -> None:
    settings: ApiSettings = request.app.state.settings
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


def _new_session(response: Response, request: Request, value: str, max_age: int | None) -> None:
    """Set a session cookie and a CSRF token bound to it."""
    _cookie(response, request, SESSION_COOKIE, value, max_age)
    _cookie(response, request, CSRF_COOKIE, _signer(request).new_csrf(value))


def set_cookies(response: Response, request: Request, viewer: Viewer) -> None:
    """Give a new visitor their pre-session, and anyone without a valid one a CSRF cookie."""
    if viewer.new_session is not None:
        _cookie(response, request, SESSION_COOKIE, viewer.new_session)
    if viewer.new_csrf:
        _cookie(response, request, CSRF_COOKIE, viewer.csrf_token)


def sign_in(response: Response, request: Request, session: Session, token: ApiToken) -> None:
    """Open a server-side session for ``token``'s owner; set its cookie and a CSRF token."""
    settings: ApiSettings = request.app.state.settings
    key = TokenRepository(session).open_session(
        token, timedelta(seconds=settings.session_max_age_s)
    )
    value = _signer(request).session_value(key)
    _new_session(response, request, value, settings.session_max_age_s)


def sign_out(response: Response, request: Request, session: Session) -> None:
    """End the session on the server; the visitor continues on a fresh pre-session."""
    data = _signer(request).session_data(request.cookies.get(SESSION_COOKIE))
    if data is not None and "key" in data:
        TokenRepository(session).end_session(data["key"])
    _new_session(response, request, _signer(request).anonymous_value(), None)
