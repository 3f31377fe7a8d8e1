"""API tokens: minted once, stored as SHA-256, looked up by hash."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select

from wise_al.db.base import utcnow
from wise_al.db.models import ApiToken, DashboardSession
from wise_al.db.repositories.base import Repository
from wise_al.errors import WiseAlError

TOKEN_PREFIX = "wal_"
MAX_NAME_LENGTH = 120

#: What a token may do. ``read``: sign in to the dashboard and look; ``review``: accept or
#: reject frames; ``operate``: submit, start, pause, resume, cancel and delete campaigns and
#: studies, upload datasets; ``admin``: everything.
SCOPES = ("read", "review", "operate", "admin")
DEFAULT_SCOPES = ("review", "operate")
#: A token lives this long unless its creator says otherwise.
DEFAULT_LIFETIME = timedelta(days=90)


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes in canonical order, or a :class:`WiseAlError` naming an unknown one."""
    given = set(scopes)
    unknown = sorted(given - set(SCOPES))
    if unknown or not given:
        raise WiseAlError(
            f"token scopes: {', '.join(map(repr, unknown)) or 'none given'}; "
            f"choose from {', '.join(SCOPES)}"
        )
    return tuple(s for s in SCOPES if s in given)


def has_scope(token: ApiToken, scope: str) -> bool:
    """Whether ``token`` may act under ``scope`` (``admin`` may do everything)."""
    held = set(token.scopes.split())
    return scope in held or "admin" in held


def is_expired(token: ApiToken, now: datetime | None = None) -> bool:
    """Whether ``token`` has passed its expiry time (tokens without one never expire)."""
    return token.expires_at is not None and token.expires_at <= (now or utcnow())


def hash_token(secret: str) -> str:
    """SHA-256 of a token. Tokens carry 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenRepository(Repository[ApiToken]):
    """Mint, authenticate, list and revoke API tokens."""

    model = ApiToken
    noun = "token"

    def create(
        self,
        name: str,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        lifetime: timedelta | None = DEFAULT_LIFETIME,
    ) -> tuple[ApiToken, str]:
        """Mint a token; returns the row and the secret, which is never stored.

        Parameters
        ----------
        name
            Who or what uses it (shown as the reviewer of its reviews).
        scopes
            What it may do (:data:`SCOPES`).
        lifetime
            How long it is valid; None for a token that never expires.
        """
        if not 1 <= len(name) <= MAX_NAME_LENGTH or not name.isprintable():
            raise WiseAlError(f"token name must be 1 to {MAX_NAME_LENGTH} printable characters")
        if lifetime is not None and lifetime <= timedelta(0):
            raise WiseAlError("token lifetime must be positive")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            name=name,
            token_sha256=hash_token(secret),
            prefix=secret[:10],
            scopes=" ".join(check_scopes(scopes)),
            expires_at=utcnow() + lifetime if lifetime is not None else None,
        )
        self.session.add(token)
        self.session.flush()
        return token, secret

    def find(self, secret: str) -> ApiToken | None:
        """The token matching ``secret``, whatever its state (None when unknown)."""
        return self.session.scalars(
            select(ApiToken).where(ApiToken.token_sha256 == hash_token(secret))
        ).one_or_none()

    def authenticate(self, secret: str) -> ApiToken | None:
        """The live token matching ``secret``, or None; records when it was last used."""
        token = self.find(secret)
        if token is None or token.revoked_at is not None or is_expired(token):
            return None
        token.last_used_at = utcnow()
        return token

    def live(self, token_id: int) -> ApiToken | None:
        """The token with this id unless it is unknown, revoked or expired."""
        token = self.session.get(ApiToken, token_id)
        if token is None or token.revoked_at is not None or is_expired(token):
            return None
        return token

    def list(self) -> list[ApiToken]:
        """Every token, oldest first (secrets are not recoverable)."""
        return list(self.session.scalars(select(ApiToken).order_by(ApiToken.id)).all())

    def revoke(self, token_id: int) -> ApiToken:
        """Revoke a token; later requests with it get 401."""
        token = self.get(token_id)
        token.revoked_at = token.revoked_at or utcnow()
        return token

    def open_session(self, token: ApiToken, lifetime: timedelta) -> str:
        """A dashboard sign-in of ``token``; returns its random key (only its hash is kept)."""
        key = secrets.token_urlsafe(32)
        row = DashboardSession(
            key_sha256=hash_token(key), token_id=token.id, expires_at=utcnow() + lifetime
        )
        self.session.add(row)
        self.session.flush()
        return key

    def _session_row(self, key: str) -> DashboardSession | None:
        return self.session.scalars(
            select(DashboardSession).where(DashboardSession.key_sha256 == hash_token(key))
        ).one_or_none()

    def signed_in(self, key: str) -> ApiToken | None:
        """The live token of a dashboard session, unless the session ended or expired."""
        row = self._session_row(key)
        if row is None or row.ended_at is not None or row.expires_at <= utcnow():
            return None
        return self.live(row.token_id)

    def end_session(self, key: str) -> None:
        """End a dashboard session (sign-out): its cookie no longer signs anyone in."""
        row = self._session_row(key)
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
