"""SQLAlchemy 2 tables. Names follow the original (spec §4): they are what ``orderby`` and
``propertyName`` accept, so they stay wire-compatible. ORM rows never leave a service.

Integer primary keys use AUTOINCREMENT on SQLite so an id is never reused: stored files and
anonymization keys refer to image ids.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _pk() -> Mapped[int]:
    return mapped_column(Id, primary_key=True, autoincrement=True)


AUTOINC = {"sqlite_autoincrement": True}


class PatientRow(Base):
    __tablename__ = "Patients"
    __table_args__ = (
        UniqueConstraint("patientName", "patientID"),
        Index(None, "patientID"),
        AUTOINC,
    )
    id: Mapped[int] = _pk()
    patientName: Mapped[str] = mapped_column(String(512), index=True)
    patientID: Mapped[str] = mapped_column(String(512))
    patientBirthDate: Mapped[str] = mapped_column(String)
    patientSex: Mapped[str] = mapped_column(String)


class StudyRow(Base):
    __tablename__ = "Studies"
    __table_args__ = (
        UniqueConstraint("patientId", "studyInstanceUID"),
        Index(None, "studyInstanceUID"),
        AUTOINC,
    )
    id: Mapped[int] = _pk()
    patientId: Mapped[int] = mapped_column(Id, ForeignKey("Patients.id", ondelete="CASCADE"))
    studyInstanceUID: Mapped[str] = mapped_column(String(512))
    studyDescription: Mapped[str] = mapped_column(String)
    studyDate: Mapped[str] = mapped_column(String)
    studyID: Mapped[str] = mapped_column(String)
    accessionNumber: Mapped[str] = mapped_column(String)
    patientAge: Mapped[str] = mapped_column(String)


class SeriesRow(Base):
    __tablename__ = "Series"
    __table_args__ = (
        UniqueConstraint("studyId", "seriesInstanceUID"),
        Index(None, "seriesInstanceUID"),
        AUTOINC,
    )
    id: Mapped[int] = _pk()
    studyId: Mapped[int] = mapped_column(Id, ForeignKey("Studies.id", ondelete="CASCADE"))
    seriesInstanceUID: Mapped[str] = mapped_column(String(512))
    seriesDescription: Mapped[str] = mapped_column(String)
    seriesDate: Mapped[str] = mapped_column(String)
    modality: Mapped[str] = mapped_column(String)
    protocolName: Mapped[str] = mapped_column(String)
    bodyPartExamined: Mapped[str] = mapped_column(String)
    manufacturer: Mapped[str] = mapped_column(String)
    stationName: Mapped[str] = mapped_column(String)
    frameOfReferenceUID: Mapped[str] = mapped_column(String)


class ImageRow(Base):
    __tablename__ = "Images"
    __table_args__ = (
        UniqueConstraint("seriesId", "sopInstanceUID"),
        Index(None, "sopInstanceUID"),
        AUTOINC,
    )
    id: Mapped[int] = _pk()
    seriesId: Mapped[int] = mapped_column(Id, ForeignKey("Series.id", ondelete="CASCADE"))
    sopInstanceUID: Mapped[str] = mapped_column(String(512))
    imageType: Mapped[str] = mapped_column(String)
    instanceNumber: Mapped[str] = mapped_column(String)
    # not part of the original's table; never offered to orderby/propertyName
    storageKey: Mapped[str] = mapped_column(String(256), unique=True)
    sizeBytes: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    sopClassUID: Mapped[str] = mapped_column(String(128), default="")
    transferSyntaxUID: Mapped[str] = mapped_column(String(128), default="")


class SeriesSourceRow(Base):
    __tablename__ = "SeriesSources"
    __table_args__ = (Index(None, "sourcetype", "sourceid"),)
    id: Mapped[int] = mapped_column(
        Id, ForeignKey("Series.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    sourcetype: Mapped[str] = mapped_column(String(64))
    sourcename: Mapped[str] = mapped_column(String)
    sourceid: Mapped[int] = mapped_column(BigInteger)


class SeriesTagRow(Base):
    __tablename__ = "SeriesTags"
    __table_args__ = (AUTOINC,)
    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(String(180), unique=True)


class SeriesSeriesTagRow(Base):
    __tablename__ = "SeriesSeriesTags"
    __table_args__ = (Index(None, "seriestagid"),)
    seriesid: Mapped[int] = mapped_column(
        Id, ForeignKey("Series.id", ondelete="CASCADE"), primary_key=True
    )
    seriestagid: Mapped[int] = mapped_column(
        Id, ForeignKey("SeriesTags.id", ondelete="CASCADE"), primary_key=True
    )


class SeriesTypeRow(Base):
    __tablename__ = "SeriesTypes"
    __table_args__ = (AUTOINC,)
    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(String(180), unique=True)


class SeriesSeriesTypeRow(Base):
    __tablename__ = "SeriesSeriesTypes"
    __table_args__ = (Index(None, "seriestypeid"),)
    # spec §4.2 has no FK to Series; we add one (cascade) so assignments never outlive series
    seriesid: Mapped[int] = mapped_column(
        Id, ForeignKey("Series.id", ondelete="CASCADE"), primary_key=True
    )
    seriestypeid: Mapped[int] = mapped_column(
        Id, ForeignKey("SeriesTypes.id", ondelete="CASCADE"), primary_key=True
    )


class UserRow(Base):
    __tablename__ = "Users"
    __table_args__ = (AUTOINC,)
    id: Mapped[int] = _pk()
    user: Mapped[str] = mapped_column(String(180), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    password: Mapped[str] = mapped_column(String(256))  # a password hash, never the password


class ApiSessionRow(Base):
    __tablename__ = "ApiSessions"
    __table_args__ = (UniqueConstraint("token"), Index(None, "userid"), AUTOINC)
    id: Mapped[int] = _pk()
    userid: Mapped[int] = mapped_column(Id, ForeignKey("Users.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    useragent: Mapped[str] = mapped_column(String(64))
    updated: Mapped[int] = mapped_column(BigInteger)


class LogRow(Base):
    __tablename__ = "Log"
    __table_args__ = (Index(None, "created"), Index(None, "subject"), AUTOINC)
    id: Mapped[int] = _pk()
    created: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(180))
    message: Mapped[str] = mapped_column(Text)


class ExportSetRow(Base):
    """A zip export set (spec §3.3): in the index, so every server process can serve it."""

    __tablename__ = "ExportSets"
    __table_args__ = (AUTOINC,)
    id: Mapped[int] = _pk()
    created: Mapped[int] = mapped_column(BigInteger, index=True)
    imageids: Mapped[str] = mapped_column(Text)  # JSON list of image ids


class SettingRow(Base):
    """Small persistent key/value facts of an installation (e.g. schema notes)."""

    __tablename__ = "Settings"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
