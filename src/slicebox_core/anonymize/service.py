"""Anonymization with keys: the I/O around the pure engine (spec §5.4.2-§5.4.8).

One call anonymizes one instance *and* records its key in one transaction: look up the newest
key of the same real patient/study/series/image under the key lock, run the engine, harmonize
the pseudonyms with that key (spec §5.4.7), insert the new key, and encode the result - all
before commit, so a key without output or output without key cannot happen. Bytes reach the
caller's stream only after the commit (spooled meanwhile), and if copying them fails the key is
deleted again.

    >>> service = AnonymizationService(db)
    >>> service.anonymize_file("in.dcm", open("out.dcm", "wb"), AnonymizationProfile.basic())
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import attrs
from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from sqlalchemy.orm import Session

from ..db.engine import Database
from ..errors import InvalidDicom, InvalidInput
from ..models.anonymization import (
    AnonymizationKey,
    AnonymizationProfile,
    ConfidentialityOption,
    TagValue,
)
from ..models.dicom import TagPath
from .config import AnonymizationConfig, KeyAttribute
from .engine import anonymize, check_burned_in, sync_file_meta
from .keys import (
    Identifiers,
    KeyMatch,
    KeyService,
    insert_key,
    installation_secret,
    lock_keys,
    match_anonymous,
    match_real,
    tag_path_text,
)
from .profile import resolve_profile, supported_options
from .pseudonyms import date_shift_days, keyed_uid_map
from .reverse import restore

T = TypeVar("T")
ProfileLike = AnonymizationProfile | Sequence[ConfidentialityOption | str]
DicomSource = str | os.PathLike[str] | BinaryIO | bytes

_DATE_VRS = frozenset({"DA", "DT", "TM"})
_IDENTIFIER_TAGS = (0x00100010, 0x00100020, 0x0020000D, 0x0020000E, 0x00080018)


@attrs.frozen
class FolderAnonymization:
    """What :meth:`AnonymizationService.anonymize_folder` did, by input file."""

    written: tuple[Path, ...]
    skipped: tuple[Path, ...]  # not DICOM
    refused: tuple[Path, ...]  # burned-in annotation, or otherwise not anonymizable


def is_anonymous(ds: Dataset) -> bool:
    """PatientIdentityRemoved (0012,0062) is YES (spec §5.4.2)."""
    return str(ds.get("PatientIdentityRemoved", "") or "").strip().upper() == "YES"


def identifiers(ds: Dataset) -> Identifiers:
    """The five root-level identifiers of ``ds`` as text ("" when absent)."""
    return Identifiers(*[_text(ds.get(tag)) for tag in _IDENTIFIER_TAGS])


def _text(elem: DataElement | None) -> str:
    if elem is None or elem.value is None:
        return ""
    if elem.VR == "SQ":
        return ""
    value = elem.value
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").strip(" \x00")
    return str(value)


@attrs.define
class _Triple:
    """One key attribute of one anonymization: level, path, real and anonymized value."""

    attribute: KeyAttribute
    real: str
    anonymized: str
    custom: bool

    @property
    def path(self) -> TagPath:
        return TagPath.of(self.attribute.tag)


class AnonymizationService:
    """Anonymize with recorded keys, harmonize pseudonyms, reverse known anonymous data.

    Args:
        db: the index database (keys and the UID secret live there).
        config: key attributes and purge policy.
        secret: the UID-mapping secret; by default the installation's, from the Settings table
            (created on first use). Never logged.
    """

    def __init__(
        self,
        db: Database,
        *,
        config: AnonymizationConfig = AnonymizationConfig(),
        secret: bytes | None = None,
    ) -> None:
        self._db = db
        self._config = config
        self._secret = secret
        self._secret_lock = threading.Lock()
        self.keys = KeyService(db, config)

    # -- pseudonym sources --

    @property
    def _key(self) -> bytes:
        if self._secret is None:
            with self._secret_lock:
                if self._secret is None:
                    self._secret = installation_secret(self._db)
        return self._secret

    @property
    def uid_map(self) -> Callable[[str], str]:
        """The installation's consistent UID mapping (same input, same UID, always)."""
        return keyed_uid_map(self._key)

    def options(self) -> list[ConfidentialityOption]:
        """The options offered besides the Basic Profile (``GET /anonymization/options``)."""
        return supported_options()

    # -- anonymization --

    def anonymize_dataset(
        self,
        ds: Dataset,
        profile: ProfileLike,
        tag_values: Sequence[TagValue] = (),
        image_id: int = -1,
        *,
        force: bool = False,
        allow_burned_in: bool = False,
    ) -> Dataset:
        """Anonymize ``ds`` and record its key in one transaction; return the new dataset.

        Args:
            ds: the instance; not modified.
            profile: the options (the Basic Profile is always applied).
            tag_values: values set in the output with top priority (spec §5.4.4).
            image_id: id of the stored real image (``-1`` when there is none).
            force: anonymize even if PatientIdentityRemoved is YES; otherwise such data is
                returned unchanged (``ds`` itself) and no key is recorded (spec §5.4.2).
            allow_burned_in: see :func:`.engine.anonymize`.

        Raises:
            InvalidInput: unsupported profile, burned-in annotation, bad tag value.
        """
        out, _key, _ = self._run(
            ds, profile, tag_values, image_id, force, allow_burned_in, _encode_check
        )
        return out

    def anonymize_to_bytes(
        self,
        ds: Dataset,
        profile: ProfileLike,
        tag_values: Sequence[TagValue] = (),
        image_id: int = -1,
        *,
        force: bool = False,
        allow_burned_in: bool = False,
    ) -> bytes:
        """Like :meth:`anonymize_dataset`, but return the encoded file: the output is
        encoded once, inside the key's transaction (in-place anonymization stores it as is).

        Raises:
            InvalidInput: see :meth:`anonymize_dataset`.
        """
        _, _key, encoded = self._run(
            ds, profile, tag_values, image_id, force, allow_burned_in, _encode
        )
        return encoded

    def anonymize_bytes(
        self,
        data: bytes,
        profile: ProfileLike,
        tag_values: Sequence[TagValue] = (),
        image_id: int = -1,
        *,
        force: bool = False,
        allow_burned_in: bool = False,
    ) -> bytes:
        """Like :meth:`anonymize_file` for in-memory bytes; returns the anonymized file bytes.

        Raises:
            InvalidDicom: ``data`` is not DICOM.
            InvalidInput: see :meth:`anonymize_dataset`.
        """
        ds = _read(data)
        if not force and is_anonymous(ds):
            return bytes(data)  # spec §5.4.2: passes through unchanged, byte for byte
        _, _key, encoded = self._run(
            ds, profile, tag_values, image_id, force, allow_burned_in, _encode
        )
        return encoded

    def anonymize_file(
        self,
        src: DicomSource,
        dst: BinaryIO,
        profile: ProfileLike,
        tag_values: Sequence[TagValue] = (),
        image_id: int = -1,
        *,
        force: bool = False,
        allow_burned_in: bool = False,
    ) -> AnonymizationKey | None:
        """Read ``src``, anonymize, record the key and write the file to ``dst``.

        Returns:
            The recorded key, or None when the data passed through already anonymous.

        Raises:
            InvalidDicom: ``src`` is not DICOM.
            InvalidInput: see :meth:`anonymize_dataset`.
            OSError: writing ``dst`` failed (the key was removed again).
        """
        data = _read_bytes(src)
        ds = _read(data)
        if not force and is_anonymous(ds):
            dst.write(data)  # spec §5.4.2: passes through unchanged, byte for byte
            return None
        _, key, spool = self._run(ds, profile, tag_values, image_id, force, allow_burned_in, _spool)
        try:
            with spool:
                spool.seek(0)
                shutil.copyfileobj(spool, dst)
        except BaseException:
            if key is not None:
                self.keys.delete(key.id)
            raise
        return key

    def anonymize_folder(
        self,
        in_dir: str | os.PathLike[str],
        out_dir: str | os.PathLike[str],
        profile: ProfileLike,
        *,
        allow_burned_in: bool = False,
        force: bool = True,
    ) -> FolderAnonymization:
        """Anonymize every DICOM file under ``in_dir`` into ``out_dir`` (no server needed).

        Output files are named ``<anonymized SOP Instance UID>.dcm`` so that no identifying
        folder or file name is carried over. Keys are recorded with image id -1.

        Args:
            force: re-anonymize files already flagged PatientIdentityRemoved YES (default:
                a folder export should never pass unknown data through unchanged).

        Raises:
            InvalidInput: an unsupported profile (before any file is touched).
        """
        resolve_profile(profile)
        source, target = Path(in_dir), Path(out_dir)
        target.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        skipped: list[Path] = []
        refused: list[Path] = []
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            try:
                ds = _read(path)
            except InvalidDicom:
                skipped.append(path)
                continue
            try:
                out, _key, encoded = self._run(ds, profile, (), -1, force, allow_burned_in, _encode)
            except InvalidInput:
                refused.append(path)
                continue
            name = str(out.get("SOPInstanceUID", "") or "") or f"instance-{len(written)}"
            (target / f"{name}.dcm").write_bytes(encoded)
            written.append(path)
        return FolderAnonymization(tuple(written), tuple(skipped), tuple(refused))

    # -- reverse anonymization --

    def reverse(self, ds: Dataset) -> bool:
        """Restore real identities in anonymous data whose key is known (spec §5.4.8).

        Modifies ``ds`` in place (root-level key attributes; file meta follows).

        Returns:
            True if ``ds`` changed; False when it is not flagged anonymous or no key matches.
        """
        if not is_anonymous(ds):
            return False
        with self._db.read() as session:
            match = match_anonymous(session, identifiers(ds))
        if match.key is None:
            return False
        return restore(ds, match, self._config.all_key_attributes())

    # -- the one transaction --

    def _run(
        self,
        ds: Dataset,
        profile: ProfileLike,
        tag_values: Sequence[TagValue],
        image_id: int,
        force: bool,
        allow_burned_in: bool,
        emit: Callable[[Dataset], T],
    ) -> tuple[Dataset, AnonymizationKey | None, T]:
        if not force and is_anonymous(ds):
            return ds, None, emit(ds)
        rules = resolve_profile(profile)  # validate before touching the database
        check_burned_in(ds, allow_burned_in=allow_burned_in)
        real = identifiers(ds)
        attributes = self._config.all_key_attributes()
        custom = {tv.tag_path.tag: tv.value for tv in tag_values if len(tv.tag_path.steps) == 1}
        uid_map = self.uid_map
        secret = self._key

        def transaction(session: Session) -> tuple[Dataset, AnonymizationKey, T]:
            lock_keys(session)
            match = match_real(session, real)
            shift = None
            if rules.modified_dates:
                previous = match.key.date_shift_days if match.key is not None else None
                shift = (
                    previous
                    if previous is not None
                    else date_shift_days(secret, real.patient_name, real.patient_id)
                )
            out = anonymize(
                ds,
                rules.options,
                uid_map=uid_map,
                date_shift_days=shift,
                tag_values=tag_values,
                allow_burned_in=True,  # checked above
            )
            triples = _triples(ds, out, attributes, custom)
            _harmonize(out, triples, match)
            sync_file_meta(out)
            anonymous = identifiers(out)
            key = insert_key(
                session,
                image_id=image_id,
                real=real,
                anonymous=anonymous,
                values=[
                    (t.path, t.real, t.anonymized)
                    for t in triples
                    if t.attribute.tag not in _IDENTIFIER_TAGS
                ],
                date_shift_days=shift,
            )
            return out, key, emit(out)

        out, key, result = self._db.run_write(transaction)
        return out, key, result


def _triples(
    original: Dataset,
    out: Dataset,
    attributes: Sequence[KeyAttribute],
    custom: dict[int, str],
) -> list[_Triple]:
    """Key attributes present in the original (root level), with their anonymized values
    (spec §5.4.5): the custom value if given, else the output's value, else ""."""
    triples = []
    for attribute in attributes:
        tag = attribute.tag
        elem = original.get(tag)
        if (elem is None or elem.VR == "SQ") and tag not in _IDENTIFIER_TAGS:
            continue
        is_custom = tag in custom
        anonymized = custom[tag] if is_custom else _text(out.get(tag))
        triples.append(_Triple(attribute, _text(elem), anonymized, is_custom))
    return triples


def _harmonize(out: Dataset, triples: list[_Triple], match: KeyMatch) -> None:
    """Give the output the pseudonyms of the matched key (spec §5.4.7), for key attributes
    whose level is at most the match level and that have no custom value.

    Deviations that keep it from leaking: a stored value equal to its real value (kept by an
    earlier profile, e.g. Retain UIDs) is never re-emitted; a value the current profile keeps
    real is left alone; an empty stored value is not copied; dates/times follow the current
    profile when it removed them.
    """
    if match.key is None:
        return
    key = match.key
    stored_identifiers = {
        0x00100010: (key.patient_name, key.anon_patient_name),
        0x00100020: (key.patient_id, key.anon_patient_id),
        0x0020000D: (key.study_instance_uid, key.anon_study_instance_uid),
        0x0020000E: (key.series_instance_uid, key.anon_series_instance_uid),
        0x00080018: (key.sop_instance_uid, key.anon_sop_instance_uid),
    }
    for triple in triples:
        if triple.custom or triple.attribute.level.depth > match.level.depth:
            continue
        tag = triple.attribute.tag
        stored = stored_identifiers.get(tag) or match.values.get(tag_path_text(triple.path))
        if stored is None:
            continue
        old_real, old_anonymized = stored
        if not old_anonymized or old_anonymized == old_real:
            continue
        if triple.anonymized and triple.anonymized == triple.real:
            continue  # the current profile keeps this attribute real
        elem = out.get(tag)
        vr = elem.VR if elem is not None else _dictionary_vr(tag)
        if vr is None or vr == "SQ":
            continue
        if vr in _DATE_VRS and not triple.anonymized:
            continue
        out[tag] = DataElement(
            tag, vr, old_anonymized.split("\\") if "\\" in old_anonymized else old_anonymized
        )
        triple.anonymized = old_anonymized


def _dictionary_vr(tag: int) -> str | None:
    from pydicom.datadict import dictionary_VR

    try:
        return dictionary_VR(tag).split(" or ")[0]
    except KeyError:
        return None


# --- reading and emitting ---------------------------------------------------------------------


def _read_bytes(src: DicomSource) -> bytes:
    if isinstance(src, bytes | bytearray | memoryview):
        return bytes(src)
    if isinstance(src, str | os.PathLike):
        return Path(src).read_bytes()
    return src.read()


def _read(src: DicomSource) -> Dataset:
    try:
        if isinstance(src, bytes | bytearray | memoryview):
            return dcmread(io.BytesIO(bytes(src)))
        return dcmread(src)
    except (InvalidDicomError, EOFError, ValueError, TypeError) as exc:
        raise InvalidDicom("not a DICOM file") from exc


def _write(ds: Dataset, fp: Any) -> None:
    if getattr(ds, "file_meta", None) is not None and "TransferSyntaxUID" in ds.file_meta:
        ds.save_as(fp, enforce_file_format=True)
    else:
        ds.save_as(fp)


def _encode(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    _write(ds, buffer)
    return buffer.getvalue()


def _encode_check(ds: Dataset) -> None:
    _encode(ds)


def _spool(ds: Dataset) -> Any:
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115
    try:
        _write(ds, spool)
    except BaseException:
        spool.close()
        raise
    return spool
