"""kill -9 of the whole server while uploads are in flight, then a restart.

Every upload that was answered 2xx must still be there, byte for byte; no image row may
point to a missing file. An upload cut off by the kill may leave a temporary file or a
file without a row (moved into place, transaction not committed): ``slicebox check``
reports them and ``--sweep`` removes them, after which the data directory is consistent.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx
import pytest

from ..factories import dicom_bytes
from .live import PASSWORD, SUPERUSER, LiveServer, run_cli

pytestmark = [pytest.mark.integration, pytest.mark.slow]

UPLOADERS = 8
OCTETS = {"Content-Type": "application/octet-stream"}


def test_kill_9_during_uploads(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    acknowledged: dict[int, bytes] = {}
    cut_off = 0
    lock = threading.Lock()
    stop = threading.Event()

    def uploader(worker: int, url: str) -> None:
        nonlocal cut_off
        with httpx.Client(base_url=url, auth=(SUPERUSER, PASSWORD), timeout=30) as http:
            n = 0
            while not stop.is_set():
                n += 1
                data = dicom_bytes(patient_id=f"K{worker}-{n}", rows=256, columns=256, pixel_seed=n)
                try:
                    answer = http.post("/api/images", content=data, headers=OCTETS)
                except httpx.HTTPError:
                    with lock:
                        cut_off += 1
                    return  # the server is gone
                if answer.status_code in (200, 201):
                    with lock:
                        acknowledged[int(answer.json()["id"])] = data
                else:
                    assert answer.status_code < 500, answer.text

    server = LiveServer(data_dir, workers=2).start()
    threads = [
        threading.Thread(target=uploader, args=(i, server.url), daemon=True)
        for i in range(UPLOADERS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(3 + random.random() * 2)  # uploads are in flight all the time
    with lock:
        before_kill = len(acknowledged)
    server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert before_kill > 0

    after_kill = run_cli("check", "--data", str(data_dir))
    print(
        f"\nkill -9 with {UPLOADERS} uploaders: {len(acknowledged)} uploads acknowledged, "
        f"{cut_off} cut off by the kill"
    )
    print("slicebox check right after the kill:\n" + after_kill.stdout)
    assert "image rows without a file (image ids): 0" in after_kill.stdout

    restarted = LiveServer(data_dir, workers=2).start()
    try:
        with httpx.Client(base_url=restarted.url, auth=(SUPERUSER, PASSWORD), timeout=30) as http:
            lost = [
                image_id
                for image_id, data in acknowledged.items()
                if http.get(f"/api/images/{image_id}").content != data
            ]
    finally:
        assert restarted.stop() == 0
    print(
        f"after restart: {len(acknowledged) - len(lost)} of {len(acknowledged)} "
        f"acknowledged images intact, {len(lost)} lost"
    )
    assert not lost

    swept = run_cli("check", "--data", str(data_dir), "--sweep")
    print("slicebox check --sweep:\n" + swept.stdout)
    final = run_cli("check", "--data", str(data_dir))
    assert final.returncode == 0, final.stdout + final.stderr
