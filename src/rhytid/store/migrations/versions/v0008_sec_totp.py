"""TOTP second factor

- ``user_totp``: a user's TOTP secret (RFC 6238), when it was confirmed, the time step of the last
  accepted code (no replay) and the SHA-256 hashes of the unused recovery codes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_totp",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("recovery_hashes", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_totp")
