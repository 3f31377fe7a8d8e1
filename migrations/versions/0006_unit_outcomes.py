"""unit outcomes on domain rows: reference energies table, member errors, task runs as leases

Units of work now record what they produced, or why they failed, on their domain row; the
task run keeps only the lease. ``task_name``, ``queue`` and ``payload`` (Celery routing
the core no longer names) become ``unit`` and ``unit_index``. A finished E0s task run is
removed so the loop plans it again: the job finds the campaign's ``e0s.json`` and records
it in ``reference_energies`` without running CP2K again.

Revision ID: 6b1f0d2c8e47
Revises: 5a71c0e3d9b2
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "6b1f0d2c8e47"
down_revision: str | None = "5a71c0e3d9b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
STATUSES = ("pending", "queued", "running", "done", "stopped_early", "failed")
#: The queues of revision 0003, for a downgrade only.
OLD_QUEUES = {
    "explore": "gpu",
    "train": "gpu",
    "calibrate": "gpu",
    "e0s": "dft",
    "label": "dft",
    "select": "default",
    "evaluate": "default",
}

task_run = sa.table(
    "task_run",
    sa.column("id", sa.Integer),
    sa.column("task_name", sa.String(80)),
    sa.column("queue", sa.String(40)),
    sa.column("payload", JSON),
    sa.column("unit", sa.String(40)),
    sa.column("unit_index", sa.Integer),
    sa.column("status", sa.String(20)),
)


def _status() -> sa.Enum:
    return sa.Enum(
        *STATUSES,
        name="runstatus",
        native_enum=False,
        create_constraint=True,
        length=20,
    )


def upgrade() -> None:
    op.create_table(
        "reference_energies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("status", _status(), nullable=False),
        sa.Column("energies_eV", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaign.id"],
            name=op.f("fk_reference_energies_campaign_id_campaign"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_energies")),
        sa.UniqueConstraint("campaign_id", name=op.f("uq_reference_energies_campaign_id")),
    )
    with op.batch_alter_table("model_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("unit_index", sa.Integer(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(task_run.c.id, task_run.c.task_name, task_run.c.payload))
    for row_id, task_name, payload in rows.all():
        unit = str(task_name).removeprefix("wise_al.")
        index = (payload or {}).get("index")
        bind.execute(
            task_run.update().where(task_run.c.id == row_id).values(unit=unit, unit_index=index)
        )
    bind.execute(task_run.delete().where(task_run.c.unit == "e0s", task_run.c.status == "done"))
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.alter_column("unit", existing_type=sa.String(length=40), nullable=False)
        batch_op.drop_column("task_name")
        batch_op.drop_column("queue")
        batch_op.drop_column("payload")


def downgrade() -> None:
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("task_name", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("queue", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("payload", JSON, nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, campaign_id, unit, iteration_index, unit_index FROM task_run")
    )
    for row_id, campaign_id, unit, iteration, index in rows.all():
        payload = {"campaign_id": campaign_id, "unit": unit, "iteration": iteration, "index": index}
        bind.execute(
            task_run.update()
            .where(task_run.c.id == row_id)
            .values(
                task_name=f"wise_al.{unit}", queue=OLD_QUEUES.get(unit, "default"), payload=payload
            )
        )
    with op.batch_alter_table("task_run", schema=None) as batch_op:
        batch_op.alter_column("task_name", existing_type=sa.String(length=80), nullable=False)
        batch_op.alter_column("queue", existing_type=sa.String(length=40), nullable=False)
        batch_op.alter_column("payload", existing_type=JSON, nullable=False)
        batch_op.drop_column("unit_index")
        batch_op.drop_column("unit")
    with op.batch_alter_table("model_version", schema=None) as batch_op:
        batch_op.drop_column("error")
    op.drop_table("reference_energies")
