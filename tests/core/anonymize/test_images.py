"""Stored images anonymized in place and as a download, on the real facade (spec §5.18.7)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.uid import SecondaryCaptureImageStorage

from slicebox_core import Slicebox, load_config
from slicebox_core.anonymize.images import BurnedInAnnotation, ImageAnonymizer
from slicebox_core.errors import InvalidInput, NotFound
from slicebox_core.events import ImageAdded, ImagesDeleted
from slicebox_core.models import Source, SourceType, TagPath
from slicebox_core.models.anonymization import (
    AnonymizationData,
    AnonymizationProfile,
    BulkAnonymizationData,
    ImageTagValues,
    TagValue,
)
from tests.factories import dicom_bytes, make_dataset, to_bytes

BASIC = AnonymizationData(AnonymizationProfile.basic(), ())
SCP = Source(SourceType.SCP, "modality", 7)


def anonymizer(sb: Slicebox) -> ImageAnonymizer:
    return sb.image_anonymizer


@pytest.fixture
def keeping(db_url: str, tmp_path: Path) -> Iterator[Slicebox]:
    """A slicebox that keeps the keys of deleted images (purge_empty_keys off)."""
    config = load_config(
        None,
        {},
        overrides={
            "data_dir": str(tmp_path / "keeping"),
            "database.url": db_url,
            "anonymization.purge_empty_keys": False,
        },
    )
    box = Slicebox(config)
    try:
        yield box
    finally:
        box.close()


def test_anonymize_image_replaces_the_image_keeping_source_and_tags(sb: Slicebox) -> None:
    old = sb.images.add(dicom_bytes(patient_name="Doe^John", patient_id="P1"), source=SCP).image
    sb.series_tags.tag_series(old.series_id, "research")
    added: list[ImageAdded] = []
    deleted: list[ImagesDeleted] = []
    sb.events.subscribe(ImageAdded, added.append)
    sb.events.subscribe(ImagesDeleted, deleted.append)

    new = anonymizer(sb).anonymize_image(old.id, BASIC)

    assert new.id != old.id and new.sop_instance_uid != old.sop_instance_uid
    with pytest.raises(NotFound):
        sb.images.get(old.id)
    assert sb.index.counts()["images"] == 1
    [patient] = sb.index.patients()
    assert patient.patient_name.startswith("ANON-") and patient.patient_id != "P1"
    ds = sb.images.dataset(new.id)
    assert ds.PatientIdentityRemoved == "YES"
    assert "Doe" not in str(ds.PatientName)
    assert sb.images.series_source(new.series_id) == SCP
    assert [t.name for t in sb.series_tags.of_series(new.series_id)] == ["research"]
    assert [e.image_id for e in added] == [new.id]
    assert [e.image_ids for e in deleted] == [(old.id,)]


def test_the_key_of_an_in_place_anonymization_is_purged_with_the_original(sb: Slicebox) -> None:
    # spec §5.4.9: purge_empty_keys (default) deletes the key together with the original
    old = sb.images.add(dicom_bytes()).image
    anonymizer(sb).anonymize_image(old.id, BASIC)
    assert sb.anonymization.keys.list() == []


def test_in_place_anonymization_records_the_key_and_never_reverses(keeping: Slicebox) -> None:
    old = keeping.images.add(dicom_bytes(patient_name="Doe^John", patient_id="P1")).image
    new = anonymizer(keeping).anonymize_image(old.id, BASIC)
    [key] = keeping.anonymization.keys.list()
    assert key.image_id == old.id
    assert key.patient_id == "P1" and key.anon_sop_instance_uid == new.sop_instance_uid
    # the key matches the stored copy, yet the copy stays anonymous (no reverse on store)
    ds = keeping.images.dataset(new.id)
    assert ds.PatientID == key.anon_patient_id
    assert [p.patient_id for p in keeping.index.patients()] == [key.anon_patient_id]


def test_already_anonymous_data_is_anonymized_again(keeping: Slicebox) -> None:
    data = dicom_bytes(
        patient_name="Pseudo^One",
        patient_id="PSEUDO1",
        PatientIdentityRemoved="YES",
        DeidentificationMethod="elsewhere",
    )
    old = keeping.images.add(data).image  # no key known: stored as is
    new = anonymizer(keeping).anonymize_image(old.id, BASIC)
    ds = keeping.images.dataset(new.id)
    assert ds.PatientID != "PSEUDO1"
    assert ds.DeidentificationMethod != "elsewhere"
    # the markers were stripped first, so the key records the data without them
    [key] = keeping.anonymization.keys.list()
    paths = {str(v.tag_path): v.value for v in keeping.anonymization.keys.values(key.id)}
    assert paths.get("(0012,0062)", "") == ""
    assert paths.get("(0012,0063)", "") == ""


def test_tag_values_win(sb: Slicebox) -> None:
    old = sb.images.add(dicom_bytes()).image
    data = AnonymizationData(
        AnonymizationProfile.basic(), (TagValue(TagPath.of(0x00100010), "anon 001"),)
    )
    new = anonymizer(sb).anonymize_image(old.id, data)
    assert str(sb.images.dataset(new.id).PatientName) == "anon 001"


def test_unknown_image_is_not_found_with_the_original_message(sb: Slicebox) -> None:
    with pytest.raises(NotFound, match=r"^No image meta data found for image id 999$"):
        anonymizer(sb).anonymize_image(999, BASIC)
    with pytest.raises(NotFound, match=r"^No image meta data found for image id 999$"):
        anonymizer(sb).anonymized_bytes(999, BASIC)


def test_burned_in_annotation_is_refused_unless_allowed(sb: Slicebox) -> None:
    old = sb.images.add(dicom_bytes(BurnedInAnnotation="YES")).image
    with pytest.raises(BurnedInAnnotation) as info:
        anonymizer(sb).anonymize_image(old.id, BASIC)
    assert isinstance(info.value, InvalidInput) and info.value.image_id == old.id
    assert sb.images.get(old.id) == old
    assert sb.anonymization.keys.list() == []
    allowed = AnonymizationData(AnonymizationProfile.basic(), (), allow_burned_in_annotations=True)
    assert anonymizer(sb).anonymize_image(old.id, allowed).id != old.id


def test_secondary_capture_counts_as_burned_in(sb: Slicebox) -> None:
    old = sb.images.add(dicom_bytes(sop_class=SecondaryCaptureImageStorage)).image
    with pytest.raises(BurnedInAnnotation):
        anonymizer(sb).anonymized_bytes(old.id, BASIC)
    assert anonymizer(sb).anonymized_bytes(old.id, BASIC, allow_burned_in=True)


def test_anonymize_images_skips_missing_and_repeated_ids(sb: Slicebox) -> None:
    series = {"patient_id": "P1", "study_uid": "1.2.3.4", "series_uid": "1.2.3.4.5"}
    ids = [sb.images.add(dicom_bytes(**series)).image.id for _ in range(6)]
    requested = [*ids, ids[0], 12345]
    data = BulkAnonymizationData(
        AnonymizationProfile(),  # the Basic Profile is added
        tuple(ImageTagValues(i, ()) for i in requested),
    )
    new = anonymizer(sb).anonymize_images(data)
    assert len(new) == 6 and not set(i.id for i in new) & set(ids)
    assert sb.index.counts()["images"] == 6
    # one real patient -> one pseudonymous patient, one study, one series
    assert sb.index.counts()["patients"] == 1
    assert len({i.series_id for i in new}) == 1
    [patient] = sb.index.patients()
    assert patient.patient_id != "P1"


def test_anonymize_images_with_tag_values_per_image(sb: Slicebox) -> None:
    a = sb.images.add(dicom_bytes(patient_id="A")).image
    b = sb.images.add(dicom_bytes(patient_id="B")).image
    name = TagPath.of(0x00100010)
    data = BulkAnonymizationData(
        AnonymizationProfile.basic(),
        (ImageTagValues(a.id, (TagValue(name, "anon A"),)), ImageTagValues(b.id, ())),
    )
    anonymizer(sb).anonymize_images(data)
    names = sorted(p.patient_name for p in sb.index.patients())
    assert names[0].startswith("ANON-") and names[1] == "anon A"


def test_anonymize_images_refuses_everything_for_one_burned_in_image(sb: Slicebox) -> None:
    clean = [sb.images.add(dicom_bytes()).image for _ in range(3)]
    burned = sb.images.add(dicom_bytes(BurnedInAnnotation="YES")).image
    data = BulkAnonymizationData(
        AnonymizationProfile.basic(),
        tuple(ImageTagValues(i.id, ()) for i in [*clean, burned]),
    )
    with pytest.raises(BurnedInAnnotation, match=f"Image {burned.id} "):
        anonymizer(sb).anonymize_images(data)
    for image in [*clean, burned]:
        assert sb.images.get(image.id) == image
    assert len(anonymizer(sb).anonymize_images(data, allow_burned_in=True)) == 4


def test_anonymize_images_with_an_unsupported_profile_changes_nothing(sb: Slicebox) -> None:
    image = sb.images.add(dicom_bytes()).image
    data = BulkAnonymizationData(
        AnonymizationProfile.of("CLEAN_PIXEL_DATA"), (ImageTagValues(image.id, ()),)
    )
    with pytest.raises(InvalidInput):
        anonymizer(sb).anonymize_images(data)
    assert sb.images.get(image.id) == image


def test_anonymize_images_of_nothing(sb: Slicebox) -> None:
    assert anonymizer(sb).anonymize_images(BulkAnonymizationData(AnonymizationProfile(), ())) == []


def test_anonymized_bytes_leave_storage_alone_and_record_a_key(sb: Slicebox) -> None:
    data = dicom_bytes(patient_name="Doe^John", patient_id="P1")
    image = sb.images.add(data).image
    out = anonymizer(sb).anonymized_bytes(image.id, BASIC)
    ds = dcmread(io.BytesIO(out))
    assert ds.PatientIdentityRemoved == "YES" and ds.PatientID != "P1"
    assert b"Doe^John" not in out
    assert sb.images.read_bytes(image.id) == data
    [key] = sb.anonymization.keys.list()
    assert key.image_id == image.id and key.anon_patient_id == ds.PatientID


def test_anonymized_bytes_of_anonymous_data_are_the_stored_bytes(sb: Slicebox) -> None:
    data = dicom_bytes(PatientIdentityRemoved="YES")
    image = sb.images.add(data).image
    assert anonymizer(sb).anonymized_bytes(image.id, BASIC) == data
    assert sb.anonymization.keys.list() == []


def test_anonymized_bytes_coming_back_get_their_real_identity(sb: Slicebox) -> None:
    original = make_dataset(patient_name="Doe^John", patient_id="P1")
    image = sb.images.add(to_bytes(original)).image
    out = anonymizer(sb).anonymized_bytes(image.id, BASIC)
    back = sb.images.add(out)  # as if a box sent it back
    assert back.overwrite and back.image.id == image.id
    ds = sb.images.dataset(image.id)
    assert str(ds.PatientName) == "Doe^John" and ds.PatientID == "P1"
    assert ds.SOPInstanceUID == original.SOPInstanceUID
    assert sb.index.counts()["patients"] == 1


def test_anonymize_images_deletes_the_originals_at_once(sb: Slicebox) -> None:
    ids = [sb.images.add(dicom_bytes(patient_id="P1")).image.id for _ in range(5)]
    deleted: list[ImagesDeleted] = []
    sb.events.subscribe(ImagesDeleted, deleted.append)
    data = BulkAnonymizationData(AnonymizationProfile(), tuple(ImageTagValues(i, ()) for i in ids))
    anonymizer(sb).anonymize_images(data)
    assert [sorted(e.image_ids) for e in deleted] == [ids]
    assert sb.anonymization.keys.list() == []  # purged with the originals (spec §5.4.9)


def test_anonymize_images_records_a_key_per_original(keeping: Slicebox) -> None:
    ids = [keeping.images.add(dicom_bytes(patient_id="P1")).image.id for _ in range(3)]
    data = BulkAnonymizationData(AnonymizationProfile(), tuple(ImageTagValues(i, ()) for i in ids))
    new = anonymizer(keeping).anonymize_images(data)
    keys = keeping.anonymization.keys.list()
    assert sorted(k.image_id for k in keys) == ids
    assert {k.anon_sop_instance_uid for k in keys} == {i.sop_instance_uid for i in new}
    assert len({k.anon_patient_id for k in keys}) == 1  # harmonized
