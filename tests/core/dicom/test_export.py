"""Zip entry names of exported images (spec §5.18.4)."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from slicebox_core.dicom.export import zip_entry_name
from slicebox_core.models import Patient, Series, Study


def _models(
    name: str = "Doe^John",
    pid: str = "PID1",
    study_date: str = "20200101",
    series_date: str = "20200102",
    modality: str = "CT",
    ids: tuple[int, int, int] = (1, 2, 3),
) -> tuple[Patient, Study, Series]:
    patient = Patient(ids[0], name, pid, "19700101", "M")
    study = Study(ids[1], ids[0], "1.2.3", "Study", study_date, "S1", "ACC", "050Y")
    series = Series(ids[2], ids[1], "1.2.3.4", "Series", series_date, modality, "", "", "", "", "")
    return patient, study, series


def test_layout() -> None:
    assert zip_entry_name(*_models(), 42) == "1_Doe^John-PID1/2_20200101/3_20200102_CT/42.dcm"


def test_slashes_in_folder_names_become_dashes() -> None:
    name = zip_entry_name(*_models(name="a/b\\c", pid="x/y", modality="C/T"), 7)
    assert name == "1_a-b-c-x-y/2_20200101/3_20200102_C-T/7.dcm"


def test_path_tricks_are_defused() -> None:
    name = zip_entry_name(
        *_models(name="..", pid="../../etc", study_date="\x00.", modality=".."), 1
    )
    parts = name.split("/")
    assert len(parts) == 4
    assert parts[0] == "1_..-..-..-etc"
    assert parts[1] == "2__"  # NUL replaced, trailing dot dropped
    assert parts[2] == "3_20200102_"


def test_empty_values() -> None:
    name = zip_entry_name(*_models(name="", pid="", study_date="", series_date="", modality=""), 9)
    assert name == "1_-/2_/3__/9.dcm"


def test_windows_unsafe_characters() -> None:
    name = zip_entry_name(*_models(name='a:b*c?"<>|'), 1)
    assert name.split("/")[0] == "1_a_b_c_____-PID1"


texts = st.text(max_size=30)


@given(
    texts,
    texts,
    texts,
    texts,
    texts,
    st.tuples(*[st.integers(min_value=1, max_value=2**53)] * 3),
    st.integers(min_value=1, max_value=2**53),
)
def test_no_name_escapes_its_folder(
    name: str,
    pid: str,
    study_date: str,
    series_date: str,
    modality: str,
    ids: tuple[int, int, int],
    image_id: int,
) -> None:
    entry = zip_entry_name(*_models(name, pid, study_date, series_date, modality, ids), image_id)
    parts = entry.split("/")
    assert len(parts) == 4
    assert parts[3] == f"{image_id}.dcm"
    assert not entry.startswith("/")
    assert "\\" not in entry
    for part in parts:
        assert part not in ("", ".", "..")
        assert not part.startswith(".")
        assert not part.endswith((".", " ")) or part == parts[3]
        assert not any(unicodedata.category(c) == "Cc" for c in part)
        assert not set(part) & set(':*?"<>|')
    assert parts[0].startswith(f"{ids[0]}_")
    assert parts[1].startswith(f"{ids[1]}_")
    assert parts[2].startswith(f"{ids[2]}_")
