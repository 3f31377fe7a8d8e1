"""token scopes and expiry; ids that SQLite never reuses

Adds ``api_token.scopes`` (every existing token keeps full power: ``admin``) and
``api_token.expires_at`` (existing tokens never expire). On SQLite every table is rebuilt
with ``AUTOINCREMENT``, so the id of a deleted campaign (or frame, or model) is never given
to a new one; PostgreSQL sequences never reuse ids already.

Revision ID: 9e4a6c8b3d52
Revises: 8d3f5b7a2c41
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9e4a6c8b3d52"
down_revision: str | None = "8d3f5b7a2c41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild_every_table(autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    names = [n for n in sa.inspect(bind).get_table_names() if n != "alembic_version"]
    for name in names:
        with op.batch_alter_table(
            name, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass  # the rebuild itself is the change: CREATE TABLE ... AUTOINCREMENT


def upgrade() -> None:
    with op.batch_alter_table("api_token") as batch_op:
        batch_op.add_column(
            sa.Column("scopes", sa.String(length=80), nullable=False, server_default="admin")
        )
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    _rebuild_every_table(autoincrement=True)


def downgrade() -> None:
    _rebuild_every_table(autoincrement=False)
    with op.batch_alter_table("api_token") as batch_op:
        batch_op.drop_column("expires_at")
        batch_op.drop_column("scopes")
