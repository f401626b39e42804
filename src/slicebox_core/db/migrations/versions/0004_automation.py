"""automation: series-type rules, tag filters, import sessions, directory watches, outbox

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "DirectoryWatchData",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=180), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_DirectoryWatchData")),
        sa.UniqueConstraint("path", name=op.f("uq_DirectoryWatchData_path")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "ImportSessions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=180), nullable=False),
        sa.Column("userid", sa.BigInteger(), nullable=False),
        sa.Column("user", sa.String(length=180), nullable=False),
        sa.Column("filesimported", sa.BigInteger(), nullable=False),
        sa.Column("filesadded", sa.BigInteger(), nullable=False),
        sa.Column("filesrejected", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("lastupdated", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ImportSessions")),
        sa.UniqueConstraint("name", name=op.f("uq_ImportSessions_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "TagFilters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=180), nullable=False),
        sa.Column("tagfiltertype", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_TagFilters")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "WorkItems",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("available_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_WorkItems")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_WorkItems_kind_key")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("WorkItems", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_WorkItems_kind_available_at"), ["kind", "available_at"], unique=False
        )

    op.create_table(
        "SeriesTypeRules",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "seriestypeid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["seriestypeid"],
            ["SeriesTypes.id"],
            name=op.f("fk_SeriesTypeRules_seriestypeid_SeriesTypes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_SeriesTypeRules")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("SeriesTypeRules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_SeriesTypeRules_seriestypeid"), ["seriestypeid"], unique=False
        )

    op.create_table(
        "SourceTagFilters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sourcetype", sa.String(length=64), nullable=False),
        sa.Column("sourcename", sa.String(), nullable=False),
        sa.Column("sourceid", sa.BigInteger(), nullable=False),
        sa.Column(
            "tagfilterid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("tagfiltername", sa.String(length=180), nullable=False),
        sa.ForeignKeyConstraint(
            ["tagfilterid"],
            ["TagFilters.id"],
            name=op.f("fk_SourceTagFilters_tagfilterid_TagFilters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_SourceTagFilters")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("SourceTagFilters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_SourceTagFilters_sourcetype_sourceid"),
            ["sourcetype", "sourceid"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_SourceTagFilters_tagfilterid"), ["tagfilterid"], unique=False
        )

    op.create_table(
        "TagPaths",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "tagfilterid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("tagpath", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tagfilterid"],
            ["TagFilters.id"],
            name=op.f("fk_TagPaths_tagfilterid_TagFilters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_TagPaths")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("TagPaths", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_TagPaths_tagfilterid"), ["tagfilterid"], unique=False)

    op.create_table(
        "SeriesTypeRuleAttributes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "seriestyperuleid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("tag", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=180), nullable=False),
        sa.Column("tagpath", sa.String(length=512), nullable=True),
        sa.Column("namepath", sa.String(length=1024), nullable=True),
        sa.Column("values", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["seriestyperuleid"],
            ["SeriesTypeRules.id"],
            name=op.f("fk_SeriesTypeRuleAttributes_seriestyperuleid_SeriesTypeRules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_SeriesTypeRuleAttributes")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("SeriesTypeRuleAttributes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_SeriesTypeRuleAttributes_seriestyperuleid"),
            ["seriestyperuleid"],
            unique=False,
        )

    op.create_table(
        "ImportSessionImages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "importsessionid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("imageid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["imageid"],
            ["Images.id"],
            name=op.f("fk_ImportSessionImages_imageid_Images"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["importsessionid"],
            ["ImportSessions.id"],
            name=op.f("fk_ImportSessionImages_importsessionid_ImportSessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ImportSessionImages")),
        sa.UniqueConstraint(
            "importsessionid",
            "imageid",
            name=op.f("uq_ImportSessionImages_importsessionid_imageid"),
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("ImportSessionImages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ImportSessionImages_imageid"), ["imageid"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ImportSessionImages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ImportSessionImages_imageid"))

    op.drop_table("ImportSessionImages")
    with op.batch_alter_table("SeriesTypeRuleAttributes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_SeriesTypeRuleAttributes_seriestyperuleid"))

    op.drop_table("SeriesTypeRuleAttributes")
    with op.batch_alter_table("TagPaths", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_TagPaths_tagfilterid"))

    op.drop_table("TagPaths")
    with op.batch_alter_table("SourceTagFilters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_SourceTagFilters_tagfilterid"))
        batch_op.drop_index(batch_op.f("ix_SourceTagFilters_sourcetype_sourceid"))

    op.drop_table("SourceTagFilters")
    with op.batch_alter_table("SeriesTypeRules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_SeriesTypeRules_seriestypeid"))

    op.drop_table("SeriesTypeRules")
    with op.batch_alter_table("WorkItems", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_WorkItems_kind_available_at"))

    op.drop_table("WorkItems")
    op.drop_table("TagFilters")
    op.drop_table("ImportSessions")
    op.drop_table("DirectoryWatchData")
