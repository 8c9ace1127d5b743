"""consent withdrawals

- ``consent_withdrawals``: a patient's withdrawal of a signed consent, recorded by staff with the
  reason; the signed ``consents`` row is never changed, and a withdrawn consent no longer counts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["consent_id"], ["consents.id"]),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("consent_id"),
    )
    op.create_index("ix_consent_withdrawals_patient_id", "consent_withdrawals", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_consent_withdrawals_patient_id", table_name="consent_withdrawals")
    op.drop_table("consent_withdrawals")
