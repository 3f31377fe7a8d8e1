"""label provenance: input hash, attempt log, failure detail, wavefunction reuse

Revision ID: 5b1e0c2d7a41
Revises: c08945a9f23c
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5b1e0c2d7a41"
down_revision: str | None = "c08945a9f23c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.add_column(sa.Column("input_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("attempt_log", JSON, nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(sa.Column("failure_detail", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("scf_steps_saved", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("wfn_guess_from", sa.Text(), nullable=True))
    # the default only filled existing rows; new rows always get the ORM's value
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.alter_column("attempt_log", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.drop_column("wfn_guess_from")
        batch_op.drop_column("scf_steps_saved")
        batch_op.drop_column("failure_detail")
        batch_op.drop_column("attempt_log")
        batch_op.drop_column("input_sha256")
