"""schedule: appointment statuses with a cancellation reason; clinicians' working hours

Appointments get ``cancel_reason`` (why it was cancelled, required from now on when cancelling)
and ``status_at`` (when the status last changed); their status is one of booked, arrived, done,
no_show, cancelled (a check constraint; no stored row used any other value). Each clinician may
have working hours per weekday (clinic-local minutes from midnight); a clinician who has any is
booked only within them. Photos get the standard ``view`` they show (frontal at rest, frowning, …;
empty for photos stored before), so that before/after pairs compare like with like.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("status_at", sa.DateTime(), nullable=True))
        batch.create_check_constraint(
            "ck_appt_status", "status IN ('booked','arrived','done','no_show','cancelled')"
        )
    with op.batch_alter_table("photos") as batch:
        batch.add_column(sa.Column("view", sa.String(length=30), nullable=True))
    op.create_table(
        "working_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("starts_min", sa.Integer(), nullable=False),
        sa.Column("ends_min", sa.Integer(), nullable=False),
        sa.CheckConstraint("weekday >= 0 AND weekday <= 6", name="ck_hours_weekday"),
        sa.CheckConstraint(
            "starts_min >= 0 AND ends_min <= 1440 AND starts_min < ends_min", name="ck_hours_span"
        ),
        sa.ForeignKeyConstraint(["clinician_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("clinician_id", "weekday", name="uq_hours_day"),
    )
    op.create_index("ix_working_hours_clinician_id", "working_hours", ["clinician_id"])


def downgrade() -> None:
    op.drop_index("ix_working_hours_clinician_id", table_name="working_hours")
    op.drop_table("working_hours")
    with op.batch_alter_table("photos") as batch:
        batch.drop_column("view")
    with op.batch_alter_table("appointments") as batch:
        batch.drop_constraint("ck_appt_status", type_="check")
        batch.drop_column("status_at")
        batch.drop_column("cancel_reason")
