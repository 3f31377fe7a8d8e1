"""dashboard sessions kept on the server, so signing out ends them

Adds ``dashboard_session``: one row per sign-in, holding the SHA-256 of the random key the
session cookie carries, its token, expiry and end. Cookies signed by earlier versions held
only a token id; they read as anonymous after the upgrade (sign in again).

Revision ID: a1c7e5d9f0b6
Revises: 9e4a6c8b3d52
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a1c7e5d9f0b6"
down_revision: str | None = "9e4a6c8b3d52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_token.id"],
            name=op.f("fk_dashboard_session_token_id_api_token"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_session")),
        sa.UniqueConstraint("key_sha256", name=op.f("uq_dashboard_session_key_sha256")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_dashboard_session_token_id"), "dashboard_session", ["token_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dashboard_session_token_id"), table_name="dashboard_session")
    op.drop_table("dashboard_session")
