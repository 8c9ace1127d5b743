"""safety wired to the record: plan status, vial dilution in the record, acknowledgements, fillers

- ``plans.status`` (``draft`` | ``ready``): existing plans whose stored check blocked become
  ``draft``, the others ``ready``.
- ``treatments.vial_units`` / ``diluent_ml``: the reconstitution the volumes were drawn at, and
  ``treatment_injections.volume_ml``; existing rows are filled from their vial.
- ``treatments.acknowledgements``: acknowledgements with reasons of alerts and adverse events.
- ``ix_treatments_lot`` for the lot recall list.
- Hyaluronic-acid filler: ``filler_syringes`` (inventory), ``filler_treatments``, ``filler_sites``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:30:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("status", sa.String(length=10), nullable=False, server_default="ready"))
    conn = op.get_bind()
    plans = sa.table("plans", sa.column("id", sa.Integer), sa.column("check", sa.JSON), sa.column("status"))
    for pid, check in conn.execute(sa.select(plans.c.id, plans.c.check)).all():
        data = json.loads(check) if isinstance(check, str) else check
        if isinstance(data, dict) and data.get("blocking"):
            conn.execute(sa.update(plans).where(plans.c.id == pid).values(status="draft"))
    with op.batch_alter_table("treatments") as batch:
        batch.add_column(sa.Column("vial_units", sa.Float(), nullable=True))
        batch.add_column(sa.Column("diluent_ml", sa.Float(), nullable=True))
        batch.add_column(sa.Column("acknowledgements", sa.JSON(), nullable=False, server_default="[]"))
        batch.create_index("ix_treatments_lot", ["lot"])
    with op.batch_alter_table("treatment_injections") as batch:
        batch.add_column(sa.Column("volume_ml", sa.Float(), nullable=True))
    vial = "SELECT {col} FROM vials WHERE vials.id = treatments.vial_id"
    conn.execute(
        sa.text(
            f"UPDATE treatments SET vial_units = ({vial.format(col='vial_units')}), "
            f"diluent_ml = ({vial.format(col='diluent_ml')})"
        )
    )
    conn.execute(
        sa.text(
            "UPDATE treatment_injections SET volume_ml = units * "
            "(SELECT t.diluent_ml / t.vial_units FROM treatments t "
            "WHERE t.id = treatment_injections.treatment_id)"
        )
    )
    op.create_table(
        "filler_syringes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("lot", sa.String(length=60), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.Column("syringe_ml", sa.Float(), nullable=False),
        sa.Column("ml_left", sa.Float(), nullable=False),
        sa.Column("discarded", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("ml_left >= 0", name="ck_filler_syringes_ml_left"),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_filler_syringes_clinic_id", "filler_syringes", ["clinic_id"])
    op.create_table(
        "filler_treatments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("syringe_id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("performed_at", sa.DateTime(), nullable=False),
        sa.Column("product", sa.String(length=100), nullable=False),
        sa.Column("lot", sa.String(length=60), nullable=False),
        sa.Column("expiry", sa.Date(), nullable=False),
        sa.Column("syringe_ml", sa.Float(), nullable=False),
        sa.Column("volume_ml", sa.Float(), nullable=False),
        sa.Column("technique", sa.String(length=10), nullable=False),
        sa.Column("hyaluronidase_on_hand", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("technique IN ('needle','cannula')", name="ck_filler_technique"),
        sa.ForeignKeyConstraint(["clinician_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.ForeignKeyConstraint(["syringe_id"], ["filler_syringes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_filler_treatments_patient_id", "filler_treatments", ["patient_id"])
    op.create_index("ix_filler_treatments_lot", "filler_treatments", ["lot"])
    op.create_table(
        "filler_sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("treatment_id", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(length=40), nullable=False),
        sa.Column("plane", sa.String(length=30), nullable=False),
        sa.Column("volume_ml", sa.Float(), nullable=False),
        sa.CheckConstraint("volume_ml > 0", name="ck_filler_site_volume"),
        sa.ForeignKeyConstraint(["treatment_id"], ["filler_treatments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_filler_sites_treatment_id", "filler_sites", ["treatment_id"])


def downgrade() -> None:
    op.drop_index("ix_filler_sites_treatment_id", table_name="filler_sites")
    op.drop_table("filler_sites")
    op.drop_index("ix_filler_treatments_lot", table_name="filler_treatments")
    op.drop_index("ix_filler_treatments_patient_id", table_name="filler_treatments")
    op.drop_table("filler_treatments")
    op.drop_index("ix_filler_syringes_clinic_id", table_name="filler_syringes")
    op.drop_table("filler_syringes")
    with op.batch_alter_table("treatment_injections") as batch:
        batch.drop_column("volume_ml")
    with op.batch_alter_table("treatments") as batch:
        batch.drop_index("ix_treatments_lot")
        batch.drop_column("acknowledgements")
        batch.drop_column("diluent_ml")
        batch.drop_column("vial_units")
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("status")
