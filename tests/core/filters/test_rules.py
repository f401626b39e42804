"""Tag-tree filtering of datasets (pure)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from slicebox_core.errors import InvalidInput
from slicebox_core.filters.rules import (
    ANY,
    Step,
    apply_filters,
    covers,
    leads_to,
    tree_from_model,
    tree_from_text,
    tree_to_model,
    tree_to_text,
)
from slicebox_core.models.filters import TagTree

REF_IMAGE_SEQ = 0x00081140
REF_SOP_CLASS = 0x00081150
REF_SOP_INSTANCE = 0x00081155
PATIENT_NAME = 0x00100010
PATIENT_ID = 0x00100020


def dataset() -> Dataset:
    ds = Dataset()
    ds.PatientName = "Doe^John"
    ds.PatientID = "PID1"
    ds.Modality = "CT"
    items = []
    for n in (1, 2):
        item = Dataset()
        item.ReferencedSOPClassUID = f"1.2.{n}"
        item.ReferencedSOPInstanceUID = f"1.2.3.{n}"
        items.append(item)
    ds.ReferencedImageSequence = Sequence(items)
    ds.add_new(0x00100000, "UL", 10)  # a group length
    return ds


def tree(*steps: tuple[int, int | None]) -> tuple[Step, ...]:
    return tuple(Step(t, i) for t, i in steps)


def test_text_form_round_trips() -> None:
    t = tree((REF_IMAGE_SEQ, ANY), (REF_SOP_CLASS, None))
    assert tree_to_text(t) == "(0008,1140)[*].(0008,1150)"
    assert tree_from_text(tree_to_text(t)) == t
    item = tree((REF_IMAGE_SEQ, 2))
    assert tree_from_text("(0008,1140)[2]") == item
    with pytest.raises(ValueError):
        tree_from_text("(0008,1140)[x]")


def test_model_conversion_resolves_keywords() -> None:
    model = TagTree(
        None, "ReferencedSOPClassUID", None, TagTree(None, "ReferencedImageSequence", "*")
    )
    t = tree_from_model(model)
    assert t == tree((REF_IMAGE_SEQ, ANY), (REF_SOP_CLASS, None))
    assert tree_to_model(t) == TagTree(
        REF_SOP_CLASS,
        "ReferencedSOPClassUID",
        None,
        TagTree(REF_IMAGE_SEQ, "ReferencedImageSequence", "*"),
    )
    # unknown keyword with a tag is fine; the name comes from the dictionary on output
    assert tree_from_model(TagTree(PATIENT_NAME, "Whatever")) == tree((PATIENT_NAME, None))
    assert TagTree.of(REF_SOP_CLASS, (REF_IMAGE_SEQ, "*")).steps == (
        (REF_IMAGE_SEQ, "*"),
        (REF_SOP_CLASS, None),
    )


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (TagTree(None, "NoSuchKeyword"), "unknown DICOM keyword 'NoSuchKeyword'"),
        (TagTree(), "needs a tag or a name"),
        (TagTree(2**32), "tag must be an integer"),
        (TagTree(PATIENT_NAME, item="0"), "positive integer or"),
        (TagTree(PATIENT_NAME, item="x"), "positive integer or"),
        (TagTree(REF_SOP_CLASS, previous=TagTree(REF_IMAGE_SEQ)), "needs an item"),
    ],
)
def test_bad_trees(model: TagTree, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        tree_from_model(model)


def test_covers_and_leads_to() -> None:
    element = ((REF_IMAGE_SEQ, 2), (REF_SOP_CLASS, None))
    assert covers(tree((REF_IMAGE_SEQ, None)), element)  # a whole sequence
    assert covers(tree((REF_IMAGE_SEQ, 2)), element)  # its item
    assert covers(tree((REF_IMAGE_SEQ, ANY)), element)
    assert not covers(tree((REF_IMAGE_SEQ, 1)), element)
    assert covers(tree((REF_IMAGE_SEQ, ANY), (REF_SOP_CLASS, None)), element)
    assert not covers(tree((REF_IMAGE_SEQ, 1)), ((REF_IMAGE_SEQ, None),))
    assert leads_to(tree((REF_IMAGE_SEQ, 1)), ((REF_IMAGE_SEQ, None),))
    assert leads_to(tree((REF_IMAGE_SEQ, ANY), (REF_SOP_CLASS, None)), ((REF_IMAGE_SEQ, 2),))
    assert not leads_to(tree((REF_IMAGE_SEQ, 1), (REF_SOP_CLASS, None)), ((REF_IMAGE_SEQ, 2),))
    assert not leads_to(tree((PATIENT_NAME, None)), ((PATIENT_NAME, None),))


def test_nothing_to_do() -> None:
    ds = dataset()
    assert not apply_filters(ds, [], [])
    assert 0x00100000 in ds


def test_blacklist_attribute_and_group_lengths() -> None:
    ds = dataset()
    assert apply_filters(ds, [tree((PATIENT_NAME, None))], [])
    assert "PatientName" not in ds
    assert "PatientID" in ds
    assert 0x00100000 not in ds


def test_blacklist_nested_any_item() -> None:
    ds = dataset()
    apply_filters(ds, [tree((REF_IMAGE_SEQ, ANY), (REF_SOP_CLASS, None))], [])
    assert [("ReferencedSOPClassUID" in i, "ReferencedSOPInstanceUID" in i)
            for i in ds.ReferencedImageSequence] == [(False, True), (False, True)]  # fmt: skip


def test_blacklist_one_item_and_whole_sequence() -> None:
    ds = dataset()
    apply_filters(ds, [tree((REF_IMAGE_SEQ, 1))], [])
    assert [i.ReferencedSOPClassUID for i in ds.ReferencedImageSequence] == ["1.2.2"]
    apply_filters(ds, [tree((REF_IMAGE_SEQ, None))], [])
    assert "ReferencedImageSequence" not in ds


def test_whitelist_keeps_only_listed() -> None:
    ds = dataset()
    apply_filters(ds, [], [tree((PATIENT_ID, None))])
    assert [e.keyword for e in ds] == ["PatientID"]


def test_whitelist_sequence_keeps_its_contents() -> None:
    ds = dataset()
    apply_filters(ds, [], [tree((REF_IMAGE_SEQ, None))])
    assert [e.keyword for e in ds] == ["ReferencedImageSequence"]
    assert len(ds.ReferencedImageSequence) == 2
    assert len(ds.ReferencedImageSequence[0]) == 2


def test_whitelist_nested_attribute_keeps_the_way_to_it() -> None:
    ds = dataset()
    apply_filters(ds, [], [tree((REF_IMAGE_SEQ, ANY), (REF_SOP_INSTANCE, None))])
    assert [e.keyword for e in ds] == ["ReferencedImageSequence"]
    assert [[e.keyword for e in i] for i in ds.ReferencedImageSequence] == [
        ["ReferencedSOPInstanceUID"],
        ["ReferencedSOPInstanceUID"],
    ]
    ds = dataset()
    apply_filters(ds, [], [tree((REF_IMAGE_SEQ, 2), (REF_SOP_CLASS, None))])
    assert [[e.keyword for e in i] for i in ds.ReferencedImageSequence] == [
        ["ReferencedSOPClassUID"]
    ]


def test_blacklist_before_whitelist() -> None:
    ds = dataset()
    apply_filters(
        ds, [tree((PATIENT_ID, None))], [tree((PATIENT_ID, None)), tree((PATIENT_NAME, None))]
    )
    assert [e.keyword for e in ds] == ["PatientName"]
