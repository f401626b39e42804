"""The pure engine: private attributes, names anywhere, UIDs, dates, sequences, file meta."""

from __future__ import annotations

import copy

import pytest
from pydicom.datadict import dictionary_has_tag
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from slicebox_core.anonymize import TagValue, anonymize, check_burned_in
from slicebox_core.anonymize.pseudonyms import is_well_known_uid, keyed_uid_map
from slicebox_core.errors import InvalidInput
from slicebox_core.models.dicom import TagPath
from tests.factories import make_dataset

from .support import assert_vr_valid, encode, roundtrip, uid_map, walk

BASIC = ["BASIC_PROFILE"]
PET = "Philips PET Private Group"


def _item(**attributes: object) -> Dataset:
    item = Dataset()
    for key, value in attributes.items():
        setattr(item, key, value)
    return item


def test_input_is_not_modified_and_output_is_valid() -> None:
    ds = make_dataset(InstitutionName="General Hospital", OperatorsName="Op^Erator")
    before = copy.deepcopy(ds)
    out = anonymize(ds, BASIC, uid_map=uid_map)
    assert ds == before and ds.file_meta == before.file_meta
    back = roundtrip(out)
    assert_vr_valid(back)
    assert back.PixelData == ds.PixelData
    assert back.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID
    for gone in ("InstitutionName", "OperatorsName", "StudyDescription", "SeriesDescription"):
        assert gone not in back


def test_deidentification_markers() -> None:
    out = anonymize(make_dataset(), ["RETAIN_UIDS", "RETAIN_DEVICE_IDENTITY"], uid_map=uid_map)
    assert out.PatientIdentityRemoved == "YES"
    assert list(out.DeidentificationMethod) == [
        "Basic Profile",
        "Retain Device Identity",
        "Retain UIDs",
    ]
    codes = [
        (i.CodeValue, i.CodingSchemeDesignator) for i in out.DeidentificationMethodCodeSequence
    ]
    assert codes == [("113100", "DCM"), ("113109", "DCM"), ("113110", "DCM")]
    assert out.LongitudinalTemporalInformationModified == "REMOVED"
    full = anonymize(make_dataset(), ["RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION"], uid_map=uid_map)
    assert full.LongitudinalTemporalInformationModified == "UNMODIFIED"
    assert full.StudyDate == "20200101"


def test_patient_pseudonym_is_stable_per_patient() -> None:
    a1 = anonymize(make_dataset(patient_name="A^B", patient_id="1"), BASIC, uid_map=uid_map)
    a2 = anonymize(make_dataset(patient_name="A^B", patient_id="1"), BASIC, uid_map=uid_map)
    b = anonymize(make_dataset(patient_name="A^B", patient_id="2"), BASIC, uid_map=uid_map)
    assert str(a1.PatientName) == str(a2.PatientName) == a1.PatientID == a2.PatientID
    assert a1.PatientID.startswith("ANON-")
    assert b.PatientID != a1.PatientID
    other_secret = anonymize(
        make_dataset(patient_name="A^B", patient_id="1"), BASIC, uid_map=keyed_uid_map(b"x" * 32)
    )
    assert other_secret.PatientID != a1.PatientID


def test_private_attributes_are_removed_by_default() -> None:
    ds = make_dataset()
    block = ds.private_block(0x7053, PET, create=True)
    block.add_new(0x00, "DS", "1.5")
    other = ds.private_block(0x0009, "ACME 1.0", create=True)
    other.add_new(0x01, "LO", "Patient secret")
    other.add_new(0x02, "PN", "Private^Name")
    out = anonymize(ds, BASIC, uid_map=uid_map)
    assert not [t for t in out.keys() if t.is_private]  # noqa: SIM118


def test_retain_safe_private_keeps_listed_elements_and_their_creators() -> None:
    ds = make_dataset()
    ds.add_new(0x70530010, "LO", "Unrelated Creator")  # block 0x10 of someone else
    ds.add_new(0x70531000, "DS", "9.9")  # same element byte, wrong creator: not safe
    ds.add_new(0x70530011, "LO", PET)  # block 0x11 = the PET group
    ds.add_new(0x70531100, "DS", "0.00123")  # SUV factor: safe (Table E.3.10-1)
    ds.add_new(0x70531109, "DS", "2.5")  # activity concentration factor: safe
    ds.add_new(0x70531105, "LO", "Patient secret")  # not listed: removed
    ds.add_new(0x00990010, "LO", "NQHeader")
    ds.add_new(0x00991002, "UI", "1.2.3.4.5")  # a safe UID: kept but mapped
    nested = _item()
    nested.add_new(0x70530010, "LO", PET)
    nested.add_new(0x70531000, "DS", "3.3")
    nested.add_new(0x70531001, "LO", "nested secret")
    ds.ReferencedImageSequence = Sequence([nested])
    out = anonymize(ds, ["RETAIN_SAFE_PRIVATE"], uid_map=uid_map)
    assert out[0x70531100].value == "0.00123"
    assert out[0x70531109].value == "2.5"
    assert out[0x70530011].value == PET
    assert 0x70531105 not in out and 0x70531000 not in out and 0x70530010 not in out
    assert out[0x00991002].value == uid_map("1.2.3.4.5")
    item = out.ReferencedImageSequence[0]
    assert item[0x70531000].value == "3.3" and item[0x70530010].value == PET
    assert 0x70531001 not in item
    assert b"secret" not in encode(out)


def test_names_are_never_kept_anywhere() -> None:
    unknown = next(t for t in range(0x00080001, 0x0008FFFF) if not dictionary_has_tag(t))
    ds = make_dataset()
    ds.EvaluatorName = "Eva^Luator"  # PN not in Table E.1-1
    ds.add_new(unknown, "PN", "Unknown^Tag")  # not in the data dictionary
    deep = _item(PatientName="Deep^Name", VerifyingObserverName="Ver^Ifier")
    level3 = _item(ReferencedImageSequence=Sequence([deep]))
    level2 = _item(AnatomicRegionSequence=Sequence([level3]))
    ds.ReferencedSeriesSequence = Sequence([_item(ReferencedStudySequence=Sequence([level2]))])
    ds.DerivationCodeSequence = Sequence([_item(ReferencedImageSequence=Sequence([level2]))])
    for options in (BASIC, ["RETAIN_UIDS", "RETAIN_DEVICE_IDENTITY", "CLEAN_STRUCTURED_CONTENT"]):
        out = anonymize(ds, options, uid_map=uid_map)
        data = encode(out)
        for name in (b"Luator", b"Unknown", b"Deep", b"Ifier", b"Doe"):
            assert name not in data, (options, name)
        for elem, _depth in walk(out):
            if elem.VR == "PN" and elem.value:
                assert str(elem.value) in ("ANONYMOUS", out.PatientID)


def test_uids_are_consistent_across_images_and_references() -> None:
    study, series, frame = "1.2.826.0.1.7.1", "1.2.826.0.1.7.2", "1.2.826.0.1.7.3"
    a = make_dataset(study_uid=study, series_uid=series, FrameOfReferenceUID=frame)
    b = make_dataset(study_uid=study, series_uid=series, FrameOfReferenceUID=frame)
    ref = _item(
        ReferencedSOPClassUID=a.SOPClassUID,
        ReferencedSOPInstanceUID=a.SOPInstanceUID,
    )
    b.ReferencedImageSequence = Sequence([ref])
    b.SourceImageSequence = Sequence([copy.deepcopy(ref)])
    b.SOPInstanceUIDOfConcatenationSource = a.SOPInstanceUID  # not in Table E.1-1
    b.ReferencedSeriesSequence = Sequence(
        [_item(SeriesInstanceUID=series, ReferencedInstanceSequence=Sequence([copy.deepcopy(ref)]))]
    )
    out_a = anonymize(a, BASIC, uid_map=uid_map)
    out_b = anonymize(b, BASIC, uid_map=uid_map)
    assert out_a.StudyInstanceUID == out_b.StudyInstanceUID != study
    assert out_a.SeriesInstanceUID == out_b.SeriesInstanceUID != series
    assert out_a.FrameOfReferenceUID == out_b.FrameOfReferenceUID != frame
    assert out_a.SOPInstanceUID != out_b.SOPInstanceUID
    for seq in (out_b.ReferencedImageSequence, out_b.SourceImageSequence):
        assert seq[0].ReferencedSOPInstanceUID == out_a.SOPInstanceUID
        assert seq[0].ReferencedSOPClassUID == a.SOPClassUID  # well known: never replaced
    assert out_b.SOPInstanceUIDOfConcatenationSource == out_a.SOPInstanceUID
    nested = out_b.ReferencedSeriesSequence[0]
    assert nested.SeriesInstanceUID == out_a.SeriesInstanceUID
    assert nested.ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == out_a.SOPInstanceUID
    assert out_a.SOPClassUID == a.SOPClassUID
    assert out_a.file_meta.MediaStorageSOPInstanceUID == out_a.SOPInstanceUID
    for uid in (out_a.StudyInstanceUID, out_a.SOPInstanceUID):
        assert uid.startswith("2.25.") and len(uid) <= 64
    kept = anonymize(b, ["RETAIN_UIDS"], uid_map=uid_map)
    assert kept.StudyInstanceUID == study
    assert kept.ReferencedImageSequence[0].ReferencedSOPInstanceUID == a.SOPInstanceUID
    assert kept.SOPInstanceUIDOfConcatenationSource == a.SOPInstanceUID


def test_keyed_uid_map_is_deterministic_and_keeps_standard_uids() -> None:
    mapping = keyed_uid_map(b"s" * 32)
    assert mapping("1.2.3") == mapping("1.2.3") != mapping("1.2.4")
    assert mapping("1.2.840.10008.1.2.1") == "1.2.840.10008.1.2.1"
    assert is_well_known_uid("1.2.840.10008.5.1.4.1.1.2")
    uids = {mapping(f"1.2.826.0.1.{n}") for n in range(2000)}
    assert len(uids) == 2000
    import uuid

    for uid in list(uids)[:20]:
        value = uuid.UUID(int=int(uid[5:]))
        assert value.version == 8 and value.variant == uuid.RFC_4122


def test_burned_in_annotation_needs_an_explicit_choice() -> None:
    flagged = make_dataset(BurnedInAnnotation="YES")
    with pytest.raises(InvalidInput, match="BurnedInAnnotation"):
        anonymize(flagged, BASIC, uid_map=uid_map)
    assert anonymize(flagged, BASIC, uid_map=uid_map, allow_burned_in=True).BurnedInAnnotation
    sc = make_dataset(sop_class="1.2.840.10008.5.1.4.1.1.7")
    with pytest.raises(InvalidInput, match="Secondary Capture"):
        check_burned_in(sc, allow_burned_in=False)
    anonymize(sc, BASIC, uid_map=uid_map, allow_burned_in=True)
    check_burned_in(make_dataset(BurnedInAnnotation="NO"), allow_burned_in=False)


def test_modified_dates_shift_dates_and_keep_times() -> None:
    ds = make_dataset(
        StudyTime="101112",
        AcquisitionDateTime="20200101235959.123+0100",
        PatientBirthDate="19700101",
        DateOfManufacture="20150607",  # a date not in Table E.1-1
    )
    options = ["RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES"]
    with pytest.raises(InvalidInput):
        anonymize(ds, options, uid_map=uid_map)
    out = anonymize(ds, options, uid_map=uid_map, date_shift_days=-31)
    assert out.StudyDate == "20191201"
    assert out.StudyTime == "101112"
    assert out.AcquisitionDateTime == "20191201235959.123+0100"
    assert out.DateOfManufacture == "20150507"
    assert not out.PatientBirthDate  # Z in every column: the option does not keep it
    assert out.LongitudinalTemporalInformationModified == "MODIFIED"
    basic = anonymize(ds, BASIC, uid_map=uid_map)
    assert basic.DateOfManufacture == "19000101"
    assert "AcquisitionDateTime" not in basic


def test_compound_codes_keep_the_instance_valid() -> None:
    ds = make_dataset(
        ContentDate="20200101",
        ContentTime="101010",
        DeviceSerialNumber="SN-123456",
        ContrastBolusAgent="Iodine Phi",
    )
    ds.AcquisitionContextSequence = Sequence([_item(TextValue="phi context", ValueType="TEXT")])
    out = anonymize(ds, BASIC, uid_map=uid_map)
    assert out.ContentDate == "19000101" and out.ContentTime == "000000"  # Z/D -> D (Type 1)
    assert "ContrastBolusAgent" in out and not out.ContrastBolusAgent  # Z/D -> Z
    assert len(out.AcquisitionContextSequence) == 0  # X/Z -> Z (Type 2)
    assert "DeviceSerialNumber" not in out  # X/Z/D -> X for plain CT
    enhanced = make_dataset(sop_class="1.2.840.10008.5.1.4.1.1.2.1", DeviceSerialNumber="SN-1")
    assert anonymize(enhanced, BASIC, uid_map=uid_map).DeviceSerialNumber == "ANONYMIZED"


def _sr_content() -> Sequence:
    code = _item(CodeValue="121071", CodingSchemeDesignator="DCM", CodeMeaning="Finding")
    text = _item(
        RelationshipType="CONTAINS",
        ValueType="TEXT",
        ConceptNameCodeSequence=Sequence([code]),
        TextValue="Patient John Phi has a lesion",
    )
    person = _item(RelationshipType="HAS OBS CONTEXT", ValueType="PNAME", PersonName="Phi^Doctor")
    date = _item(RelationshipType="CONTAINS", ValueType="DATE", Date="20200202")
    return Sequence([text, person, date])


def test_dummy_sequence_keeps_structure_only() -> None:
    ds = make_dataset()
    ds.ContentSequence = _sr_content()
    out = anonymize(ds, BASIC, uid_map=uid_map)  # ContentSequence: D
    text, person, date = out.ContentSequence
    assert text.ValueType == "TEXT" and text.RelationshipType == "CONTAINS"  # CS kept
    assert text.TextValue == "ANONYMIZED"
    assert text.ConceptNameCodeSequence[0].CodeMeaning == "ANONYMIZED"
    assert person.PersonName == "ANONYMOUS"
    assert date.Date == "19000101"
    assert b"Phi" not in encode(out)
    assert_vr_valid(roundtrip(out))


def test_clean_structured_content_keeps_codes_and_removes_text() -> None:
    ds = make_dataset()
    ds.ContentSequence = _sr_content()
    out = anonymize(ds, ["CLEAN_STRUCTURED_CONTENT"], uid_map=uid_map)
    text, person, date = out.ContentSequence
    assert text.ConceptNameCodeSequence[0].CodeMeaning == "Finding"
    assert text.TextValue == "ANONYMIZED"
    assert person.PersonName == "ANONYMOUS"
    assert date.Date == "19000101"
    assert b"Phi" not in encode(out)


def test_tag_values_override_everything_at_any_path() -> None:
    ds = make_dataset()
    values = [
        TagValue(TagPath.of(0x00100010), "anon 001"),
        TagValue(TagPath.of(0x00080050), "ACC-X"),
        TagValue(TagPath.of(0x00081155, (0x00081140, 1)), "1.2.3.999"),
        TagValue(TagPath.of(0x00180050), "2.5"),  # SliceThickness DS
    ]
    out = anonymize(ds, BASIC, uid_map=uid_map, tag_values=values)
    assert out.PatientName == "anon 001"
    assert out.PatientID.startswith("ANON-")
    assert out.AccessionNumber == "ACC-X"
    assert out.ReferencedImageSequence[0].ReferencedSOPInstanceUID == "1.2.3.999"
    assert float(out.SliceThickness) == 2.5
    with pytest.raises(InvalidInput):
        anonymize(ds, BASIC, uid_map=uid_map, tag_values=[TagValue(TagPath.of(0x00080020), "soon")])
    with pytest.raises(InvalidInput):
        anonymize(ds, BASIC, uid_map=uid_map, tag_values=[TagValue(TagPath.of(0x00091001), "x")])
    with pytest.raises(InvalidInput):
        anonymize(ds, BASIC, uid_map=uid_map, tag_values=[TagValue(TagPath.of(0x00081140), "x")])


def test_file_meta_is_rebuilt() -> None:
    ds = make_dataset()
    ds.file_meta.SourceApplicationEntityTitle = "HOSPITAL_AE"
    ds.file_meta.add_new(0x00020100, "UI", "1.2.3.4")  # private information creator
    ds.file_meta.add_new(0x00020102, "OB", b"secret!!")
    out = anonymize(ds, BASIC, uid_map=uid_map)
    data = encode(out)
    assert b"HOSPITAL_AE" not in data and b"secret!!" not in data
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert out.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID


def test_dataset_without_file_meta() -> None:
    ds = make_dataset()
    del ds.file_meta
    out = anonymize(ds, BASIC, uid_map=uid_map)
    assert out.file_meta.TransferSyntaxUID
    roundtrip(out)


def test_group_lengths_and_unknown_tags_are_removed() -> None:
    ds = make_dataset()
    ds.add_new(0x00080000, "UL", 1234)
    unknown = next(t for t in range(0x00181001, 0x0018FFFF) if not dictionary_has_tag(t))
    ds.add_new(unknown, "LO", "who knows")
    out = anonymize(ds, BASIC, uid_map=uid_map)
    assert 0x00080000 not in out and unknown not in out


def test_undecoded_safe_private_sequence_is_not_kept() -> None:
    ds = make_dataset()
    ds.add_new(0x20010010, "LO", "Philips Imaging DD 001")
    ds.add_new(0x2001105F, "UN", b"\xfe\xff\x00\xe0\xff\xff\xff\xff" + b"Doe^Hidden")  # SQ
    ds.add_new(0x20011003, "UN", b"1.5 ")  # FL listed as safe: bytes are kept as they are
    out = anonymize(ds, ["RETAIN_SAFE_PRIVATE"], uid_map=uid_map)
    assert 0x2001105F not in out
    assert out[0x20011003].value == b"1.5 "
    assert b"Hidden" not in encode(out)
