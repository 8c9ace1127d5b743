"""clinic time zone; indexes for patient lists and the audit log

Each clinic gets an IANA time zone (existing clinics: ``UTC``, which is how their times were shown
until now), so that vial and appointment times are entered and shown in clinic-local time while
stored in UTC. Patient lists (clinic, family name, given name) and the audit log by user get indexes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 18:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC"))
    op.create_index("ix_patients_clinic_name", "patients", ["clinic_id", "family_name", "given_name"])
    op.create_index("ix_audit_log_user_id", "audit_log", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_user_id", table_name="audit_log")
    op.drop_index("ix_patients_clinic_name", table_name="patients")
    with op.batch_alter_table("clinics") as batch:
        batch.drop_column("time_zone")
