"""Full storage: uploads answer 507 and nothing half-written stays behind.

Two ways to fill the disk: a real one (the storage folder on a 2 MiB tmpfs mounted here,
behind a live ``slicebox serve``; needs root, skipped otherwise) and injected ``ENOSPC``
failures at each write step of the storage layer (in-process, always runs).
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from falcon import testing

from slicebox_core import Slicebox
from slicebox_server import create_app
from slicebox_server.cli import consistency

from ..factories import dicom_bytes
from ..server.auth_headers import ADMIN
from ..server.fixtures import open_box
from .live import PASSWORD, SUPERUSER, LiveServer, run_cli

pytestmark = pytest.mark.integration

OCTETS = {"Content-Type": "application/octet-stream"}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_full_disk_behind_a_live_server(tmp_path: Path, small_disk: Path) -> None:
    env = {"SLICEBOX_STORAGE__PATH": str(small_disk)}
    images = [dicom_bytes(patient_id=f"FULL{i}", rows=300, columns=300) for i in range(24)]
    accepted: dict[int, bytes] = {}
    statuses: list[int] = []
    with LiveServer(tmp_path / "data", env=env) as server:
        auth = (SUPERUSER, PASSWORD)
        with httpx.Client(base_url=server.url, auth=auth, timeout=60) as http:

            def upload(data: bytes) -> tuple[int, bytes, dict[str, object]]:
                answer = http.post("/api/images", content=data, headers=OCTETS)
                body = answer.json() if answer.status_code in (200, 201) else {}
                return answer.status_code, data, body

            with ThreadPoolExecutor(4) as pool:  # concurrent writers fill the disk together
                for status, data, body in pool.map(upload, images):
                    statuses.append(status)
                    if status in (200, 201):
                        accepted[int(body["id"])] = data  # type: ignore[arg-type]
            refused = http.post("/api/images", content=images[-1], headers=OCTETS)
            print(
                f"\ndisk full: {len(accepted)} uploads stored, "
                f"{statuses.count(507)} refused with 507, other statuses "
                f"{sorted(s for s in statuses if s not in (200, 201, 507))}"
            )
            assert set(statuses) <= {200, 201, 507}, statuses
            assert statuses.count(507) >= 1 and accepted
            assert refused.status_code == 507
            assert refused.headers["content-type"].startswith("text/plain")
            assert "full" in refused.text
            for image_id, data in accepted.items():  # every 2xx is whole
                assert http.get(f"/api/images/{image_id}").content == data
            # freeing space makes room again
            for image_id in list(accepted)[:3]:
                assert http.delete(f"/api/images/{image_id}").status_code == 204
                del accepted[image_id]
            again = http.post("/api/images", content=images[-1], headers=OCTETS)
            assert again.status_code in (200, 201), again.text
            accepted[int(again.json()["id"])] = images[-1]
    # nothing half-written: exactly one file per stored image, no temporary files
    stored = files_under(small_disk)
    assert sorted(p.name for p in stored) == sorted(str(i) for i in accepted)
    assert [p.read_bytes() for p in stored] == [accepted[int(p.name)] for p in stored]
    check = run_cli("check", "--data", str(tmp_path / "data"), env=env)
    print(check.stdout)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Slicebox]:
    sb = open_box(tmp_path / "data")
    try:
        yield sb
    finally:
        sb.close()


def no_space(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize(
    "target",
    [
        "slicebox_core.images.spool.os.fsync",  # spooling the upload
        "slicebox_core.storage.local.os.replace",  # moving it under its key
        "slicebox_core.storage.local.os.fsync",  # making the rename durable
    ],
)
def test_injected_enospc_is_507_and_leaves_nothing(
    box: Slicebox, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    sim = testing.TestClient(create_app(box))
    kept = sim.simulate_post("/api/images", body=dicom_bytes(patient_id="KEPT"), headers=ADMIN)
    assert kept.status_code == 201
    monkeypatch.setattr(target, no_space)
    failed = sim.simulate_post(
        "/api/images", body=dicom_bytes(patient_id="LOST"), headers={**ADMIN, **OCTETS}
    )
    assert failed.status_code == 507, failed.text
    assert failed.text == "Storage is full: the file was not stored"
    monkeypatch.undo()
    report = consistency(box)
    assert report.consistent, report
    assert report.files == 1
    patients = sim.simulate_get("/api/metadata/patients", headers=ADMIN).json
    assert [p["patientID"]["value"] for p in patients] == ["KEPT"]
