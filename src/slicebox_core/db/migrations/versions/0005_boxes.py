"""boxes: connections to other sliceboxes and durable transfers (spec §4.3)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "Boxes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=180), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("baseurl", sa.String(length=1024), nullable=False),
        sa.Column("sendmethod", sa.String(length=8), nullable=False),
        sa.Column("defaultprofile", sa.Text(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("last_poll", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_Boxes")),
        sa.UniqueConstraint("name", name=op.f("uq_Boxes_name")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("Boxes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_Boxes_token"), ["token"], unique=False)

    op.create_table(
        "IncomingTransactions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("boxid", sa.BigInteger(), nullable=False),
        sa.Column("boxname", sa.String(length=180), nullable=False),
        sa.Column("outgoingtransactionid", sa.BigInteger(), nullable=False),
        sa.Column("receivedimagecount", sa.BigInteger(), nullable=False),
        sa.Column("addedimagecount", sa.BigInteger(), nullable=False),
        sa.Column("totalimagecount", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_IncomingTransactions")),
        sa.UniqueConstraint(
            "boxid",
            "outgoingtransactionid",
            name=op.f("uq_IncomingTransactions_boxid_outgoingtransactionid"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "OutgoingTransactions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("boxid", sa.BigInteger(), nullable=False),
        sa.Column("boxname", sa.String(length=180), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("sentimagecount", sa.BigInteger(), nullable=False),
        sa.Column("totalimagecount", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("allow_burned_in", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_OutgoingTransactions")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("OutgoingTransactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_OutgoingTransactions_boxid"), ["boxid"], unique=False)

    op.create_table(
        "OutgoingImages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "outgoingtransactionid",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("imageid", sa.BigInteger(), nullable=False),
        sa.Column("sequencenumber", sa.BigInteger(), nullable=False),
        sa.Column("sent", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outgoingtransactionid"],
            ["OutgoingTransactions.id"],
            name=op.f("fk_OutgoingImages_outgoingtransactionid_OutgoingTransactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_OutgoingImages")),
        sa.UniqueConstraint(
            "outgoingtransactionid",
            "sequencenumber",
            name=op.f("uq_OutgoingImages_outgoingtransactionid_sequencenumber"),
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("OutgoingImages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_OutgoingImages_imageid"), ["imageid"], unique=False)

    op.create_table(
        "OutgoingTagValues",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "outgoingimageid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("tagpath", sa.String(length=512), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outgoingimageid"],
            ["OutgoingImages.id"],
            name=op.f("fk_OutgoingTagValues_outgoingimageid_OutgoingImages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_OutgoingTagValues")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("OutgoingTagValues", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_OutgoingTagValues_outgoingimageid"), ["outgoingimageid"], unique=False
        )

    op.create_table(
        "IncomingImages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "incomingtransactionid",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("imageid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("sequencenumber", sa.BigInteger(), nullable=False),
        sa.Column("overwrite", sa.Boolean(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["imageid"],
            ["Images.id"],
            name=op.f("fk_IncomingImages_imageid_Images"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incomingtransactionid"],
            ["IncomingTransactions.id"],
            name=op.f("fk_IncomingImages_incomingtransactionid_IncomingTransactions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_IncomingImages")),
        sa.UniqueConstraint(
            "incomingtransactionid",
            "sequencenumber",
            name=op.f("uq_IncomingImages_incomingtransactionid_sequencenumber"),
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("IncomingImages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_IncomingImages_imageid"), ["imageid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("IncomingImages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_IncomingImages_imageid"))

    op.drop_table("IncomingImages")
    with op.batch_alter_table("OutgoingTagValues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_OutgoingTagValues_outgoingimageid"))

    op.drop_table("OutgoingTagValues")
    with op.batch_alter_table("OutgoingImages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_OutgoingImages_imageid"))

    op.drop_table("OutgoingImages")
    with op.batch_alter_table("OutgoingTransactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_OutgoingTransactions_boxid"))

    op.drop_table("OutgoingTransactions")
    op.drop_table("IncomingTransactions")
    with op.batch_alter_table("Boxes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_Boxes_token"))

    op.drop_table("Boxes")
