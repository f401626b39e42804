"""Names of the entries in an image export zip (spec §5.18.4)."""

from __future__ import annotations

import re

from slicebox_core.models import Patient, Series, Study

__all__ = ["zip_entry_name"]

# Control characters (incl. NUL) and characters Windows refuses in file names.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"|?*]')


def zip_entry_name(patient: Patient, study: Study, series: Series, image_id: int) -> str:
    """Return the zip entry name of an image.

    ``<patientId>_<PatientName>-<PatientID>/<studyId>_<StudyDate>/``
    ``<seriesId>_<SeriesDate>_<Modality>/<imageId>.dcm``, ids being database ids.

    Inside each folder name ``/`` and ``\\`` become ``-`` (spec); control characters and
    characters Windows does not allow in names become ``_``. Every folder name starts with a
    database id, so no component can be empty, ``.``, ``..`` or hidden, and the name is never
    absolute.
    """
    folders = (
        f"{patient.id}_{patient.patient_name}-{patient.patient_id}",
        f"{study.id}_{study.study_date}",
        f"{series.id}_{series.series_date}_{series.modality}",
    )
    return "/".join([*(_safe(folder) for folder in folders), f"{int(image_id)}.dcm"])


def _safe(name: str) -> str:
    name = name.replace("/", "-").replace("\\", "-")
    # Trailing dots and spaces are dropped by Windows, which could merge distinct folders.
    return _UNSAFE.sub("_", name).rstrip(" .") or "_"
