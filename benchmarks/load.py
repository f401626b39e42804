"""Load: many concurrent clients mixing uploads, queries and downloads against ``slicebox serve``.

Every client loops until the time is up, choosing an operation at random: an upload of a new
instance (30 %), a query (45 %: patient listing, flat-series search, a query body, the
images of a series) or a download of an instance uploaded earlier (25 %, compared byte for
byte with what was sent). Nine clients in ten use HTTP Basic, one in ten a login session.

Afterwards every instance that was answered 200/201 is downloaded again and compared with
the bytes sent, the server is stopped and ``slicebox check`` compares storage and index.

Figures: requests/s, latency percentiles per operation, statuses, 5xx count, transport
errors, uploads acknowledged, images lost or corrupted, the consistency report.

    python benchmarks/load.py [--clients 200] [--duration 60] [--workers 4] [--threads 4]
                              [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import ExplicitVRLittleEndian

from servers import PASSWORD, SUPERUSER, slicebox_command, start_slicebox

CT = "1.2.840.10008.5.1.4.1.1.2"
PATIENTS = 40
PLACEHOLDER = "9" * 24  # same length as the counter digits that replace it
OCTETS = {"Content-Type": "application/octet-stream"}


# payloads ---------------------------------------------------------------------------------
def template(patient: int, *, rows: int = 64) -> bytes:
    """One small CT instance of ``patient`` whose SOP Instance UID ends in the placeholder."""
    sop = f"2.25.1{PLACEHOLDER}"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = sop
    ds.PatientName = f"Load^Patient{patient:03d}"
    ds.PatientID = f"L{patient:03d}"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = f"2.25.2{patient:020d}"
    ds.SeriesInstanceUID = f"2.25.3{patient:020d}"
    ds.StudyDate = "20240101"
    ds.StudyDescription = "Load"
    ds.SeriesDescription = "Load series"
    ds.StudyID = "1"
    ds.AccessionNumber = f"A{patient}"
    ds.Modality = "CT"
    ds.InstanceNumber = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = rows
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    pixels = np.random.default_rng(patient).integers(0, 4096, (rows, rows), dtype=np.uint16)
    ds.PixelData = pixels.tobytes()
    out = io.BytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


class Payloads:
    """Distinct instances, made by writing a counter over the placeholder of a template."""

    def __init__(self) -> None:
        self._templates = [template(p) for p in range(PATIENTS)]
        self._next = 0

    def new(self) -> bytes:
        self._next += 1
        digits = f"{self._next:024d}".encode()
        data = self._templates[self._next % PATIENTS]
        return data.replace(PLACEHOLDER.encode(), digits)  # meta and dataset both


# the run ----------------------------------------------------------------------------------
@dataclass
class Run:
    """What the clients saw."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    uploaded: dict[int, str] = field(default_factory=dict)  # image id -> sha256 of the bytes
    series: set[int] = field(default_factory=set)
    corrupt_downloads: int = 0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for (_, status), n in self.statuses.items() if status >= 500)


async def client(number: int, url: str, deadline: float, run: Run, payloads: Payloads) -> None:
    """One client's loop."""
    rng = random.Random(number)
    session = number % 10 == 0
    async with httpx.AsyncClient(
        base_url=url,
        auth=None if session else (SUPERUSER, PASSWORD),
        timeout=httpx.Timeout(120.0, connect=30.0),
        headers={"User-Agent": f"load-client-{number}"},
    ) as http:
        if session:
            login = await http.post("/api/users/login", json={"user": SUPERUSER, "pass": PASSWORD})
            run.statuses[("login", login.status_code)] += 1
        while time.monotonic() < deadline:
            draw = rng.random()
            try:
                if draw < 0.30 or not run.uploaded:
                    await upload(http, run, payloads)
                elif draw < 0.75:
                    await query(http, run, rng)
                else:
                    await download(http, run, rng)
            except httpx.HTTPError as exc:
                run.errors[type(exc).__name__] += 1


async def timed(run: Run, op: str, request: object) -> httpx.Response:
    start = time.perf_counter()
    response: httpx.Response = await request  # type: ignore[misc]
    run.latencies[op].append(time.perf_counter() - start)
    run.statuses[(op, response.status_code)] += 1
    return response


async def upload(http: httpx.AsyncClient, run: Run, payloads: Payloads) -> None:
    data = payloads.new()
    response = await timed(run, "upload", http.post("/api/images", content=data, headers=OCTETS))
    if response.status_code in (200, 201):
        image = response.json()
        run.uploaded[int(image["id"])] = hashlib.sha256(data).hexdigest()
        run.series.add(int(image["seriesId"]))


async def query(http: httpx.AsyncClient, run: Run, rng: random.Random) -> None:
    kind = rng.randrange(4)
    if kind == 0:
        await timed(run, "patients", http.get("/api/metadata/patients", params={"count": 50}))
    elif kind == 1:
        params = {"count": 20, "filter": f"patient{rng.randrange(PATIENTS):03d}"}
        await timed(run, "flatseries", http.get("/api/metadata/flatseries", params=params))
    elif kind == 2:
        body = {
            "startIndex": 0,
            "count": 20,
            "queryProperties": [
                {
                    "propertyName": "patientID",
                    "operator": "=",
                    "propertyValue": f"L{rng.randrange(PATIENTS):03d}",
                }
            ],
        }
        await timed(run, "query", http.post("/api/metadata/patients/query", json=body))
    else:
        series_id = rng.choice(sorted(run.series)) if run.series else 1
        params = {"seriesid": series_id, "count": 20}
        await timed(run, "images", http.get("/api/metadata/images", params=params))


async def download(http: httpx.AsyncClient, run: Run, rng: random.Random) -> None:
    image_id, digest = rng.choice(list(run.uploaded.items()))
    response = await timed(run, "download", http.get(f"/api/images/{image_id}"))
    if response.status_code == 200 and hashlib.sha256(response.content).hexdigest() != digest:
        run.corrupt_downloads += 1


async def verify(url: str, uploaded: dict[int, str]) -> tuple[int, int]:
    """Download every acknowledged instance again: (missing, corrupted)."""
    missing = corrupted = 0
    queue = list(uploaded.items())

    async def worker() -> None:
        nonlocal missing, corrupted
        async with httpx.AsyncClient(base_url=url, auth=(SUPERUSER, PASSWORD), timeout=120) as http:
            while queue:
                image_id, digest = queue.pop()
                response = await http.get(f"/api/images/{image_id}")
                if response.status_code != 200:
                    missing += 1
                elif hashlib.sha256(response.content).hexdigest() != digest:
                    corrupted += 1

    await asyncio.gather(*(worker() for _ in range(16)))
    return missing, corrupted


@dataclass
class Result:
    """The figures of one run."""

    clients: int
    duration_s: float
    requests: int
    requests_per_s: float
    server_errors: int
    transport_errors: int
    uploads_acknowledged: int
    lost: int
    corrupted: int
    corrupt_downloads: int
    consistent: bool
    report: str


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def print_figures(run: Run, result: Result) -> None:
    print(
        f"\n{result.clients} clients for {result.duration_s:.0f} s: {result.requests} requests, "
        f"{result.requests_per_s:.1f} requests/s held"
    )
    print(f"{'operation':<12}{'count':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for op, values in sorted(run.latencies.items()):
        print(
            f"{op:<12}{len(values):>8}{statistics.median(values) * 1000:>10.0f}"
            f"{percentile(values, 0.95) * 1000:>10.0f}{percentile(values, 0.99) * 1000:>10.0f}"
        )
    print("statuses: " + ", ".join(f"{op} {s}: {n}" for (op, s), n in sorted(run.statuses.items())))
    print(f"5xx responses: {result.server_errors}")
    print(f"transport errors: {result.transport_errors} {dict(run.errors)}")
    print(
        f"uploads acknowledged: {result.uploads_acknowledged}; afterwards missing: "
        f"{result.lost}, corrupted: {result.corrupted}; corrupt downloads during the run: "
        f"{result.corrupt_downloads}"
    )
    print("slicebox check:\n" + result.report)


def run_load(
    data_dir: Path,
    *,
    clients: int,
    duration_s: float,
    workers: int = 4,
    threads: int | None = None,
    database_url: str | None = None,
) -> tuple[Run, Result]:
    """Start a server in ``data_dir``, load it, verify, stop it, check it."""
    env: dict[str, str] = {}
    if threads:
        env["SLICEBOX_SERVER__THREADS"] = str(threads)
    if database_url:
        env["SLICEBOX_DATABASE__URL"] = database_url
    payloads = Payloads()
    run = Run()
    server = start_slicebox(data_dir, workers=workers, env=env)
    try:
        start = time.monotonic()
        deadline = start + duration_s

        async def main() -> None:
            await asyncio.gather(
                *(client(i, server.url, deadline, run, payloads) for i in range(clients))
            )

        asyncio.run(main())
        elapsed = time.monotonic() - start
        lost, corrupted = asyncio.run(verify(server.url, run.uploaded))
    finally:
        server.stop()
    check = subprocess.run(
        [*slicebox_command(), "check", "--data", str(data_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    result = Result(
        clients=clients,
        duration_s=elapsed,
        requests=run.requests,
        requests_per_s=run.requests / elapsed,
        server_errors=run.server_errors,
        transport_errors=sum(run.errors.values()),
        uploads_acknowledged=len(run.uploaded),
        lost=lost,
        corrupted=corrupted,
        corrupt_downloads=run.corrupt_downloads,
        consistent=check.returncode == 0,
        report=check.stdout + check.stderr,
    )
    return run, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker")
    parser.add_argument("--database-url", default=None, help="default: SQLite in the data dir")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="slicebox-load-") as tmp:
        run, result = run_load(
            Path(tmp) / "data",
            clients=args.clients,
            duration_s=args.duration,
            workers=args.workers,
            threads=args.threads,
            database_url=args.database_url,
        )
    print_figures(run, result)
    ok = (
        result.server_errors == 0
        and result.lost == 0
        and result.corrupted == 0
        and result.corrupt_downloads == 0
        and result.consistent
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
