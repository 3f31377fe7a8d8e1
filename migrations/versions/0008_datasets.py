"""datasets and studies: uploaded data, imported labels, the seed phase, studies of variants

Adds the ``study`` table and ``campaign.study_id`` / ``study_variant`` / ``study_seed``, the
``dataset`` table, ``label.provenance`` (``cp2k`` for every existing label) and
``label.dataset_id``, ``frame.split_group`` (the split group of an imported frame), and the
``seed`` phase to the iteration's phase CHECK.

Revision ID: 8d3f5b7a2c41
Revises: 7c2e4a9f1b30
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "8d3f5b7a2c41"
down_revision: str | None = "7c2e4a9f1b30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
OLD_PHASES = (
    "explore", "select", "review", "label", "train", "evaluate", "validate", "decide", "done",
)  # fmt: skip
NEW_PHASES = ("seed", *OLD_PHASES)


def _phases(values: Sequence[str]) -> None:
    """Rewrite the CHECK on ``iteration.phase`` to allow exactly ``values``."""
    phase = sa.Enum(*values, name="phase", native_enum=False, create_constraint=True, length=20)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot alter a CHECK: the batch recreates the table with the new type
        with op.batch_alter_table("iteration", recreate="always") as batch_op:
            batch_op.alter_column("phase", type_=phase, existing_nullable=False)
        return
    op.drop_constraint(op.f("ck_iteration_phase"), "iteration", type_="check")
    allowed = ", ".join(f"'{v}'" for v in values)
    op.create_check_constraint("phase", "iteration", f"phase IN ({allowed})")


def upgrade() -> None:
    op.create_table(
        "study",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("spec", JSON, nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study")),
    )
    with op.batch_alter_table("campaign") as batch_op:
        batch_op.add_column(sa.Column("study_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("study_variant", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("study_seed", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_campaign_study_id_study"), "study", ["study_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index(op.f("ix_campaign_study_id"), ["study_id"])
    op.create_table(
        "dataset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("file_path", sa.Text(), nullable=False),
        sa.Column("summary", JSON, nullable=False),
        sa.Column("level_of_theory", JSON, nullable=True),
        sa.Column("level_sha256", sa.String(length=64), nullable=True),
        sa.Column("labelling", JSON, nullable=True),
        sa.Column("confirmation", JSON, nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset")),
        sa.UniqueConstraint("name", name=op.f("uq_dataset_name")),
    )
    op.create_index(op.f("ix_dataset_sha256"), "dataset", ["sha256"])
    op.create_index(op.f("ix_dataset_level_sha256"), "dataset", ["level_sha256"])
    with op.batch_alter_table("label") as batch_op:
        batch_op.add_column(
            sa.Column("provenance", sa.String(length=20), nullable=False, server_default="cp2k")
        )
        batch_op.add_column(sa.Column("dataset_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_label_dataset_id_dataset"), "dataset", ["dataset_id"], ["id"],
            ondelete="RESTRICT",
        )  # fmt: skip
        batch_op.create_index(op.f("ix_label_dataset_id"), ["dataset_id"])
    with op.batch_alter_table("frame") as batch_op:
        batch_op.add_column(sa.Column("split_group", sa.String(length=200), nullable=True))
    _phases(NEW_PHASES)


def downgrade() -> None:
    # imported labels and their frames have no place in the old schema: they go, as does
    # any iteration still seeding (the campaign restarts its iteration 0 from exploration)
    # (labels first by hand: SQLite migrates with foreign keys, hence cascades, off)
    op.execute(
        "DELETE FROM frame WHERE id IN (SELECT frame_id FROM label WHERE provenance = 'imported')"
    )
    op.execute("DELETE FROM label WHERE provenance = 'imported'")
    op.execute("UPDATE iteration SET phase = 'explore' WHERE phase = 'seed'")
    _phases(OLD_PHASES)
    with op.batch_alter_table("frame") as batch_op:
        batch_op.drop_column("split_group")
    with op.batch_alter_table("label") as batch_op:
        batch_op.drop_index(op.f("ix_label_dataset_id"))
        batch_op.drop_constraint(op.f("fk_label_dataset_id_dataset"), type_="foreignkey")
        batch_op.drop_column("dataset_id")
        batch_op.drop_column("provenance")
    op.drop_index(op.f("ix_dataset_level_sha256"), table_name="dataset")
    op.drop_index(op.f("ix_dataset_sha256"), table_name="dataset")
    op.drop_table("dataset")
    # a study's campaigns stay, as campaigns of their own
    with op.batch_alter_table("campaign") as batch_op:
        batch_op.drop_index(op.f("ix_campaign_study_id"))
        batch_op.drop_constraint(op.f("fk_campaign_study_id_study"), type_="foreignkey")
        batch_op.drop_column("study_seed")
        batch_op.drop_column("study_variant")
        batch_op.drop_column("study_id")
    op.drop_table("study")
