"""Keys on SQLite and PostgreSQL: recording, harmonization, reversal, browsing, purge."""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from slicebox_core.anonymize import (
    AnonymizationConfig,
    AnonymizationKeyQuery,
    AnonymizationProfile,
    AnonymizationService,
    KeyAttribute,
    KeyLevel,
    TagValue,
)
from slicebox_core.anonymize.keys import (
    CSV_HEADER,
    installation_secret,
    parse_tag_path,
    tag_path_text,
)
from slicebox_core.db.engine import Database
from slicebox_core.db.migrate import upgrade
from slicebox_core.errors import InvalidInput, NotFound
from slicebox_core.models.dicom import TagPath
from slicebox_core.models.query import ListQuery, QueryOperator, QueryOrder, QueryProperty
from tests.factories import make_dataset, to_bytes

BASIC = AnonymizationProfile.basic()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    upgrade(database)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def service(db: Database) -> AnonymizationService:
    return AnonymizationService(db)


def _series(n: int, **kwargs: object) -> list[Dataset]:
    study, series = generate_uid(), generate_uid()
    return [
        make_dataset(study_uid=study, series_uid=series, InstanceNumber=i + 1, **kwargs)  # type: ignore[arg-type]
        for i in range(n)
    ]


def test_secret_is_created_once_and_kept(db: Database) -> None:
    first = installation_secret(db)
    assert len(first) == 32
    assert installation_secret(db) == first
    assert AnonymizationService(db).uid_map("1.2.3") == AnonymizationService(db).uid_map("1.2.3")


def test_tag_path_text_round_trip() -> None:
    for path in (TagPath.of(0x00100010), TagPath.of(0x00081155, (0x00081140, 2))):
        assert parse_tag_path(tag_path_text(path)) == path
    with pytest.raises(ValueError):
        parse_tag_path("PatientName")


def test_a_key_per_anonymization_with_its_values(service: AnonymizationService) -> None:
    ds = make_dataset(patient_name="Doe^Jane", patient_id="P7")
    out = service.anonymize_dataset(ds, BASIC, image_id=42)
    [key] = service.keys.list()
    assert key.image_id == 42
    assert (key.patient_name, key.patient_id) == ("Doe^Jane", "P7")
    assert (key.anon_patient_name, key.anon_patient_id) == (str(out.PatientName), out.PatientID)
    assert key.sop_instance_uid == ds.SOPInstanceUID
    assert key.anon_sop_instance_uid == out.SOPInstanceUID
    assert key.anon_study_instance_uid == out.StudyInstanceUID
    assert key.created > 1_600_000_000_000 and key.date_shift_days is None
    values = {
        tag_path_text(v.tag_path): (v.value, v.anonymized_value)
        for v in service.keys.values(key.id)
    }
    assert values == {
        "(0008,0050)": ("ACC1", ""),
        "(0008,1030)": ("Study", ""),
        "(0020,0010)": ("1", ""),
        "(0008,103E)": ("Series", ""),
        "(0010,0030)": ("19700101", ""),
    }
    service.anonymize_dataset(ds, BASIC, image_id=42)
    assert len(service.keys.list()) == 2  # every anonymization records a key
    assert service.keys.get(key.id) == key


def test_harmonization_per_level(service: AnonymizationService) -> None:
    first, second = _series(2, patient_name="Doe^John", patient_id="P1")
    custom = [
        TagValue(TagPath.of(0x00100010), "anon 001"),
        TagValue(TagPath.of(0x00080050), "ACC-ANON"),
        TagValue(TagPath.of(0x0008103E), "series anon"),
    ]
    out1 = service.anonymize_dataset(first, BASIC, custom, image_id=1)
    out2 = service.anonymize_dataset(second, BASIC, image_id=2)
    assert str(out1.PatientName) == str(out2.PatientName) == "anon 001"
    assert out1.PatientID == out2.PatientID
    assert out2.AccessionNumber == "ACC-ANON"  # study level matched
    assert out2.SeriesDescription == "series anon"  # series level matched
    other_study = make_dataset(patient_name="Doe^John", patient_id="P1")
    out3 = service.anonymize_dataset(other_study, BASIC, image_id=3)
    assert str(out3.PatientName) == "anon 001"  # patient level only
    assert not out3.get("AccessionNumber") and "SeriesDescription" not in out3
    assert out3.StudyInstanceUID != out1.StudyInstanceUID
    stranger = service.anonymize_dataset(make_dataset(patient_name="Roe^Rick"), BASIC)
    assert stranger.PatientID != out1.PatientID
    # a custom value always wins and is harmonized for later images of the patient; an image
    # anonymized before keeps matching its own, more specific, image-level key (spec §5.4.5)
    renamed = service.anonymize_dataset(
        second, BASIC, [TagValue(TagPath.of(0x00100010), "anon 002")], image_id=2
    )
    assert str(renamed.PatientName) == "anon 002"
    third = make_dataset(patient_name="Doe^John", patient_id="P1")
    assert str(service.anonymize_dataset(third, BASIC, image_id=4).PatientName) == "anon 002"
    assert str(service.anonymize_dataset(first, BASIC, image_id=1).PatientName) == "anon 001"


def test_harmonization_never_re_emits_real_values(service: AnonymizationService) -> None:
    ds = make_dataset(patient_name="Doe^John", patient_id="P1")
    kept = service.anonymize_dataset(ds, ["RETAIN_UIDS"], image_id=1)
    assert kept.StudyInstanceUID == ds.StudyInstanceUID
    later = service.anonymize_dataset(ds, BASIC, image_id=1)
    assert later.StudyInstanceUID != ds.StudyInstanceUID
    assert later.SOPInstanceUID == service.uid_map(ds.SOPInstanceUID)


def test_modified_dates_use_one_shift_per_patient(service: AnonymizationService) -> None:
    option = ["RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES"]
    a, b = _series(2, patient_name="Doe^John", patient_id="P1")
    b.StudyDate = "20200301"
    out_a = service.anonymize_dataset(a, option, image_id=1)
    out_b = service.anonymize_dataset(b, option, image_id=2)
    keys = service.keys.list()
    shift = keys[0].date_shift_days
    assert shift is not None and shift == keys[1].date_shift_days and shift < 0
    import datetime as dt

    days = (dt.date(2020, 3, 1) - dt.date(2020, 1, 1)).days
    got = dt.datetime.strptime(out_b.StudyDate, "%Y%m%d") - dt.datetime.strptime(
        out_a.StudyDate, "%Y%m%d"
    )
    assert got.days == days  # intervals survive


def test_reverse_restores_key_attributes(service: AnonymizationService) -> None:
    ds = make_dataset(patient_name="Doe^John", patient_id="P1", AccessionNumber="ACC9")
    anonymous = dcmread(io.BytesIO(service.anonymize_bytes(to_bytes(ds), BASIC, image_id=5)))
    assert anonymous.PatientIdentityRemoved == "YES"
    assert service.reverse(anonymous) is True
    assert str(anonymous.PatientName) == "Doe^John" and anonymous.PatientID == "P1"
    assert anonymous.StudyInstanceUID == ds.StudyInstanceUID
    assert anonymous.SeriesInstanceUID == ds.SeriesInstanceUID
    assert anonymous.SOPInstanceUID == ds.SOPInstanceUID
    assert anonymous.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert anonymous.AccessionNumber == "ACC9"
    assert anonymous.StudyDescription == "Study" and anonymous.PatientBirthDate == "19700101"
    assert anonymous.PatientIdentityRemoved == "YES"  # the original had none to restore
    assert service.reverse(anonymous) is False  # no longer matches anything anonymous


def test_reverse_restores_only_up_to_the_matched_level(service: AnonymizationService) -> None:
    ds = make_dataset(patient_name="Doe^John", patient_id="P1")
    anonymous = service.anonymize_dataset(ds, BASIC, image_id=5)
    other_image = anonymous.copy()
    other_image.SOPInstanceUID = generate_uid()
    other_image.SeriesInstanceUID = generate_uid()
    other_image.StudyInstanceUID = generate_uid()
    new_study = other_image.StudyInstanceUID
    assert service.reverse(other_image) is True
    assert str(other_image.PatientName) == "Doe^John"
    assert other_image.StudyInstanceUID == new_study  # patient-level match only
    assert "AccessionNumber" not in other_image or not other_image.AccessionNumber


def test_reverse_ignores_unknown_and_identified_data(service: AnonymizationService) -> None:
    unknown = make_dataset(PatientIdentityRemoved="YES")
    assert service.reverse(unknown) is False
    assert service.reverse(make_dataset()) is False


def test_configured_key_attributes(db: Database) -> None:
    config = AnonymizationConfig(key_attributes=(KeyAttribute("(0008,0080)", KeyLevel.STUDY),))
    service = AnonymizationService(db, config=config)
    ds = make_dataset(InstitutionName="General Hospital")
    out = service.anonymize_dataset(ds, BASIC, image_id=1)
    [key] = service.keys.list()
    [value] = service.keys.values(key.id)
    assert tag_path_text(value.tag_path) == "(0008,0080)"
    assert value.value == "General Hospital" and "InstitutionName" not in out
    assert service.reverse(out) and out.InstitutionName == "General Hospital"


def test_listing_paging_order_and_filter(service: AnonymizationService) -> None:
    for n, name in enumerate(["Alpha^A", "beta^B", "Gamma^C", "alphonse^D"]):
        service.anonymize_dataset(make_dataset(patient_name=name, patient_id=f"ID{n}"), BASIC)
    keys = service.keys
    assert [k.patient_name for k in keys.list()] == ["Alpha^A", "beta^B", "Gamma^C", "alphonse^D"]
    assert [k.patient_name for k in keys.list(ListQuery(start_index=1, count=2))] == [
        "beta^B",
        "Gamma^C",
    ]
    by_name = keys.list(ListQuery(order_by="patientID", order_ascending=False))
    assert [k.patient_id for k in by_name] == ["ID3", "ID2", "ID1", "ID0"]
    assert {k.patient_name for k in keys.list(ListQuery(filter="ALPH"))} == {
        "Alpha^A",
        "alphonse^D",
    }
    assert keys.list(ListQuery(filter="%")) == []  # a prefix, not a pattern
    anon = keys.list()[2].anon_patient_id
    assert [k.patient_name for k in keys.list(ListQuery(filter=anon.lower()))] == ["Gamma^C"]
    with pytest.raises(InvalidInput):
        keys.list(ListQuery(order_by="nope"))
    with pytest.raises(InvalidInput):
        keys.list(ListQuery(start_index=-1))


def test_query(service: AnonymizationService) -> None:
    for n, name in enumerate(["Alpha^A", "beta^B", "Gamma^C"]):
        service.anonymize_dataset(
            make_dataset(patient_name=name, patient_id=f"ID{n}"), BASIC, image_id=n
        )
    keys = service.keys

    def query(*props: QueryProperty, order: QueryOrder | None = None) -> list[str]:
        found = keys.query(AnonymizationKeyQuery(0, 10, props, order))
        return [k.patient_name for k in found]

    assert query(QueryProperty("patientName", QueryOperator.LIKE, "a^")) == [
        "Alpha^A",
        "beta^B",
        "Gamma^C",
    ]
    assert query(QueryProperty("patientName", QueryOperator.LIKE, "mma")) == ["Gamma^C"]
    assert query(QueryProperty("patientID", QueryOperator.EQUALS, "ID1")) == ["beta^B"]
    assert query(QueryProperty("imageId", QueryOperator.EQUALS, "2")) == ["Gamma^C"]
    assert query(order=QueryOrder("imageId", False)) == ["Gamma^C", "beta^B", "Alpha^A"]
    with pytest.raises(InvalidInput):
        query(QueryProperty("PatientName; DROP", QueryOperator.EQUALS, "x"))
    with pytest.raises(InvalidInput):
        query(QueryProperty("imageId", QueryOperator.EQUALS, "two"))


def test_get_delete_and_values(service: AnonymizationService) -> None:
    service.anonymize_dataset(make_dataset(), BASIC)
    [key] = service.keys.list()
    assert service.keys.values(key.id)
    service.keys.delete(key.id)
    with pytest.raises(NotFound):
        service.keys.get(key.id)
    assert service.keys.values(key.id) == []
    service.keys.delete(key.id)  # idempotent


def test_csv_export(service: AnonymizationService) -> None:
    service.anonymize_dataset(
        make_dataset(patient_name="Doe^J", patient_id="P1"), BASIC, image_id=7
    )
    bare = make_dataset(patient_name="Bare^B", patient_id="P2")
    for keyword in ("AccessionNumber", "StudyDescription", "StudyID", "SeriesDescription"):
        delattr(bare, keyword)
    del bare.PatientBirthDate
    service.anonymize_dataset(bare, BASIC, image_id=8)
    lines = list(service.keys.export_csv())
    assert lines[0] == ";".join(CSV_HEADER) + "\r\n"
    rows = [line.rstrip("\r\n").split(";") for line in lines[1:]]
    first = [r for r in rows if r[1] == "7"]
    assert len(first) == 5 and {r[13] for r in first} >= {"(0008,0050)", "(0010,0030)"}
    assert first[0][3] == "Doe^J"
    [second] = [r for r in rows if r[1] == "8"]
    assert second[13:] == ["(0000,0000)", "", ""]


def test_purge_images(service: AnonymizationService) -> None:
    service.anonymize_dataset(make_dataset(), BASIC, image_id=1)
    service.anonymize_dataset(make_dataset(), BASIC, image_id=1)
    service.anonymize_dataset(make_dataset(), BASIC, image_id=2)
    assert service.keys.purge_images([1, 99]) == 2
    assert [k.image_id for k in service.keys.list()] == [2]
    service.keys.on_images_deleted([2])
    assert service.keys.list() == []


def test_hundred_images_of_a_series_concurrently(service: AnonymizationService) -> None:
    images = _series(100, patient_name="Con^Current", patient_id="C1")
    with ThreadPoolExecutor(max_workers=8) as pool:
        outs = list(
            pool.map(
                lambda p: service.anonymize_dataset(p[1], BASIC, image_id=p[0]), enumerate(images)
            )
        )
    assert len({o.PatientID for o in outs}) == 1
    assert len({str(o.PatientName) for o in outs}) == 1
    assert len({o.StudyInstanceUID for o in outs}) == 1
    assert len({o.SeriesInstanceUID for o in outs}) == 1
    assert len({o.SOPInstanceUID for o in outs}) == 100
    keys = service.keys.list(ListQuery(count=1000))
    assert len(keys) == 100
    assert len({k.anon_patient_id for k in keys}) == 1


def test_concurrent_harmonization_of_a_custom_pseudonym(service: AnonymizationService) -> None:
    images = _series(30, patient_name="Con^Current", patient_id="C2")
    custom = [TagValue(TagPath.of(0x00100020), "TRIAL-007")]
    service.anonymize_dataset(images[0], BASIC, custom, image_id=0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outs = list(pool.map(lambda ds: service.anonymize_dataset(ds, BASIC), images[1:]))
    assert {o.PatientID for o in outs} == {"TRIAL-007"}
