"""anonymization keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 12:00:00

Only the tables of spec §4.4: AnonymizationKeys (indexed on the ten value columns and imageId)
and AnonymizationKeyValues.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_INDEXED = (
    "patientName",
    "anonPatientName",
    "patientID",
    "anonPatientID",
    "studyInstanceUID",
    "anonStudyInstanceUID",
    "seriesInstanceUID",
    "anonSeriesInstanceUID",
    "sopInstanceUID",
    "anonSOPInstanceUID",
    "imageId",
)


def upgrade() -> None:
    op.create_table(
        "AnonymizationKeys",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("imageId", sa.BigInteger(), nullable=False),
        sa.Column("patientName", sa.String(length=512), nullable=False),
        sa.Column("anonPatientName", sa.String(length=512), nullable=False),
        sa.Column("patientID", sa.String(length=128), nullable=False),
        sa.Column("anonPatientID", sa.String(length=128), nullable=False),
        sa.Column("studyInstanceUID", sa.String(length=128), nullable=False),
        sa.Column("anonStudyInstanceUID", sa.String(length=128), nullable=False),
        sa.Column("seriesInstanceUID", sa.String(length=128), nullable=False),
        sa.Column("anonSeriesInstanceUID", sa.String(length=128), nullable=False),
        sa.Column("sopInstanceUID", sa.String(length=128), nullable=False),
        sa.Column("anonSOPInstanceUID", sa.String(length=128), nullable=False),
        sa.Column("dateShiftDays", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_AnonymizationKeys")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("AnonymizationKeys", schema=None) as batch_op:
        for column in _INDEXED:
            batch_op.create_index(
                batch_op.f(f"ix_AnonymizationKeys_{column}"), [column], unique=False
            )

    op.create_table(
        "AnonymizationKeyValues",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("anonymizationkeyid", _ID, nullable=False),
        sa.Column("tagpath", sa.String(length=512), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("anonymizedvalue", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["anonymizationkeyid"],
            ["AnonymizationKeys.id"],
            name=op.f("fk_AnonymizationKeyValues_anonymizationkeyid_AnonymizationKeys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_AnonymizationKeyValues")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("AnonymizationKeyValues", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_AnonymizationKeyValues_anonymizationkeyid"),
            ["anonymizationkeyid"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("AnonymizationKeyValues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_AnonymizationKeyValues_anonymizationkeyid"))
    op.drop_table("AnonymizationKeyValues")
    with op.batch_alter_table("AnonymizationKeys", schema=None) as batch_op:
        for column in reversed(_INDEXED):
            batch_op.drop_index(batch_op.f(f"ix_AnonymizationKeys_{column}"))
    op.drop_table("AnonymizationKeys")
