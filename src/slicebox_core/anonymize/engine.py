"""The de-identification engine: PS3.15 Annex E applied to a pydicom dataset. Pure: no I/O.

:func:`anonymize` returns a *new* dataset and never changes its input. Every element at every
depth (sequence items, items of items, ...) gets an action from PS3.15 Table E.1-1 under the
profile (see :mod:`.profile`); file meta information is rebuilt (PS3.15 E.1.1: it is replaced
whenever a file is de-identified).

Action codes (PS3.15 E.1.1, Table E.1-1a), as implemented:

* ``X`` remove. ``Z`` keep with a zero-length value (a sequence with no items).
* ``D`` a non-empty dummy of the element's VR: PN ``ANONYMOUS``; AE/CS/LO/SH/ST/LT/UT/UC
  ``ANONYMIZED``; DA ``19000101``; TM ``000000``; DT ``19000101000000``; AS ``000Y``; DS/IS
  ``0``; binary numbers 0; UI through the UID mapping; UR ``urn:x-anonymized``; bulk data
  eight zero bytes. The number of values is kept. On a *sequence*, ``D`` keeps the items but
  replaces every value inside them, at every depth, with a dummy - except code strings (CS,
  enumerated values the item needs to stay valid) and UIDs (mapped); attributes listed with
  ``X`` or ``Z`` are still removed/emptied. So e.g. a Content Sequence keeps its tree shape
  and nothing else.
* ``K`` keep; a kept sequence is still walked and its items cleaned with the same rules.
* ``C`` clean: dates (DA, DT) shifted by the per-patient offset under Retain Longitudinal
  Temporal Information with Modified Dates (times TM are kept: whole-day shifts preserve them,
  PS3.15 E.3.6 note 4); a sequence is kept and its items cleaned (Clean Structured Content);
  UIDs mapped; anything else - free text whose identifying parts cannot be found reliably -
  gets the dummy of ``D``.
* ``U`` replace every UID value by the consistent keyed mapping (:mod:`.pseudonyms`); UIDs
  defined by the standard are never replaced.

Compound codes pick, per PS3.15 E.1.1, the weakest action that keeps the instance valid for its
IOD, which depends on the attribute's Type there. Without per-IOD module tables we choose the
most protective action and keep an explicit list of attributes that must stay present:

* ``Z/D``: Z, but D for Content Date/Time and Instruction Performed DateTime (Type 1 in the SR
  and enhanced multi-frame IODs, where an empty value would be invalid).
* ``X/Z``: X, but Z for Acquisition Context Sequence (Type 2 in the enhanced image IODs).
* ``X/D``: X.
* ``X/Z/D``: X, but D for Device Serial Number and Acquisition DateTime in the IODs that carry
  the Enhanced General Equipment / enhanced image modules where they are Type 1.
* ``X/Z/U*``: the sequence is kept and every UID inside it is replaced (the ``U`` choice), so
  references stay valid and consistent with the referenced instances.

Attributes not in the table are kept - the table is the standard's list of identifying
attributes - except, conservatively:

* every private attribute is removed unless Retain Safe Private is chosen and it is listed in
  PS3.15 Table E.3.10-1 (:mod:`.safe_private`); the private creators of kept elements stay;
* any element of VR PN anywhere (also private and unknown ones) is emptied (Z) or, where the
  table says keep/clean, replaced by the dummy name;
* dates (DA, DT) not in the table are treated like the table's Date (0040,A121): dummy, kept
  with full dates, shifted with modified dates;
* UIDs not in the table are mapped like ``U`` unless they name a class, transfer syntax or
  coding resource (keywords containing ``SOPClass``/``TransferSyntax``, coding scheme/context
  UIDs) or are defined by the standard;
* Text Value (0040,A160), the free text of SR content items, gets a dummy;
* elements unknown to the data dictionary, and group lengths, are removed;
* when the Overlay Data (60xx,3000) is removed the whole overlay group 60xx goes with it, and
  curve groups 50xx are removed entirely (their masked rows).
"""

from __future__ import annotations

import copy
import datetime as dt
import struct
from collections.abc import Callable, Sequence
from typing import Any

from pydicom import config as pydicom_config
from pydicom.datadict import dictionary_has_tag, dictionary_VR, keyword_for_tag, repeater_has_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)
from pydicom.valuerep import validate_value

from ..config import SECONDARY_CAPTURE_SOP_CLASSES
from ..errors import InvalidDicom, InvalidInput
from ..models.anonymization import AnonymizationProfile, ConfidentialityOption, TagValue
from ..models.dicom import TagPath
from .profile import CID_7050, ResolvedProfile, resolve_profile
from .pseudonyms import is_well_known_uid, patient_pseudonym
from .safe_private import normalize_creator, safe_private_attribute

UidMap = Callable[[str], str]

DUMMY_TEXT = "ANONYMIZED"
DUMMY_NAME = "ANONYMOUS"
DUMMY_DATE = "19000101"
DUMMY_TIME = "000000"
DUMMY_DATETIME = "19000101000000"
DUMMY_AGE = "000Y"
DUMMY_URI = "urn:x-anonymized"
DUMMY_BYTES = b"\x00" * 8

_TEXT_VRS = frozenset({"AE", "CS", "LO", "SH", "ST", "LT", "UT", "UC"})
_INT_VRS = frozenset({"US", "SS", "UL", "SL", "UV", "SV", "AT"})
_FLOAT_VRS = frozenset({"FL", "FD"})
_BYTES_VRS = frozenset({"OB", "OW", "OD", "OF", "OL", "OV", "UN"})
_DATE_VRS = frozenset({"DA", "DT"})

# tags by keyword, resolved once
_TEXT_VALUE = 0x0040A160
_PATIENT_NAME = 0x00100010
_PATIENT_ID = 0x00100020
_STUDY_UID = 0x0020000D
_SERIES_UID = 0x0020000E
_SOP_UID = 0x00080018

# compound-code choices (see the module docstring); keyword -> concrete action
_Z_D_AS_D = frozenset({"ContentDate", "ContentTime", "InstructionPerformedDateTime"})
_X_Z_AS_Z = frozenset({"AcquisitionContextSequence"})
_X_Z_D_AS_D_ENHANCED = frozenset({"DeviceSerialNumber", "AcquisitionDateTime"})

# storage classes whose IODs include the Enhanced General Equipment module (Device Serial
# Number Type 1) and an enhanced image module (Acquisition DateTime Type 1C)
ENHANCED_SOP_CLASSES = frozenset(
    "1.2.840.10008.5.1.4.1.1." + suffix
    for suffix in (
        "2.1",  # Enhanced CT
        "2.2",  # Legacy Converted Enhanced CT
        "4.1",  # Enhanced MR
        "4.2",  # MR Spectroscopy
        "4.3",  # Enhanced MR Color
        "4.4",  # Legacy Converted Enhanced MR
        "6.2",  # Enhanced US Volume
        "12.1.1",  # Enhanced XA
        "12.2.1",  # Enhanced XRF
        "13.1.1",  # X-Ray 3D Angiographic
        "13.1.2",  # X-Ray 3D Craniofacial
        "13.1.3",  # Breast Tomosynthesis
        "13.1.4",  # Breast Projection X-Ray For Presentation
        "13.1.5",  # Breast Projection X-Ray For Processing
        "14.1",  # IVOCT For Presentation
        "14.2",  # IVOCT For Processing
        "30",  # Parametric Map
        "66.4",  # Segmentation
        "77.1.5.4",  # Ophthalmic Tomography
        "77.1.6",  # VL Whole Slide Microscopy
        "128.1",  # Legacy Converted Enhanced PET
        "130",  # Enhanced PET
    )
)

_CLASS_UID_KEYWORDS = frozenset(
    {
        "CodingSchemeUID",
        "ContextUID",
        "MappingResourceUID",
        "ContextGroupExtensionCreatorUID",
        "CreatorVersionUID",
        "SegmentationTemplateUID",
    }
)


def anonymize(
    ds: Dataset,
    profile: AnonymizationProfile | Sequence[ConfidentialityOption | str],
    *,
    uid_map: UidMap,
    date_shift_days: int | None = None,
    tag_values: Sequence[TagValue] = (),
    allow_burned_in: bool = False,
) -> Dataset:
    """De-identify ``ds`` with PS3.15 Annex E under ``profile``; return a new dataset.

    Args:
        ds: the instance (with or without file meta); not modified.
        profile: confidentiality options; the Basic Profile is always applied.
        uid_map: a deterministic, injective map of strings to UIDs (e.g.
            :func:`.pseudonyms.keyed_uid_map`); every replaced UID goes through it, and it seeds
            the default patient pseudonym ``ANON-<hex>``.
        date_shift_days: whole days added to every date under the Modified Dates option.
        tag_values: values set last, at any path, overriding everything (spec §5.4.4).
        allow_burned_in: anonymize an instance that may show identifying text in its pixels
            (BurnedInAnnotation YES, or any Secondary Capture); the pixels are not cleaned.

    Returns:
        The de-identified dataset with rebuilt file meta (same transfer syntax; pixel data
        bytes identical) and PatientIdentityRemoved, DeidentificationMethod,
        DeidentificationMethodCodeSequence and LongitudinalTemporalInformationModified set.

    Raises:
        InvalidInput: an unsupported or contradictory profile, a missing date shift under the
            Modified Dates option, an instance that may carry burned-in annotation without
            ``allow_burned_in``, or a tag value that cannot be set.
        InvalidDicom: a standard attribute whose value cannot be decoded.
    """
    rules = resolve_profile(profile)
    if rules.modified_dates and date_shift_days is None:
        raise InvalidInput("the Modified Dates option needs a date shift")
    check_burned_in(ds, allow_burned_in=allow_burned_in)

    sop_class = str(ds.get("SOPClassUID", "") or "").strip()
    cleaner = _Cleaner(rules, uid_map, date_shift_days if rules.modified_dates else None, sop_class)
    out = cleaner.dataset(ds, _NORMAL)

    _mark_deidentified(out, rules)
    _insert_identifiers(out, ds, uid_map)
    apply_tag_values(out, tag_values)
    out.file_meta = _file_meta(ds, out)
    _copy_encoding(ds, out)
    return out


def check_burned_in(ds: Dataset, *, allow_burned_in: bool) -> None:
    """Refuse instances whose pixels may show identifying text (PS3.15 E.3.1).

    Raises:
        InvalidInput: BurnedInAnnotation is YES, or the SOP class is a Secondary Capture class
            (which may carry burned-in text whatever it claims), and ``allow_burned_in`` is
            False.
    """
    if allow_burned_in:
        return
    flag = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    if flag == "YES":
        raise InvalidInput(
            "the image is flagged BurnedInAnnotation YES: its pixels may show identifying "
            "text, which slicebox cannot clean; anonymize it only with allow_burned_in"
        )
    sop_class = str(ds.get("SOPClassUID", "") or "").strip()
    meta = getattr(ds, "file_meta", None)
    if not sop_class and meta is not None:
        sop_class = str(meta.get("MediaStorageSOPClassUID", "") or "").strip()
    if sop_class in SECONDARY_CAPTURE_SOP_CLASSES:
        raise InvalidInput(
            "Secondary Capture images may carry burned-in identifying text, which slicebox "
            "cannot clean; anonymize it only with allow_burned_in"
        )


# --- the walk -------------------------------------------------------------------------------

_NORMAL, _UIDS, _DUMMY = "normal", "uids", "dummy"


class _Cleaner:
    """Walks one dataset recursively, building the cleaned copy."""

    def __init__(
        self, rules: ResolvedProfile, uid_map: UidMap, shift: int | None, sop_class: str
    ) -> None:
        self.rules = rules
        self.uid_map = uid_map
        self.shift = shift
        self.enhanced = sop_class in ENHANCED_SOP_CLASSES

    def dataset(self, src: Dataset, mode: str) -> Dataset:
        out = Dataset()
        creators: dict[int, DataElement] = {}
        used_creators: set[int] = set()
        dropped_overlay_groups = {
            group
            for group in {int(tag) >> 16 for tag in src.keys()}  # noqa: SIM118
            if group & 0xFF00 == 0x6000
            and group % 2 == 0
            and self._concrete(self.rules.code((group << 16) | 0x3000) or "K", "OB", "") == "X"
        }
        for tag in sorted(int(t) for t in src.keys()):  # noqa: SIM118
            group, element = tag >> 16, tag & 0xFFFF
            if element == 0:  # group lengths are retired and would be wrong (PS3.5 7.2)
                continue
            try:
                elem = src[tag]
            except (ValueError, TypeError, KeyError, OverflowError, struct.error) as exc:
                if group % 2 or not dictionary_has_tag(tag):
                    continue  # would be removed anyway
                raise InvalidDicom(f"malformed value in {_tag_text(tag)}") from exc
            if group % 2:
                if 0x0010 <= element <= 0x00FF:
                    creators[tag] = elem
                else:
                    kept = self._private(src, elem, mode)
                    if kept is not None:
                        out.add(kept)
                        used_creators.add((group << 16) | (element >> 8))
                continue
            if group in dropped_overlay_groups:
                continue
            cleaned = self._element(elem, mode)
            if cleaned is not None:
                out.add(cleaned)
        for creator_tag in used_creators:
            if creator_tag in creators:
                out.add(copy.copy(creators[creator_tag]))
        return out

    # -- private attributes (PS3.15 E.3.10) --

    def _private(self, src: Dataset, elem: DataElement, mode: str) -> DataElement | None:
        tag = int(elem.tag)
        group, element = tag >> 16, tag & 0xFFFF
        if not self.rules.retain_safe_private or mode == _DUMMY or element < 0x1000:
            return None
        creator_elem = src.get((group << 16) | (element >> 8))
        if creator_elem is None:
            return None
        safe = safe_private_attribute(group, normalize_creator(creator_elem.value), element)
        if safe is None:
            return None
        vr = elem.VR
        if vr == "UN" and safe.vr in ("SQ", ""):
            return None  # an undecoded sequence could hide anything; it cannot be walked
        if vr == "UN" and safe.vr == "UI" and isinstance(elem.value, bytes):
            elem = DataElement(tag, "UI", elem.value.decode("ascii", "replace").strip(" \x00"))
            vr = "UI"
        if vr == "SQ":
            return DataElement(tag, "SQ", self._items(elem, mode))
        if vr == "PN":
            return _empty(elem)
        if vr == "UI" and not self.rules.retain_uids:
            return self._uids(elem)
        return copy.copy(elem)

    # -- standard attributes --

    def _element(self, elem: DataElement, mode: str) -> DataElement | None:
        tag = int(elem.tag)
        if not (dictionary_has_tag(tag) or repeater_has_tag(tag)):
            return None  # unknown to the data dictionary: nothing says it is safe
        vr = _vr_of(elem)
        action = self._action(tag, vr, mode)
        if action == "X":
            return None
        if action == "Z":
            return _empty(elem)
        if action == "K":
            if vr == "SQ":
                return DataElement(tag, "SQ", self._items(elem, mode))
            return copy.copy(elem)
        if action == "U":
            if vr == "UI":
                return self._uids(elem)
            if vr == "SQ":
                return DataElement(tag, "SQ", self._items(elem, _UIDS if mode == _NORMAL else mode))
            return self._dummy(elem, mode)
        if action == "Q":  # X/Z/U*: keep the sequence, replace the UIDs in it
            if vr == "SQ":
                return DataElement(tag, "SQ", self._items(elem, _UIDS if mode == _NORMAL else mode))
            return self._uids(elem) if vr == "UI" else None
        if action == "C":
            return self._clean(elem, vr, mode)
        return self._dummy(elem, mode)  # "D"

    def _action(self, tag: int, vr: str, mode: str) -> str:
        code = self.rules.code(tag)
        keyword = keyword_for_tag(tag)
        if code is not None:
            action = self._concrete(code, vr, keyword)
        elif vr == "PN":
            action = "Z"  # a name is identifying wherever it hides
        elif vr in _DATE_VRS:
            # like Date (0040,A121): D, K with full dates, C with modified dates
            action = "K" if self.rules.full_dates else "C" if self.rules.modified_dates else "D"
        elif vr == "UI":
            action = "K" if self.rules.retain_uids or _is_class_uid(keyword) else "U"
        elif tag == _TEXT_VALUE:
            action = "D"
        else:
            action = "K"
        if vr == "PN" and action in ("K", "C"):
            action = "D"
        if self.rules.modified_dates and vr in _DATE_VRS and action == "K":
            action = "C"  # an option keeping a date (e.g. device calibration) still shifts it
        if mode == _DUMMY:
            if action in ("X", "Z"):
                return action
            if vr == "UI":
                return "K" if self.rules.retain_uids else "U"
            return "K" if vr == "CS" else "D"
        if (
            mode == _UIDS
            and vr == "UI"
            and action == "K"
            and not self.rules.retain_uids
            and not _is_class_uid(keyword)
        ):
            return "U"
        return action

    def _concrete(self, code: str, vr: str, keyword: str) -> str:
        if code == "Z/D":
            return "D" if keyword in _Z_D_AS_D else "Z"
        if code == "X/Z":
            return "Z" if keyword in _X_Z_AS_Z else "X"
        if code == "X/D":
            return "X"
        if code == "X/Z/D":
            return "D" if self.enhanced and keyword in _X_Z_D_AS_D_ENHANCED else "X"
        if code == "X/Z/U*":
            return "Q"
        return code

    def _items(self, elem: DataElement, mode: str) -> DicomSequence:
        return DicomSequence([self.dataset(item, mode) for item in (elem.value or ())])

    def _uids(self, elem: DataElement) -> DataElement:
        values = _values(elem)
        mapped = [self._map_uid(str(v)) for v in values]
        return DataElement(int(elem.tag), "UI", _pack(mapped))

    def _map_uid(self, uid: str) -> str:
        uid = uid.strip(" \x00")
        if not uid or is_well_known_uid(uid):
            return uid
        return self.uid_map(uid)

    def _clean(self, elem: DataElement, vr: str, mode: str) -> DataElement | None:
        if vr == "SQ":
            return DataElement(int(elem.tag), "SQ", self._items(elem, mode))
        if vr == "UI":
            return self._uids(elem)
        if self.shift is not None:
            if vr == "TM":
                return copy.copy(elem)
            if vr in _DATE_VRS:
                shifted = [_shift(str(v), vr, self.shift) for v in _values(elem)]
                return DataElement(int(elem.tag), vr, _pack(shifted) if shifted else None)
        return self._dummy(elem, mode)

    def _dummy(self, elem: DataElement, mode: str) -> DataElement:
        tag = int(elem.tag)
        vr = _vr_of(elem)
        if vr == "SQ":
            return DataElement(tag, "SQ", self._items(elem, _DUMMY))
        if vr == "UI":
            values = [str(v) for v in _values(elem)] or [""]
            mapped = [
                self.uid_map(v.strip(" \x00")) if not is_well_known_uid(v) else v for v in values
            ]
            return DataElement(tag, "UI", _pack(mapped))
        return DataElement(tag, vr, dummy_value(vr, max(1, _count(elem))))


# --- values -----------------------------------------------------------------------------------


def dummy_value(vr: str, count: int = 1) -> Any:
    """A legal non-empty dummy of ``vr`` repeated ``count`` times (bulk data: once)."""
    if vr in _BYTES_VRS:
        return DUMMY_BYTES
    if vr == "PN":
        single: Any = DUMMY_NAME
    elif vr in _TEXT_VRS:
        single = DUMMY_TEXT
    elif vr == "DA":
        single = DUMMY_DATE
    elif vr == "TM":
        single = DUMMY_TIME
    elif vr == "DT":
        single = DUMMY_DATETIME
    elif vr == "AS":
        single = DUMMY_AGE
    elif vr in ("DS", "IS"):
        single = "0"
    elif vr == "UR":
        return DUMMY_URI
    elif vr in _INT_VRS:
        single = 0
    elif vr in _FLOAT_VRS:
        single = 0.0
    else:
        single = DUMMY_TEXT
    return single if count <= 1 else [single] * count


def _vr_of(elem: DataElement) -> str:
    vr = str(elem.VR)
    if " or " in vr:  # an ambiguous VR pydicom could not resolve; pick the first
        vr = vr.split(" or ")[0]
    return vr


def _values(elem: DataElement) -> list[Any]:
    value = elem.value
    if value is None or value == "":
        return []
    if isinstance(value, MultiValue | list | tuple):
        return list(value)
    return [value]


def _count(elem: DataElement) -> int:
    if elem.VR == "SQ":
        return len(elem.value or ())
    return len(_values(elem))


def _pack(values: list[Any]) -> Any:
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _empty(elem: DataElement) -> DataElement:
    tag = int(elem.tag)
    vr = _vr_of(elem)
    if vr == "SQ":
        return DataElement(tag, "SQ", DicomSequence())
    return DataElement(tag, vr, None)


def _is_class_uid(keyword: str) -> bool:
    return "SOPClass" in keyword or "TransferSyntax" in keyword or keyword in _CLASS_UID_KEYWORDS


def _shift(value: str, vr: str, days: int) -> str:
    """Shift a DA or DT value by whole days (PS3.15 E.3.6); unparsable values get a dummy."""
    value = value.strip()
    dummy = DUMMY_DATE if vr == "DA" else DUMMY_DATETIME
    if len(value) < 8 or not value[:8].isdigit():
        return dummy
    try:
        day = dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        shifted = day + dt.timedelta(days=days)
    except (ValueError, OverflowError):
        return dummy
    return shifted.strftime("%Y%m%d").rjust(8, "0") + value[8:]


# --- after the walk ----------------------------------------------------------------------------


def _mark_deidentified(out: Dataset, rules: ResolvedProfile) -> None:
    """PatientIdentityRemoved, DeidentificationMethod (+ code sequence), PS3.15 E.1.1 and
    the Longitudinal Temporal Information Modified flag, PS3.15 E.3.6."""
    out.PatientIdentityRemoved = "YES"
    descriptions = [option.description for option in rules.options]
    out.DeidentificationMethod = descriptions[0] if len(descriptions) == 1 else descriptions
    items = []
    for option in rules.options:
        value, meaning = CID_7050[option.name]
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    out.DeidentificationMethodCodeSequence = DicomSequence(items)
    out.LongitudinalTemporalInformationModified = (
        "MODIFIED" if rules.modified_dates else "UNMODIFIED" if rules.full_dates else "REMOVED"
    )


def _insert_identifiers(out: Dataset, original: Dataset, uid_map: UidMap) -> None:
    """Empty or missing patient identifiers get the patient's pseudonym; missing instance UIDs
    a fresh UID, so the output stays indexable (spec §5.4.1 identifier insertion)."""
    name = str(original.get("PatientName", "") or "")
    pid = str(original.get("PatientID", "") or "")
    pseudonym = patient_pseudonym(uid_map, name, pid)
    for tag, vr in ((_PATIENT_NAME, "PN"), (_PATIENT_ID, "LO")):
        if not str(out.get(tag, DataElement(tag, vr, "")).value or "").strip():
            out[tag] = DataElement(tag, vr, pseudonym)
    for tag in (_STUDY_UID, _SERIES_UID, _SOP_UID):
        if not str(out.get(tag, DataElement(tag, "UI", "")).value or "").strip():
            out[tag] = DataElement(tag, "UI", generate_uid())


def sync_file_meta(ds: Dataset) -> None:
    """Make Media Storage SOP Class/Instance UID follow the dataset's SOP Class/Instance UID."""
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        return
    if "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if "SOPClassUID" in ds:
        meta.MediaStorageSOPClassUID = ds.SOPClassUID


def _file_meta(original: Dataset, out: Dataset) -> FileMetaDataset:
    """New file meta (PS3.15 E.1.1): only the transfer syntax is carried over, so source AE
    titles and private meta information never leave."""
    old = getattr(original, "file_meta", None)
    ts = str(old.get("TransferSyntaxUID", "") or "") if old is not None else ""
    if not ts:
        implicit = getattr(original, "is_implicit_VR", True)
        little = getattr(original, "is_little_endian", True)
        ts = (
            ImplicitVRLittleEndian
            if implicit in (True, None)
            else ExplicitVRLittleEndian
            if little in (True, None)
            else ExplicitVRBigEndian
        )
    meta = FileMetaDataset()
    sop_class = str(out.get("SOPClassUID", "") or "")
    if not sop_class and old is not None:
        sop_class = str(old.get("MediaStorageSOPClassUID", "") or "")
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(str(out.get("SOPInstanceUID", "") or ""))
    meta.TransferSyntaxUID = UID(ts)
    return meta


def _copy_encoding(original: Dataset, out: Dataset) -> None:
    encoding = getattr(original, "original_encoding", None)
    if encoding and encoding[0] is not None:
        out.set_original_encoding(encoding[0], encoding[1], original.original_character_set)


# --- tag values (spec §5.4.4) ------------------------------------------------------------------


def apply_tag_values(ds: Dataset, tag_values: Sequence[TagValue]) -> None:
    """Insert or replace each value at its path (sequences/items created as needed).

    Raises:
        InvalidInput: a path ending in a sequence or item, an unknown tag that is not already
            present (its VR is unknown), or a value illegal for the VR.
    """
    for tag_value in tag_values:
        set_value(ds, tag_value.tag_path, tag_value.value)


def set_value(ds: Dataset, path: TagPath, value: str) -> None:
    """Set one attribute at ``path`` to ``value`` (a DICOM string; ``\\`` separates values).

    Raises:
        InvalidInput: see :func:`apply_tag_values`.
    """
    node = ds
    for step in path.steps[:-1]:
        seq = node.get(step.tag)
        if seq is None:
            if _dictionary_vr(step.tag) != "SQ":
                raise InvalidInput(f"tag path {path}: {_tag_text(step.tag)} is not a sequence")
            seq = DataElement(step.tag, "SQ", DicomSequence())
            node[step.tag] = seq
        if seq.VR != "SQ":
            raise InvalidInput(f"tag path {path}: {_tag_text(step.tag)} is not a sequence")
        items = seq.value
        assert step.item is not None
        while len(items) < step.item:
            items.append(Dataset())
        node = items[step.item - 1]
    last = path.steps[-1]
    if last.item is not None:
        raise InvalidInput(f"tag path {path} must end in an attribute, not a sequence item")
    existing = node.get(last.tag)
    vr = _vr_of(existing) if existing is not None else _dictionary_vr(last.tag)
    if vr is None:
        raise InvalidInput(f"tag path {path}: unknown attribute, its VR cannot be known")
    if vr == "SQ":
        raise InvalidInput(f"tag path {path}: cannot set a sequence to a text value")
    node[last.tag] = DataElement(last.tag, vr, _typed(vr, value, path))


def _dictionary_vr(tag: int) -> str | None:
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        return None
    return vr.split(" or ")[0]


def _typed(vr: str, value: str, path: TagPath) -> Any:
    parts = value.split("\\") if value else []
    try:
        if vr in _INT_VRS:
            typed: list[Any] = [int(p) for p in parts]
        elif vr in _FLOAT_VRS:
            typed = [float(p) for p in parts]
        elif vr in _BYTES_VRS:
            return value.encode("utf-8")
        else:
            typed = list(parts)
            for part in typed:
                validate_value(vr, part, pydicom_config.RAISE)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"tag path {path}: value not valid for VR {vr}: {exc}") from exc
    return _pack(typed)


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
