"""``slicebox check``: stored files against the index."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from slicebox_core import Slicebox
from slicebox_core.db.tables import ImageRow
from slicebox_server.cli import main

from ..factories import dicom_bytes


def test_check_reports_and_sweeps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    with Slicebox.open(data) as sb:
        kept = sb.images.add(dicom_bytes(patient_id="A")).image
        lost = sb.images.add(dicom_bytes(patient_id="B")).image
    assert main(["check", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "files in storage: 2" in out and out.strip().endswith("consistent")

    storage = data / "dicom"
    with Slicebox.open(data) as sb:
        lost_path = sb.storage.local_path(_key(sb, lost.id))
    assert lost_path is not None
    lost_path.unlink()  # a row without its file
    (storage / "999999").write_bytes(b"orphan")  # a file without its row
    (storage / ".tmp" / "tmp-interrupted").write_bytes(b"half an upload")
    assert main(["check", "--data", str(data)]) == 1
    out = capsys.readouterr().out
    assert "orphan files (no image row points to them): 1\n  999999" in out
    assert f"image rows without a file (image ids): 1\n  {lost.id}" in out
    assert "temporary files (uploads in flight or interrupted): 1\n  tmp-interrupted" in out
    assert out.strip().endswith("INCONSISTENT")

    assert main(["check", "--data", str(data), "--sweep"]) == 1  # the lost image remains
    out = capsys.readouterr().out
    assert "swept 1 orphan files and 1 temporary files" in out
    assert not (storage / "999999").exists()
    assert not (storage / ".tmp" / "tmp-interrupted").exists()
    with Slicebox.open(data) as sb:
        sb.images.delete(lost.id)
        assert sb.images.get(kept.id) is not None
    assert main(["check", "--data", str(data)]) == 0


def _key(sb: Slicebox, image_id: int) -> str:
    with sb.db.read() as session:
        return str(
            session.scalars(select(ImageRow.storageKey).where(ImageRow.id == image_id)).one()
        )


def test_check_without_an_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--data", str(tmp_path / "nothing")]) == 2
    assert "no slicebox index" in capsys.readouterr().err
