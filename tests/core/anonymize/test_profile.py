"""Options, profiles on the wire, and per-tag resolution."""

from __future__ import annotations

import pytest

from slicebox_core import wire
from slicebox_core.anonymize import (
    AnonymizationConfig,
    AnonymizationProfile,
    ConfidentialityOption,
    KeyAttribute,
    KeyLevel,
    is_supported,
    load_table,
    resolve_profile,
    supported_options,
)
from slicebox_core.anonymize.profile import CID_7050, COLUMNS
from slicebox_core.errors import InvalidInput
from slicebox_core.models.anonymization import (
    AnonymizationData,
    AnonymizationKey,
    AnonymizationKeyQuery,
    BulkAnonymizationData,
)

SPEC_OPTIONS = [  # spec §4.4: name, title, supported by the original, rank
    ("BASIC_PROFILE", "Basic Profile", 10),
    ("CLEAN_PIXEL_DATA", "Clean Pixel Data", 20),
    ("CLEAN_RECOGNIZABLE_VISUAL_FEATURES", "Clean Visual Features", 30),
    ("CLEAN_GRAPHICS", "Clean Graphics", 40),
    ("CLEAN_STRUCTURED_CONTENT", "Clean Structured Content", 50),
    ("CLEAN_DESCRIPTORS", "Clean Descriptors", 60),
    ("RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION", "Retain Temporal Info", 70),
    (
        "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES",
        "Retain Modified Temporal Info",
        80,
    ),
    ("RETAIN_PATIENT_CHARACTERISTICS", "Retain Patient Characteristics", 90),
    ("RETAIN_DEVICE_IDENTITY", "Retain Device Identity", 100),
    ("RETAIN_INSTITUTION_IDENTITY", "Retain Institution Identity", 110),
    ("RETAIN_UIDS", "Retain UIDs", 120),
    ("RETAIN_SAFE_PRIVATE", "Retain Safe Private Attributes", 130),
]


def test_options_match_the_spec_table() -> None:
    got = [(o.name, o.title, o.rank) for o in ConfidentialityOption.all()]
    assert got == SPEC_OPTIONS
    assert ConfidentialityOption.RETAIN_UIDS.description == "Retain UIDs"
    assert (
        ConfidentialityOption.RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION.description
        == "Retain Longitudinal Temporal Information"
    )
    assert (
        ConfidentialityOption.CLEAN_RECOGNIZABLE_VISUAL_FEATURES.description
        == "Clean Recognizable Visual Features"
    )
    assert (
        ConfidentialityOption.RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES.description
        == "Retain Longitudinal Temporal Information with Modified Dates"
    )


def test_supported_options_offer_the_originals_and_more() -> None:
    offered = {o.name for o in supported_options()}
    assert "BASIC_PROFILE" not in offered
    assert {  # spec §3.7: what the original offered
        "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION",
        "RETAIN_PATIENT_CHARACTERISTICS",
        "RETAIN_DEVICE_IDENTITY",
        "RETAIN_INSTITUTION_IDENTITY",
        "RETAIN_UIDS",
        "RETAIN_SAFE_PRIVATE",
    } <= offered
    assert "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES" in offered
    assert "CLEAN_STRUCTURED_CONTENT" in offered
    for name in ("CLEAN_PIXEL_DATA", "CLEAN_DESCRIPTORS", "CLEAN_GRAPHICS"):
        assert not is_supported(name)
        assert not ConfidentialityOption.by_name(name).supported
    assert ConfidentialityOption.BASIC_PROFILE.supported
    ranks = [o.rank for o in supported_options()]
    assert ranks == sorted(ranks)


def test_option_wire_shape_and_input_reads_only_the_name() -> None:
    assert wire.unstructure(ConfidentialityOption.RETAIN_UIDS) == {
        "name": "RETAIN_UIDS",
        "title": "Retain UIDs",
        "description": "Retain UIDs",
        "rank": 120,
    }
    profile: AnonymizationProfile = wire.structure(
        {
            "options": [
                {"name": "RETAIN_UIDS", "title": "whatever", "rank": 1},
                {"name": "BASIC_PROFILE"},
            ]
        },
        AnonymizationProfile,
    )
    assert profile.options == (
        ConfidentialityOption.BASIC_PROFILE,
        ConfidentialityOption.RETAIN_UIDS,
    )
    with pytest.raises(InvalidInput):
        wire.structure({"options": [{"name": "NOT_AN_OPTION"}]}, AnonymizationProfile)
    with pytest.raises(InvalidInput):
        wire.structure({"options": [{"title": "no name"}]}, AnonymizationProfile)


def test_request_shapes_round_trip() -> None:
    data = {
        "profile": {"options": [{"name": "BASIC_PROFILE"}]},
        "tagValues": [{"tagPath": {"tag": 0x00100010, "name": "PatientName"}, "value": "anon 001"}],
    }
    parsed: AnonymizationData = wire.structure(data, AnonymizationData)
    assert parsed.tag_values[0].value == "anon 001"
    assert wire.unstructure(parsed)["tagValues"][0]["tagPath"]["tag"] == 0x00100010
    bulk: BulkAnonymizationData = wire.structure(
        {"profile": {"options": []}, "imageTagValuesSet": [{"imageId": 3, "tagValues": []}]},
        BulkAnonymizationData,
    )
    assert bulk.image_tag_values_set[0].image_id == 3
    query: AnonymizationKeyQuery = wire.structure(
        {
            "startIndex": 0,
            "count": 5,
            "queryProperties": [
                {"propertyName": "patientName", "operator": "like", "propertyValue": "Doe"}
            ],
            "order": {"orderBy": "created", "orderAscending": False},
        },
        AnonymizationKeyQuery,
    )
    assert query.order is not None and query.order.order_by == "created"


def test_key_wire_names_mirror_the_columns() -> None:
    key = AnonymizationKey(1, 2, 3, "n", "an", "i", "ai", "s", "as", "e", "ae", "o", "ao")
    data = wire.unstructure(key)
    assert set(data) == {
        "id",
        "created",
        "imageId",
        "patientName",
        "anonPatientName",
        "patientID",
        "anonPatientID",
        "studyInstanceUID",
        "anonStudyInstanceUID",
        "seriesInstanceUID",
        "anonSeriesInstanceUID",
        "sopInstanceUID",
        "anonSOPInstanceUID",
    }
    assert wire.structure(data, AnonymizationKey) == key
    shifted = AnonymizationKey(1, 2, 3, "n", "an", "i", "ai", "s", "as", "e", "ae", "o", "ao", -400)
    assert wire.unstructure(shifted)["dateShiftDays"] == -400


def test_resolution_highest_rank_wins_and_basic_always_applies() -> None:
    table = load_table()
    assert table.edition == "2023b" and len(table.rows) == 608
    no_basic = resolve_profile(["RETAIN_UIDS"])
    assert "BASIC_PROFILE" in no_basic.names
    assert no_basic.code(0x00100010) == "Z"  # PatientName: basic applies even if not asked
    assert no_basic.code(0x0020000D) == "K"
    basic = resolve_profile(AnonymizationProfile.basic())
    assert basic.code(0x0020000D) == "U"
    assert basic.code(0x00280010) is None  # Rows: not in the table
    assert basic.code(0x50001234) == "X"  # curve pattern
    assert basic.code(0x60023000) == "X"  # overlay data pattern
    assert basic.code(0x60020010) is None
    # CalibrationDateTime: device K (rank 100) beats modified dates C (rank 80)
    both = resolve_profile(
        ["RETAIN_DEVICE_IDENTITY", "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES"]
    )
    assert both.code(0x00181203) == "K"


def test_unsupported_and_contradictory_profiles_are_refused() -> None:
    with pytest.raises(InvalidInput, match="CLEAN_PIXEL_DATA"):
        resolve_profile(["CLEAN_PIXEL_DATA"])
    with pytest.raises(InvalidInput, match="mutually exclusive"):
        resolve_profile(
            [
                "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION",
                "RETAIN_LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED_DATES",
            ]
        )
    with pytest.raises(InvalidInput):
        resolve_profile(["NONSENSE"])


def test_every_option_has_its_cid_7050_code() -> None:
    assert CID_7050["BASIC_PROFILE"] == ("113100", "Basic Application Confidentiality Profile")
    assert CID_7050["RETAIN_SAFE_PRIVATE"][0] == "113111"
    assert CID_7050["RETAIN_INSTITUTION_IDENTITY"][0] == "113112"
    for option in supported_options():
        assert option.name in CID_7050
        assert option.name in COLUMNS


def test_config_defaults_and_validation() -> None:
    config = AnonymizationConfig()
    assert config.purge_empty_keys is True
    assert len(config.key_attributes) == 7
    tags = [a.tag for a in config.all_key_attributes()]
    assert tags[:7] == [
        0x00100010,
        0x00100020,
        0x0020000D,
        0x0020000E,
        0x00080018,
        0x00120062,
        0x00120063,
    ]
    assert len(tags) == 14
    assert KeyAttribute("(0008,0050)", "STUDY").level is KeyLevel.STUDY
    with pytest.raises(ValueError):
        KeyAttribute("0008,0050", KeyLevel.STUDY)
    with pytest.raises(ValueError):
        KeyAttribute("(0008,0050)", "NOPE")
