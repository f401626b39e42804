"""login attempts: failed password checks, for rate limiting across processes

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "LoginAttempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_LoginAttempts")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_LoginAttempts_key_created"), "LoginAttempts", ["key", "created"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_LoginAttempts_key_created"), table_name="LoginAttempts")
    op.drop_table("LoginAttempts")
