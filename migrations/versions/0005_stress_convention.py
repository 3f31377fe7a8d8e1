"""stress convention: labels record theirs; CP2K-signed stresses become (1/V) dE/dstrain

Labels stored before this revision hold CP2K's printed stress (compression positive). ASE,
MACE and every label from now on use ``(1/V) dE/dstrain`` (compression negative), so those
stresses are negated once and marked; a row already marked is never touched again.

Revision ID: 5a71c0e3d9b2
Revises: c4e2a9d17f35
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5a71c0e3d9b2"
down_revision: str | None = "c4e2a9d17f35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
CONVENTION = "dE_dstrain"

label = sa.table(
    "label",
    sa.column("id", sa.Integer),
    sa.column("stress_eV_per_A3", JSON),
    sa.column("stress_convention", sa.String(20)),
)


def _negate(tensor: list[list[float]]) -> list[list[float]]:
    return [[-float(v) for v in row] for row in tensor]


def _flip(where: sa.ColumnElement[bool], convention: str | None) -> None:
    """Negate the stress of the rows ``where`` selects and set their convention."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(label.c.id, label.c.stress_eV_per_A3).where(
            where, label.c.stress_eV_per_A3.is_not(None)
        )
    ).all()
    for row_id, stress in rows:
        if stress is None:  # a JSON null (not SQL NULL): nothing to negate
            continue
        bind.execute(
            label.update()
            .where(label.c.id == row_id)
            .values(stress_eV_per_A3=_negate(stress), stress_convention=convention)
        )


def upgrade() -> None:
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stress_convention", sa.String(length=20), nullable=True))
    _flip(label.c.stress_convention.is_(None), CONVENTION)


def downgrade() -> None:
    _flip(label.c.stress_convention == CONVENTION, None)
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.drop_column("stress_convention")
