"""API tokens: minted once, stored as SHA-256, looked up by hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from wise_al.db.base import utcnow
from wise_al.db.models import ApiToken
from wise_al.db.repositories.base import Repository
from wise_al.errors import WiseAlError

TOKEN_PREFIX = "wal_"
MAX_NAME_LENGTH = 120


def hash_token(secret: str) -> str:
    """SHA-256 of a token. Tokens carry 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenRepository(Repository[ApiToken]):
    """Mint, authenticate, list and revoke API tokens."""

    model = ApiToken
    noun = "token"

    def create(self, name: str) -> tuple[ApiToken, str]:
        """Mint a token; returns the row and the secret, which is never stored."""
        if not 1 <= len(name) <= MAX_NAME_LENGTH:
            raise WiseAlError(f"token name must be 1 to {MAX_NAME_LENGTH} characters")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(name=name, token_sha256=hash_token(secret), prefix=secret[:10])
        self.session.add(token)
        self.session.flush()
        return token, secret

    def authenticate(self, secret: str) -> ApiToken | None:
        """The live token matching ``secret``, or None; records when it was last used."""
        token = self.session.scalars(
            select(ApiToken).where(ApiToken.token_sha256 == hash_token(secret))
        ).one_or_none()
        if token is None or token.revoked_at is not None:
            return None
        token.last_used_at = utcnow()
        return token

    def live(self, token_id: int) -> ApiToken | None:
        """The token with this id unless it is unknown or revoked."""
        token = self.session.get(ApiToken, token_id)
        return token if token is not None and token.revoked_at is None else None

    def list(self) -> list[ApiToken]:
        """Every token, oldest first (secrets are not recoverable)."""
        return list(self.session.scalars(select(ApiToken).order_by(ApiToken.id)).all())

    def revoke(self, token_id: int) -> ApiToken:
        """Revoke a token; later requests with it get 401."""
        token = self.get(token_id)
        token.revoked_at = token.revoked_at or utcnow()
        return token
