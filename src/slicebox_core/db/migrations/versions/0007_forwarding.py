"""forwarding: rules, batches and their images (spec §4.6)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ForwardingRules",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("sourcetype", sa.String(length=64), nullable=False),
        sa.Column("sourcename", sa.String(length=512), nullable=False),
        sa.Column("sourceid", sa.BigInteger(), nullable=False),
        sa.Column("destinationtype", sa.String(length=64), nullable=False),
        sa.Column("destinationname", sa.String(length=512), nullable=False),
        sa.Column("destinationid", sa.BigInteger(), nullable=False),
        sa.Column("keepimages", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ForwardingRules")),
        sa.UniqueConstraint(
            "sourcetype",
            "sourceid",
            "destinationtype",
            "destinationid",
            name=op.f("uq_ForwardingRules_sourcetype_sourceid_destinationtype_destinationid"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "ForwardingTransactions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("forwardingruleid", ID, nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("enroute", sa.Boolean(), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("open_rule_id", sa.BigInteger(), nullable=True),
        sa.Column("outgoingtransactionid", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["forwardingruleid"],
            ["ForwardingRules.id"],
            name=op.f("fk_ForwardingTransactions_forwardingruleid_ForwardingRules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ForwardingTransactions")),
        sa.UniqueConstraint("open_rule_id", name=op.f("uq_ForwardingTransactions_open_rule_id")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("ForwardingTransactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ForwardingTransactions_forwardingruleid"),
            ["forwardingruleid"],
            unique=False,
        )
    op.create_table(
        "ForwardingTransactionImages",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("forwardingtransactionid", ID, nullable=False),
        sa.Column("imageid", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["forwardingtransactionid"],
            ["ForwardingTransactions.id"],
            name=op.f(
                "fk_ForwardingTransactionImages_forwardingtransactionid_ForwardingTransactions"
            ),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["imageid"],
            ["Images.id"],
            name=op.f("fk_ForwardingTransactionImages_imageid_Images"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ForwardingTransactionImages")),
        sa.UniqueConstraint(
            "forwardingtransactionid",
            "imageid",
            name=op.f("uq_ForwardingTransactionImages_forwardingtransactionid_imageid"),
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("ForwardingTransactionImages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ForwardingTransactionImages_imageid"), ["imageid"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ForwardingTransactionImages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ForwardingTransactionImages_imageid"))
    op.drop_table("ForwardingTransactionImages")
    with op.batch_alter_table("ForwardingTransactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ForwardingTransactions_forwardingruleid"))
    op.drop_table("ForwardingTransactions")
    op.drop_table("ForwardingRules")
