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
    # lower-cased patient, study and series text of this series, for the flat-series filter
    # (one LIKE on one table instead of 17 ILIKEs over a join); never offered to orderby
    searchText: Mapped[str] = mapped_column(Text, default="")


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


# --- automation: series-type rules, tag filters, import sessions, directory watches, outbox ---
# (spec §4.2, §4.5, §4.7, §4.8; migration 0004)


class SeriesTypeRuleRow(Base):
    """A conjunction of attributes; a series type is the disjunction of its rules (§4.2)."""

    __tablename__ = "SeriesTypeRules"
    __table_args__ = (AUTOINC,)
    id: Mapped[int] = _pk()
    seriestypeid: Mapped[int] = mapped_column(
        Id, ForeignKey("SeriesTypes.id", ondelete="CASCADE"), index=True
    )


class SeriesTypeRuleAttributeRow(Base):
    __tablename__ = "SeriesTypeRuleAttributes"
    __table_args__ = (AUTOINC,)
    id: Mapped[int] = _pk()
    seriestyperuleid: Mapped[int] = mapped_column(
        Id, ForeignKey("SeriesTypeRules.id", ondelete="CASCADE"), index=True
    )
    tag: Mapped[int] = mapped_column(BigInteger)  # tags reach 0xFFFFFFFF: not an int32
    name: Mapped[str] = mapped_column(String(180))
    tagpath: Mapped[str | None] = mapped_column(String(512), nullable=True)
    namepath: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    values: Mapped[str] = mapped_column(Text)


class TagFilterRow(Base):
    __tablename__ = "TagFilters"
    __table_args__ = (AUTOINC,)
    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(String(180))
    tagfiltertype: Mapped[str] = mapped_column(String(16))


class TagFilterPathRow(Base):
    __tablename__ = "TagPaths"
    __table_args__ = (AUTOINC,)
    id: Mapped[int] = _pk()
    tagfilterid: Mapped[int] = mapped_column(
        Id, ForeignKey("TagFilters.id", ondelete="CASCADE"), index=True
    )
    tagpath: Mapped[str] = mapped_column(Text)  # textual tag tree, e.g. (0008,1140)[*].(0008,1155)


class SourceTagFilterRow(Base):
    __tablename__ = "SourceTagFilters"
    __table_args__ = (Index(None, "sourcetype", "sourceid"), AUTOINC)
    id: Mapped[int] = _pk()
    sourcetype: Mapped[str] = mapped_column(String(64))
    sourcename: Mapped[str] = mapped_column(String)
    sourceid: Mapped[int] = mapped_column(BigInteger)
    tagfilterid: Mapped[int] = mapped_column(
        Id, ForeignKey("TagFilters.id", ondelete="CASCADE"), index=True
    )
    tagfiltername: Mapped[str] = mapped_column(String(180))


class ImportSessionRow(Base):
    __tablename__ = "ImportSessions"
    __table_args__ = (AUTOINC,)
    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(String(180), unique=True)
    userid: Mapped[int] = mapped_column(BigInteger)
    user: Mapped[str] = mapped_column(String(180))
    filesimported: Mapped[int] = mapped_column(BigInteger, default=0)
    filesadded: Mapped[int] = mapped_column(BigInteger, default=0)
    filesrejected: Mapped[int] = mapped_column(BigInteger, default=0)
    created: Mapped[int] = mapped_column(BigInteger)
    lastupdated: Mapped[int] = mapped_column(BigInteger)


class ImportSessionImageRow(Base):
    __tablename__ = "ImportSessionImages"
    __table_args__ = (UniqueConstraint("importsessionid", "imageid"), AUTOINC)
    id: Mapped[int] = _pk()
    importsessionid: Mapped[int] = mapped_column(
        Id, ForeignKey("ImportSessions.id", ondelete="CASCADE")
    )
    # spec §4.8 has no FK to Images; the cascade drops links of deleted images
    imageid: Mapped[int] = mapped_column(
        Id, ForeignKey("Images.id", ondelete="CASCADE"), index=True
    )


class DirectoryWatchRow(Base):
    __tablename__ = "DirectoryWatchData"
    __table_args__ = (AUTOINC,)
    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(String(180))
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    # not in the original: the worker process watching it holds a renewable lease
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class WorkItemRow(Base):
    """The outbox: work that must survive a crash, written in the transaction that caused it.

    ``(kind, key)`` is unique so that repeated requests for the same work coalesce; a request
    arriving while the item is being processed bumps ``generation`` so it runs again.
    """

    __tablename__ = "WorkItems"
    __table_args__ = (
        UniqueConstraint("kind", "key"),
        Index(None, "kind", "available_at"),
        AUTOINC,
    )
    id: Mapped[int] = _pk()
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(256))
    payload: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[int] = mapped_column(BigInteger)
    available_at: Mapped[int] = mapped_column(BigInteger)
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")


class AnonymizationKeyRow(Base):
    """One recorded anonymization of one image (spec §4.4); names follow the original.

    ``imageId`` is the real image's id and not a foreign key (keys outlive images unless
    purged, spec §5.4.9). ``dateShiftDays`` (not in the original) keeps the per-patient date
    shift of the Modified Dates option.
    """

    __tablename__ = "AnonymizationKeys"
    __table_args__ = (
        Index(None, "patientName"),
        Index(None, "anonPatientName"),
        Index(None, "patientID"),
        Index(None, "anonPatientID"),
        Index(None, "studyInstanceUID"),
        Index(None, "anonStudyInstanceUID"),
        Index(None, "seriesInstanceUID"),
        Index(None, "anonSeriesInstanceUID"),
        Index(None, "sopInstanceUID"),
        Index(None, "anonSOPInstanceUID"),
        Index(None, "imageId"),
        AUTOINC,
    )
    id: Mapped[int] = _pk()
    created: Mapped[int] = mapped_column(BigInteger)
    imageId: Mapped[int] = mapped_column(BigInteger)
    patientName: Mapped[str] = mapped_column(String(512))
    anonPatientName: Mapped[str] = mapped_column(String(512))
    patientID: Mapped[str] = mapped_column(String(128))
    anonPatientID: Mapped[str] = mapped_column(String(128))
    studyInstanceUID: Mapped[str] = mapped_column(String(128))
    anonStudyInstanceUID: Mapped[str] = mapped_column(String(128))
    seriesInstanceUID: Mapped[str] = mapped_column(String(128))
    anonSeriesInstanceUID: Mapped[str] = mapped_column(String(128))
    sopInstanceUID: Mapped[str] = mapped_column(String(128))
    anonSOPInstanceUID: Mapped[str] = mapped_column(String(128))
    dateShiftDays: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AnonymizationKeyValueRow(Base):
    """An extra key attribute of a key (spec §4.4): real and anonymized value at a tag path."""

    __tablename__ = "AnonymizationKeyValues"
    __table_args__ = (Index(None, "anonymizationkeyid"), AUTOINC)
    id: Mapped[int] = _pk()
    anonymizationkeyid: Mapped[int] = mapped_column(
        Id, ForeignKey("AnonymizationKeys.id", ondelete="CASCADE")
    )
    tagpath: Mapped[str] = mapped_column(String(512))
    value: Mapped[str] = mapped_column(Text)
    anonymizedvalue: Mapped[str] = mapped_column(Text)


# --- DICOM network nodes (spec §4.5; migration 0003) ---


class ScpDataRow(Base):
    """A DICOM listener (spec §3.10). ``aeTitle`` as submitted; ports are unique."""

    __tablename__ = "ScpData"
    __table_args__ = (AUTOINC,)
    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(String(180), unique=True)
    aeTitle: Mapped[str] = mapped_column(String(64))
    port: Mapped[int] = mapped_column(Integer, unique=True)


class ScuDataRow(Base):
    """A remote DICOM node (spec §3.11); ``(host, port)`` is unique."""

    __tablename__ = "ScuData"
    __table_args__ = (UniqueConstraint("host", "port"), AUTOINC)
    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(String(180), unique=True)
    aeTitle: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)


class LoginAttemptRow(Base):
    """A failed password check, kept for a while to rate-limit logins across processes.

    ``key`` is ``"user:"`` or ``"client:"`` followed by the SHA-256 of the user name or the
    client address: an attempted name may be a password typed into the wrong field.
    """

    __tablename__ = "LoginAttempts"
    __table_args__ = (Index(None, "key", "created"), AUTOINC)
    id: Mapped[int] = _pk()
    key: Mapped[str] = mapped_column(String(80))
    created: Mapped[int] = mapped_column(BigInteger)


# --- boxes and transfers (spec §4.3; migration 0005) ---


class BoxRow(Base):
    """A connection to another slicebox (spec §4.3). ``last_poll`` (not in the original):
    epoch ms of the remote's last poll of a POLL box, kept here rather than in memory so every
    process agrees on the box's online status."""

    __tablename__ = "Boxes"
    __table_args__ = (Index(None, "token"), AUTOINC)
    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(String(180), unique=True)
    token: Mapped[str] = mapped_column(String(64))
    baseurl: Mapped[str] = mapped_column(String(1024))
    sendmethod: Mapped[str] = mapped_column(String(8))
    defaultprofile: Mapped[str] = mapped_column(Text)
    online: Mapped[bool] = mapped_column(Boolean)
    last_poll: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class OutgoingTransactionRow(Base):
    """Images queued for a box (spec §4.3); kept when the box is deleted. ``allow_burned_in``
    (not in the original): the send's ``allowBurnedInAnnotations``."""

    __tablename__ = "OutgoingTransactions"
    __table_args__ = (Index(None, "boxid"), AUTOINC)
    id: Mapped[int] = _pk()
    boxid: Mapped[int] = mapped_column(BigInteger)
    boxname: Mapped[str] = mapped_column(String(180))
    profile: Mapped[str] = mapped_column(Text)
    sentimagecount: Mapped[int] = mapped_column(BigInteger)
    totalimagecount: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[int] = mapped_column(BigInteger)
    updated: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    allow_burned_in: Mapped[bool] = mapped_column(Boolean, default=False)


class OutgoingImageRow(Base):
    """One image of an outgoing transaction, and the durable state of its transfer.

    ``imageid`` is not a foreign key: send does not validate ids (spec §3.8), and deleting an
    image removes the row through ``ImagesDeleted``. The columns after ``sent`` are not in the
    original: a worker (or a remote poller) claims the row until ``lease_until``;
    ``attempts``, ``next_attempt_at`` and ``last_error`` drive retries with back-off.
    """

    __tablename__ = "OutgoingImages"
    __table_args__ = (
        UniqueConstraint("outgoingtransactionid", "sequencenumber"),
        Index(None, "imageid"),
        AUTOINC,
    )
    id: Mapped[int] = _pk()
    outgoingtransactionid: Mapped[int] = mapped_column(
        Id, ForeignKey("OutgoingTransactions.id", ondelete="CASCADE")
    )
    imageid: Mapped[int] = mapped_column(BigInteger)
    sequencenumber: Mapped[int] = mapped_column(BigInteger)
    sent: Mapped[bool] = mapped_column(Boolean)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class OutgoingTagValueRow(Base):
    """A value set in one outgoing image when it is anonymized (spec §5.4.4)."""

    __tablename__ = "OutgoingTagValues"
    __table_args__ = (Index(None, "outgoingimageid"), AUTOINC)
    id: Mapped[int] = _pk()
    outgoingimageid: Mapped[int] = mapped_column(
        Id, ForeignKey("OutgoingImages.id", ondelete="CASCADE")
    )
    tagpath: Mapped[str] = mapped_column(String(512))
    value: Mapped[str] = mapped_column(Text)


class IncomingTransactionRow(Base):
    """Images received from a box, identified by (box, sender's transaction id)."""

    __tablename__ = "IncomingTransactions"
    __table_args__ = (UniqueConstraint("boxid", "outgoingtransactionid"), AUTOINC)
    id: Mapped[int] = _pk()
    boxid: Mapped[int] = mapped_column(BigInteger)
    boxname: Mapped[str] = mapped_column(String(180))
    outgoingtransactionid: Mapped[int] = mapped_column(BigInteger)
    receivedimagecount: Mapped[int] = mapped_column(BigInteger)
    addedimagecount: Mapped[int] = mapped_column(BigInteger)
    totalimagecount: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[int] = mapped_column(BigInteger)
    updated: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))


class IncomingImageRow(Base):
    """One received sequence number of an incoming transaction: what makes a re-delivery
    recognisable. ``imageid`` is null for a rejected image; ``sha256`` (not in the original)
    is the digest the sender announced and the receiver verified, or empty."""

    __tablename__ = "IncomingImages"
    __table_args__ = (
        UniqueConstraint("incomingtransactionid", "sequencenumber"),
        Index(None, "imageid"),
        AUTOINC,
    )
    id: Mapped[int] = _pk()
    incomingtransactionid: Mapped[int] = mapped_column(
        Id, ForeignKey("IncomingTransactions.id", ondelete="CASCADE")
    )
    imageid: Mapped[int | None] = mapped_column(
        Id, ForeignKey("Images.id", ondelete="CASCADE"), nullable=True
    )
    sequencenumber: Mapped[int] = mapped_column(BigInteger)
    overwrite: Mapped[bool] = mapped_column(Boolean)
    sha256: Mapped[str] = mapped_column(String(64), default="")


# --- forwarding (spec §4.6; migration 0007) ---


class ForwardingRuleRow(Base):
    """Images from a source are sent on to a destination (spec §4.6)."""

    __tablename__ = "ForwardingRules"
    __table_args__ = (
        UniqueConstraint("sourcetype", "sourceid", "destinationtype", "destinationid"),
        AUTOINC,
    )
    id: Mapped[int] = _pk()
    sourcetype: Mapped[str] = mapped_column(String(64))
    sourcename: Mapped[str] = mapped_column(String(512))
    sourceid: Mapped[int] = mapped_column(BigInteger)
    destinationtype: Mapped[str] = mapped_column(String(64))
    destinationname: Mapped[str] = mapped_column(String(512))
    destinationid: Mapped[int] = mapped_column(BigInteger)
    keepimages: Mapped[bool] = mapped_column(Boolean)


class ForwardingTransactionRow(Base):
    """A batch of one rule's images (spec §4.6), and the durable state of its delivery.

    Not in the original: ``open_rule_id`` is the rule's id while the batch is *fresh* (still
    collecting images) and NULL once it was dispatched; being unique, it makes "the rule's
    fresh batch, or a new one" a single ``INSERT ... ON CONFLICT``. ``outgoingtransactionid``
    is the box transaction a batch became (set in the transaction that created it, so a batch
    is queued for a box once). A worker claims a batch until ``lease_until``; ``attempts``,
    ``next_attempt_at`` and ``last_error`` drive retries with back-off.
    """

    __tablename__ = "ForwardingTransactions"
    __table_args__ = (Index(None, "forwardingruleid"), AUTOINC)
    id: Mapped[int] = _pk()
    forwardingruleid: Mapped[int] = mapped_column(
        Id, ForeignKey("ForwardingRules.id", ondelete="CASCADE")
    )
    created: Mapped[int] = mapped_column(BigInteger)
    updated: Mapped[int] = mapped_column(BigInteger)
    enroute: Mapped[bool] = mapped_column(Boolean)
    delivered: Mapped[bool] = mapped_column(Boolean)
    open_rule_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, unique=True)
    outgoingtransactionid: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class ForwardingTransactionImageRow(Base):
    """One image of a forwarding batch, in arrival order (``id``). The foreign key to
    ``Images`` (not in the original) drops deleted images from pending batches in the
    deleting transaction itself (spec §5.6 step 5)."""

    __tablename__ = "ForwardingTransactionImages"
    __table_args__ = (UniqueConstraint("forwardingtransactionid", "imageid"), AUTOINC)
    id: Mapped[int] = _pk()
    forwardingtransactionid: Mapped[int] = mapped_column(
        Id, ForeignKey("ForwardingTransactions.id", ondelete="CASCADE")
    )
    imageid: Mapped[int] = mapped_column(
        Id, ForeignKey("Images.id", ondelete="CASCADE"), index=True
    )
