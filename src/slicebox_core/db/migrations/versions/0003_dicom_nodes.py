"""DICOM network nodes: SCPs and SCUs (spec §4.5)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ScpData",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=180), nullable=False),
        sa.Column("aeTitle", sa.String(length=64), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ScpData")),
        sa.UniqueConstraint("name", name=op.f("uq_ScpData_name")),
        sa.UniqueConstraint("port", name=op.f("uq_ScpData_port")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "ScuData",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=180), nullable=False),
        sa.Column("aeTitle", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ScuData")),
        sa.UniqueConstraint("host", "port", name=op.f("uq_ScuData_host_port")),
        sa.UniqueConstraint("name", name=op.f("uq_ScuData_name")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("ScuData")
    op.drop_table("ScpData")
