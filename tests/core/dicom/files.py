"""pydicom's test files by name (pydicom-data makes the larger ones available offline)."""

from __future__ import annotations

from pydicom.data import get_testdata_file


def data_file(name: str) -> str:
    """The path of one of pydicom's test files."""
    path = get_testdata_file(name)
    assert isinstance(path, str), f"pydicom test file {name} is not available"
    return path
