"""Reverse anonymization (spec §5.4.8): put real values back from a found key. Pure: no I/O.

Only root-level attributes are restored, and only the key attributes whose level is at most
the level the key matched at (a patient-level match restores the patient identifiers, not the
study's). Attributes absent from the data are inserted.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from ..models.dicom import TagPath
from .config import KeyAttribute
from .engine import sync_file_meta
from .keys import KeyMatch, tag_path_text

_IDENTIFIER_FIELDS = {
    0x00100010: "patient_name",
    0x00100020: "patient_id",
    0x0020000D: "study_instance_uid",
    0x0020000E: "series_instance_uid",
    0x00080018: "sop_instance_uid",
}


def real_values(match: KeyMatch, key_attributes: Sequence[KeyAttribute]) -> dict[int, str]:
    """Tag -> real value for every key attribute the match allows restoring."""
    result: dict[int, str] = {}
    if match.key is None:
        return result
    for attribute in key_attributes:
        if attribute.level.depth > match.level.depth:
            continue
        tag = attribute.tag
        field = _IDENTIFIER_FIELDS.get(tag)
        if field is not None:
            result[tag] = str(getattr(match.key, field))
            continue
        stored = match.values.get(tag_path_text(TagPath.of(tag)))
        if stored is not None:
            result[tag] = stored[0]
    return result


def restore(ds: Dataset, match: KeyMatch, key_attributes: Sequence[KeyAttribute]) -> bool:
    """Insert or replace root-level attributes of ``ds`` with the real values of ``match``.

    Returns:
        True if anything changed (so the caller knows to re-encode).
    """
    changed = False
    for tag, value in real_values(match, key_attributes).items():
        existing = ds.get(tag)
        if existing is not None and _text(existing) == value:
            continue
        vr = existing.VR if existing is not None else _dictionary_vr(tag)
        if vr is None or vr == "SQ":
            continue
        ds[tag] = DataElement(tag, vr, value.split("\\") if "\\" in value else value)
        changed = True
    if changed:
        sync_file_meta(ds)
    return changed


def _text(elem: DataElement) -> str:
    value = elem.value
    if value is None:
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value)
    return str(value)


def _dictionary_vr(tag: int) -> str | None:
    from pydicom.datadict import dictionary_VR

    try:
        return dictionary_VR(tag).split(" or ")[0]
    except KeyError:
        return None
