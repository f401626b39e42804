"""Keyed, deterministic pseudonyms: replacement UIDs, patient pseudonyms and date shifts.

PS3.15 E.1.1 requires a replaced UID to be "internally consistent" across the data set; we make
it consistent across all data and all time: a UID is mapped by HMAC-SHA256 under a secret kept
per installation, and the 128-bit digest becomes a UUID-derived UID ``2.25.<int>`` (PS3.5
B.2, ISO/IEC 9834-8). The same original always maps to the same replacement; different
originals collide only with probability ~2^-122. Without the secret the mapping can neither be
reversed nor recomputed from a guessed original.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from pydicom.uid import UID_dictionary

#: the root of every UID defined by the DICOM standard itself (PS3.5 9.1)
DICOM_ROOT = "1.2.840.10008."

#: the range of the per-patient date shift, in days (always into the past, never zero)
DATE_SHIFT_RANGE = (-3652, -365)


def is_well_known_uid(uid: str) -> bool:
    """True for UIDs the standard defines (SOP classes, transfer syntaxes, coding schemes,
    context groups, well-known frames of reference ...): never replaced (PS3.15 E.3.9 note)."""
    uid = uid.strip(" \x00")
    return uid in UID_dictionary or uid.startswith(DICOM_ROOT)


def keyed_uid_map(secret: bytes) -> Callable[[str], str]:
    """A function mapping any string to a stable ``2.25.`` UID under ``secret``.

    Well-known UIDs are returned unchanged. Values longer than a UID (e.g. pseudonym seeds) are
    accepted: the function is a keyed hash, not a parser.
    """
    if len(secret) < 16:
        raise ValueError("the UID secret must be at least 16 bytes")

    def uid_map(uid: str) -> str:
        uid = uid.strip(" \x00")
        if is_well_known_uid(uid):
            return uid
        digest = hmac.new(secret, b"slicebox.uid\x00" + uid.encode("utf-8"), hashlib.sha256)
        return uuid_uid(digest.digest())

    return uid_map


def uuid_uid(digest: bytes) -> str:
    """``2.25.<n>`` where n is the first 16 bytes of ``digest`` as a version-8 UUID."""
    n = int.from_bytes(digest[:16], "big")
    n = (n & ~(0xF << 76)) | (0x8 << 76)  # UUID version 8 (custom, RFC 9562)
    n = (n & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return f"2.25.{n}"


def patient_pseudonym(uid_map: Callable[[str], str], patient_name: str, patient_id: str) -> str:
    """``ANON-<16 hex>``: the default pseudonymous PatientName and PatientID of a patient.

    Derived from the keyed ``uid_map``, so one real (name, ID) always gets the same pseudonym
    and nobody without the secret can compute it.
    """
    seed = uid_map(f"slicebox.patient\x00{patient_name}\x00{patient_id}")
    return "ANON-" + hashlib.sha256(seed.encode("ascii")).hexdigest()[:16].upper()


def date_shift_days(secret: bytes, patient_name: str, patient_id: str) -> int:
    """The per-patient date shift (PS3.15 E.3.6, Modified Dates): a keyed hash of the patient's
    real identity mapped into :data:`DATE_SHIFT_RANGE`, so it is stable across images and
    time even before any key is stored."""
    digest = hmac.new(
        secret,
        f"slicebox.dateshift\x00{patient_name}\x00{patient_id}".encode(),
        hashlib.sha256,
    ).digest()
    low, high = DATE_SHIFT_RANGE
    return low + int.from_bytes(digest[:8], "big") % (high - low + 1)
