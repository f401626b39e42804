"""DICOM network nodes and query/retrieve values (spec §4.5, §3.10, §3.11).

``ScpData`` and ``ScuData`` are the original's shapes. The query/retrieve values are new (the
original had no Q/R): a C-FIND of a remote node (:class:`RemoteQuery`, answered by a list of
``{keyword: value}`` objects) and a C-MOVE or C-GET of chosen studies or series from it
(:class:`RetrieveRequest` -> :class:`RetrieveResult`, with :class:`RetrieveProgress` while it
runs).
"""

from __future__ import annotations

import enum

import attrs

from ._fields import named


@attrs.frozen
class ScpData:
    """A DICOM listener of this slicebox (``{id, name, aeTitle, port}``).

    ``ae_title`` is stored as submitted; the listener answers to its trimmed form.
    """

    id: int
    name: str
    ae_title: str
    port: int


@attrs.frozen
class ScuData:
    """A remote DICOM node slicebox sends to or queries (``{id, name, aeTitle, host, port}``)."""

    id: int
    name: str
    ae_title: str
    host: str
    port: int


class QueryRetrieveLevel(enum.StrEnum):
    """Query/Retrieve Level (0008,0052) (PS3.4 C.3)."""

    PATIENT = "PATIENT"
    STUDY = "STUDY"
    SERIES = "SERIES"
    IMAGE = "IMAGE"


class InformationModel(enum.StrEnum):
    """Which Q/R information model a request uses (PS3.4 C.3.1, C.3.2)."""

    PATIENT_ROOT = "PATIENT_ROOT"
    STUDY_ROOT = "STUDY_ROOT"


class RetrieveMethod(enum.StrEnum):
    """C-MOVE (the remote opens a new association to a listener) or C-GET (same association)."""

    MOVE = "MOVE"
    GET = "GET"


@attrs.frozen
class RemoteQuery:
    """A C-FIND request to a remote node.

    Attributes:
        level: the Query/Retrieve Level.
        attributes: DICOM keyword -> matching value. An empty value asks the remote to
            return the attribute (a return key); ``*``/``?`` wildcards, ``a-b`` date ranges
            and backslash-separated UID lists follow PS3.4 C.2.2.2.
        model: Study Root (default) or Patient Root.
        limit: stop (C-CANCEL) after this many matches; 0 = no limit.
    """

    level: QueryRetrieveLevel = QueryRetrieveLevel.STUDY
    attributes: dict[str, str] = attrs.field(factory=dict)
    model: InformationModel = InformationModel.STUDY_ROOT
    limit: int = 1000


@attrs.frozen
class RetrieveTarget:
    """A study, or one series of a study, to retrieve."""

    study_instance_uid: str = named("studyInstanceUID")
    series_instance_uid: str = named("seriesInstanceUID", default="")


@attrs.frozen
class RetrieveRequest:
    """Studies/series to C-MOVE or C-GET from a remote node into this slicebox.

    Attributes:
        targets: what to retrieve (one C-MOVE/C-GET request per target).
        method: MOVE (default) or GET.
        destination_ae_title: C-MOVE destination; empty = the AE title of this slicebox's
            first SCP (the remote must know it, with host and port, as a DICOM node).
    """

    targets: tuple[RetrieveTarget, ...]
    method: RetrieveMethod = RetrieveMethod.MOVE
    destination_ae_title: str = named("destinationAeTitle", default="")


@attrs.frozen
class RetrieveProgress:
    """Sub-operation counts of a running retrieval, summed over the targets done so far."""

    targets_done: int
    targets_total: int
    remaining: int
    completed: int
    failed: int
    warning: int


@attrs.frozen
class RetrieveResult:
    """The outcome of a retrieval.

    Attributes:
        completed: sub-operations (instances) the remote reports as stored.
        failed: sub-operations that failed.
        warning: sub-operations stored with a warning.
        image_ids: the images of the retrieved studies/series now in this slicebox.
    """

    completed: int
    failed: int
    warning: int
    image_ids: tuple[int, ...] = ()
