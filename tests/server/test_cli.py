"""``slicebox --version`` and ``slicebox import``, in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from slicebox_core import Slicebox
from slicebox_server.cli import main, package_version

from ..factories import dicom_bytes


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"slicebox {package_version()}"


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "serve" in capsys.readouterr().out


def test_import_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in"
    (source / "nested").mkdir(parents=True)
    first = dicom_bytes(patient_id="A")
    (source / "a.dcm").write_bytes(first)
    (source / "nested" / "b.dcm").write_bytes(dicom_bytes(patient_id="B"))
    (source / "nested" / "a-again.dcm").write_bytes(first)
    (source / "README").write_text("not dicom")
    data = tmp_path / "data"
    assert main(["import", str(source), "--data", str(data)]) == 0
    captured = capsys.readouterr()
    assert "imported 2, duplicates 1, rejected 1" in captured.out
    assert "README" in captured.err and "Invalid DICOM" in captured.err
    with Slicebox.open(data) as sb:
        assert sb.index.counts()["images"] == 2


def test_import_nothing_importable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("x")
    assert main(["import", str(junk), "--data", str(tmp_path / "d")]) == 1
    assert "imported 0, duplicates 0, rejected 1" in capsys.readouterr().out


def test_import_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(tmp_path / "nope"), "--data", str(tmp_path / "d")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_bad_configuration_is_reported_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nport = 'not a number'\n")
    file = tmp_path / "x.dcm"
    file.write_bytes(dicom_bytes())
    assert main(["import", str(file), "--config", str(config), "--data", str(tmp_path)]) == 2
    assert "server.port" in capsys.readouterr().err
