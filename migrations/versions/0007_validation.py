"""validation: production MD of each iteration's committee, judged against experiment

Adds the ``validation`` table (one row per campaign iteration: parameters, observables,
graded scores, trajectory) and the ``validate`` phase to the iteration's phase CHECK.

Revision ID: 7c2e4a9f1b30
Revises: 6b1f0d2c8e47
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7c2e4a9f1b30"
down_revision: str | None = "6b1f0d2c8e47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
STATUSES = ("pending", "queued", "running", "done", "stopped_early", "failed")
OLD_PHASES = ("explore", "select", "review", "label", "train", "evaluate", "decide", "done")
NEW_PHASES = (*OLD_PHASES[:6], "validate", *OLD_PHASES[6:])


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def _phases(values: Sequence[str]) -> None:
    """Rewrite the CHECK on ``iteration.phase`` to allow exactly ``values``."""
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot alter a CHECK: the batch recreates the table with the new type
        with op.batch_alter_table("iteration", recreate="always") as batch_op:
            batch_op.alter_column("phase", type_=_enum(values, "phase"), existing_nullable=False)
        return
    op.drop_constraint(op.f("ck_iteration_phase"), "iteration", type_="check")
    allowed = ", ".join(f"'{v}'" for v in values)
    op.create_check_constraint("phase", "iteration", f"phase IN ({allowed})")


def upgrade() -> None:
    op.create_table(
        "validation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("iteration_index", sa.Integer(), nullable=False),
        sa.Column("status", _enum(STATUSES, "runstatus"), nullable=False),
        sa.Column("parameters", JSON, nullable=False),
        sa.Column("observables", JSON, nullable=False),
        sa.Column("scores", JSON, nullable=False),
        sa.Column("steps_done", sa.Integer(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("trajectory_path", sa.Text(), nullable=True),
        sa.Column("trajectory_sha256", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_validation_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation")),
        sa.UniqueConstraint(
            "campaign_id", "iteration_index", name=op.f("uq_validation_campaign_id_iteration_index")
        ),
    )
    op.create_index(op.f("ix_validation_campaign_id"), "validation", ["campaign_id"])
    _phases(NEW_PHASES)


def downgrade() -> None:
    # an iteration caught validating goes on to decide: the phase after validation
    op.execute("UPDATE iteration SET phase = 'decide' WHERE phase = 'validate'")
    _phases(OLD_PHASES)
    op.drop_index(op.f("ix_validation_campaign_id"), table_name="validation")
    op.drop_table("validation")
