"""Series-type matching on datasets (pure)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from slicebox_core.seriestypes.rules import (
    Condition,
    Rule,
    attribute_texts,
    matching_types,
    parse_tag_path,
    top_level_tags,
)

MODALITY = 0x00080060
IMAGE_TYPE = 0x00080008
BODY_PART = 0x00180015
CODE_VALUE = 0x00080100
PROCEDURE_CODE_SEQ = 0x00081032


def dataset() -> Dataset:
    ds = Dataset()
    ds.Modality = "CT"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.BodyPartExamined = "HEAD"
    item = Dataset()
    item.CodeValue = "X1"
    second = Dataset()
    second.CodeValue = "X2"
    ds.ProcedureCodeSequence = Sequence([item, second])
    return ds


def test_single_value_equality_is_exact_and_case_sensitive() -> None:
    ds = dataset()
    assert matching_types(ds, [Rule(1, (Condition(MODALITY, "CT"),))]) == {1}
    assert matching_types(ds, [Rule(1, (Condition(MODALITY, "ct"),))]) == set()
    assert matching_types(ds, [Rule(1, (Condition(MODALITY, "C"),))]) == set()


def test_multi_values_joined_by_comma_or_backslash() -> None:
    ds = dataset()
    assert attribute_texts(ds, Condition(IMAGE_TYPE, "")) == (
        "ORIGINAL,PRIMARY,AXIAL",
        "ORIGINAL\\PRIMARY\\AXIAL",
    )
    assert matching_types(ds, [Rule(1, (Condition(IMAGE_TYPE, "ORIGINAL,PRIMARY,AXIAL"),))])


def test_all_conditions_of_a_rule_any_rule_of_a_type() -> None:
    ds = dataset()
    both = Rule(1, (Condition(MODALITY, "CT"), Condition(BODY_PART, "HEAD")))
    one_wrong = Rule(2, (Condition(MODALITY, "CT"), Condition(BODY_PART, "KNEE")))
    alternative = Rule(2, (Condition(BODY_PART, "HEAD"),))
    assert matching_types(ds, [both, one_wrong]) == {1}
    assert matching_types(ds, [both, one_wrong, alternative]) == {1, 2}


def test_rule_without_conditions_matches_everything() -> None:
    assert matching_types(None, [Rule(7, ())]) == {7}
    assert matching_types(dataset(), [Rule(7, ())]) == {7}


def test_absent_attribute_is_empty_text() -> None:
    ds = dataset()
    assert matching_types(ds, [Rule(1, (Condition(0x00181030, ""),))]) == {1}
    assert matching_types(ds, [Rule(1, (Condition(0x00181030, "x"),))]) == set()


def test_tag_path_looks_in_item_one() -> None:
    ds = dataset()
    inside = Condition(CODE_VALUE, "X1", (PROCEDURE_CODE_SEQ,))
    second_item = Condition(CODE_VALUE, "X2", (PROCEDURE_CODE_SEQ,))
    missing_sequence = Condition(CODE_VALUE, "", (0x00081140,))
    assert matching_types(ds, [Rule(1, (inside,))]) == {1}
    assert matching_types(ds, [Rule(1, (second_item,))]) == set()
    assert matching_types(ds, [Rule(1, (missing_sequence,))]) == {1}
    assert top_level_tags([Rule(1, (inside, Condition(MODALITY, "CT")))]) == {
        PROCEDURE_CODE_SEQ,
        MODALITY,
    }


def test_parse_tag_path() -> None:
    assert parse_tag_path(None) == ()
    assert parse_tag_path(" ") == ()
    assert parse_tag_path("528434, 4096") == (528434, 4096)
    for bad in ("x", "0x0008", "-1", "4294967296", "1,,2"):
        with pytest.raises(ValueError):
            parse_tag_path(bad)
