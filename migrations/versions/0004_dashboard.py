"""dashboard: committee members' energies per frame, deviation histogram per walker

Revision ID: c4e2a9d17f35
Revises: 8d3f6a1c2b90
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c4e2a9d17f35"
down_revision: str | None = "8d3f6a1c2b90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("frame", schema=None) as batch_op:
        batch_op.add_column(sa.Column("member_energies_eV", JSON, nullable=True))
    with op.batch_alter_table("walker_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deviation_histogram", JSON, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # the review queue's order: highest deviation first, unjudged (NULL) frames last
        op.create_index(
            "ix_frame_campaign_deviation_desc",
            "frame",
            ["campaign_id", sa.text('"max_deviation_eV_per_A" DESC NULLS LAST'), "id"],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_frame_campaign_deviation_desc", table_name="frame")
    with op.batch_alter_table("walker_run", schema=None) as batch_op:
        batch_op.drop_column("deviation_histogram")
    with op.batch_alter_table("frame", schema=None) as batch_op:
        batch_op.drop_column("member_energies_eV")
