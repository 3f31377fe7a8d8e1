"""loop units: walker frame counts, frame descriptors, one label per frame+level, task payloads

Revision ID: 8d3f6a1c2b90
Revises: 5b1e0c2d7a41
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "8d3f6a1c2b90"
down_revision: str | None = "5b1e0c2d7a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("walker_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("frame_counts", JSON, nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.add_column(sa.Column("stop_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("walker_run", schema=None) as batch_op:
        batch_op.alter_column("frame_counts", server_default=None)
    with op.batch_alter_table("frame", schema=None) as batch_op:
        batch_op.add_column(sa.Column("descriptor", JSON, nullable=True))
    with op.batch_alter_table("label", schema=None) as batch_op:
        # two deliveries of one label task must not store two labels
        batch_op.create_unique_constraint(
            "uq_label_frame_id_level_sha256", ["frame_id", "level_sha256"]
        )
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("payload", JSON, nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.add_column(sa.Column("iteration_index", sa.Integer(), nullable=True))
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.alter_column("payload", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.drop_column("iteration_index")
        batch_op.drop_column("payload")
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.drop_constraint("uq_label_frame_id_level_sha256", type_="unique")
    with op.batch_alter_table("frame", schema=None) as batch_op:
        batch_op.drop_column("descriptor")
    with op.batch_alter_table("walker_run", schema=None) as batch_op:
        batch_op.drop_column("stop_reason")
        batch_op.drop_column("frame_counts")
