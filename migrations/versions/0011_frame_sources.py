"""frame provenance: every MD explores

Adds ``frame.source`` (``walker``, ``validation`` or ``seed``; existing frames are walker
frames when they have a walker run, seed frames otherwise), ``frame.validation_id`` (the
validation run a frame was saved by) and ``frame.onset_of_step`` (the step its trajectory
broke at, on the frames leading into it).

Revision ID: b3d8f2a6c4e1
Revises: a1c7e5d9f0b6
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b3d8f2a6c4e1"
down_revision: str | None = "a1c7e5d9f0b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCE = sa.Enum(
    "walker",
    "validation",
    "seed",
    name="framesource",
    native_enum=False,
    length=20,
    create_constraint=True,
)


def upgrade() -> None:
    with op.batch_alter_table("frame", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.add_column(sa.Column("source", SOURCE, nullable=False, server_default="walker"))
        batch_op.add_column(sa.Column("validation_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("onset_of_step", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_frame_validation_id"), ["validation_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_frame_validation_id_validation"),
            "validation",
            ["validation_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.execute("UPDATE frame SET source = 'seed' WHERE walker_run_id IS NULL")
    # the default only filled existing rows; new rows always get the ORM's value
    with op.batch_alter_table("frame", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.alter_column("source", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("frame", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_frame_validation_id_validation"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_frame_validation_id"))
        batch_op.drop_column("onset_of_step")
        batch_op.drop_column("validation_id")
        if op.get_bind().dialect.name == "sqlite":  # PostgreSQL drops the CHECK with it
            batch_op.drop_constraint(batch_op.f("ck_frame_framesource"), type_="check")
        batch_op.drop_column("source")
