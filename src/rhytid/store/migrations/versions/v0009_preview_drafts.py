"""planner drafts

- ``plan_drafts``: the planner's working copy of a plan per patient and clinician, saved as it is
  edited, so that leaving the page or reloading it keeps the plan.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 04:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("patient_id", "user_id", name="uq_plan_drafts_patient_user"),
    )
    op.create_index("ix_plan_drafts_patient_id", "plan_drafts", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_plan_drafts_patient_id", table_name="plan_drafts")
    op.drop_table("plan_drafts")
