"""DICOM C-STORE throughput and C-FIND latency of slicebox's SCP.

Store rows, each on an empty store, the same files sent by dcmtk's ``storescu``:

* storescp   dcmtk's ``storescp`` writing files (the ceiling: no index at all)
* Orthanc    Debian's Orthanc (SQLite index, local storage)
* slicebox   slicebox's SCP in this process (embedded SQLite + local folder)

with 1 association and with ``--parallel`` concurrent storescu processes (one association
each). Ratios: slicebox / Orthanc (target >= 1.0) and slicebox / storescp (target >= 0.5).

C-FIND: ``--find-images`` index rows (default 100,000; inserted directly, not ingested: the
query is measured, not ingest) and study-level C-FINDs through the SCP, timed end to end
(association, query, all responses, release) with pynetdicom as the SCU.

    python benchmarks/dicom_store.py [--count 1000] [--parallel 4] [--find-images 100000]

dcmtk and Orthanc get ``TCP_NODELAY=1`` (Debian's builds leave Nagle on otherwise); slicebox
sets it on its own sockets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from corpus import write_corpus
from servers import free_port, start_orthanc

DCMTK = Path("/usr/bin")
ENV = {**os.environ, "TCP_NODELAY": "1"}


@dataclass
class Row:
    name: str
    images: int
    nbytes: int
    seconds: float

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds

    @property
    def mb_per_s(self) -> float:
        return self.nbytes / 1e6 / self.seconds

    def line(self) -> str:
        return (
            f"{self.name:<30} {self.images:>7} {self.nbytes / 1e6:>8.1f} {self.seconds:>8.2f}"
            f" {self.images_per_s:>9.1f} {self.mb_per_s:>8.1f}"
        )


HEADER = f"{'row':<30} {'images':>7} {'MB':>8} {'s':>8} {'images/s':>9} {'MB/s':>8}"


def storescu(paths: list[Path], port: int, aec: str, parallel: int) -> float:
    """Send ``paths`` with ``parallel`` storescu processes; return seconds (raises on failure)."""
    shares = [paths[i::parallel] for i in range(parallel)]
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            [str(DCMTK / "storescu"), "-aec", aec, "127.0.0.1", str(port), *map(str, share)],
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for share in shares
    ]
    errors = [p.communicate()[1] for p in procs]
    elapsed = time.perf_counter() - t0
    for proc, err in zip(procs, errors, strict=True):
        if proc.returncode != 0:
            raise RuntimeError(f"storescu failed: {err.decode()[-400:]}")
    return elapsed


def wait_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def bench_storescp(paths: list[Path], work: Path, parallel: int) -> float:
    out = work / "storescp"
    out.mkdir(parents=True)
    port = free_port()
    args = [str(DCMTK / "storescp"), "-od", str(out)]
    if parallel > 1:
        args.append("--fork")
    proc = subprocess.Popen([*args, str(port)], env=ENV, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        seconds = storescu(paths, port, "STORESCP", parallel)
    finally:
        proc.terminate()
        proc.wait(10)
    stored = sum(1 for _ in out.iterdir())
    if stored != len(paths):
        raise RuntimeError(f"storescp stored {stored} of {len(paths)}")
    return seconds


def bench_orthanc(paths: list[Path], work: Path, parallel: int) -> float:
    with start_orthanc(work / "orthanc") as server:
        config = json.loads((work / "orthanc" / "orthanc.json").read_text())
        port = int(config["DicomPort"])
        wait_port(port)
        seconds = storescu(paths, port, "ORTHANC", parallel)
        import httpx

        count = httpx.get(f"{server.url}/statistics").json()["CountInstances"]
    if count != len(paths):
        raise RuntimeError(f"Orthanc stored {count} of {len(paths)}")
    return seconds


def open_slicebox(work: Path) -> tuple[object, object, int]:
    from slicebox_core import Slicebox
    from slicebox_core.network import NetworkService, NetworkSettings

    sb = Slicebox.open(work / "slicebox")
    net = NetworkService(
        sb.db,
        sb.images,
        sb.index,
        sb.log,
        sb.config,
        events=sb.events,
        settings=NetworkSettings(bind_host="127.0.0.1"),
    )
    port = free_port()
    net.create_scp("bench", "SLICEBOX", port)
    net.start_listeners(poll_interval=0)
    return sb, net, port


def bench_slicebox(paths: list[Path], work: Path, parallel: int) -> float:
    from sqlalchemy import func, select

    from slicebox_core.db.tables import ImageRow

    sb, net, port = open_slicebox(work)
    try:
        seconds = storescu(paths, port, "SLICEBOX", parallel)
        with sb.db.read() as session:  # type: ignore[attr-defined]
            count = session.scalar(select(func.count(ImageRow.id)))
    finally:
        net.stop_listeners()  # type: ignore[attr-defined]
        sb.close()  # type: ignore[attr-defined]
    if count != len(paths):
        raise RuntimeError(f"slicebox stored {count} of {len(paths)}")
    return seconds


# C-FIND ---------------------------------------------------------------------------------------
def fill_index(sb: object, images: int) -> tuple[int, int]:
    """Insert ``images`` index rows: 25 per series, 2 series per study, 2 studies per patient.

    Returns (patients, studies).
    """
    from sqlalchemy import insert

    from slicebox_core.db.tables import ImageRow, PatientRow, SeriesRow, StudyRow

    per_series, series_per_study, studies_per_patient = 25, 2, 2
    n_series = images // per_series
    n_studies = n_series // series_per_study
    n_patients = n_studies // studies_per_patient
    last = ["Andersson", "Berg", "Chen", "Diaz", "Eriksson", "Fischer", "Garcia", "Hansen"]
    db = sb.db  # type: ignore[attr-defined]
    with db.write() as session:
        session.execute(
            insert(PatientRow),
            [
                {
                    "id": p + 1,
                    "patientName": f"{last[p % len(last)]}^Patient{p}",
                    "patientID": f"PID{p:06d}",
                    "patientBirthDate": f"19{50 + p % 50:02d}0101",
                    "patientSex": "MF"[p % 2],
                }
                for p in range(n_patients)
            ],
        )
        session.execute(
            insert(StudyRow),
            [
                {
                    "id": s + 1,
                    "patientId": s // studies_per_patient + 1,
                    "studyInstanceUID": f"1.2.826.0.1.3680043.9.7.{s}",
                    "studyDescription": "Study",
                    "studyDate": f"20{10 + s % 15:02d}{1 + s % 12:02d}{1 + s % 28:02d}",
                    "studyID": str(s),
                    "accessionNumber": f"ACC{s}",
                    "patientAge": "050Y",
                }
                for s in range(n_studies)
            ],
        )
        session.execute(
            insert(SeriesRow),
            [
                {
                    "id": r + 1,
                    "studyId": r // series_per_study + 1,
                    "seriesInstanceUID": f"1.2.826.0.1.3680043.9.8.{r}",
                    "seriesDescription": "Series",
                    "seriesDate": "20200101",
                    "modality": ("CT", "MR")[r % 2],
                    "protocolName": "",
                    "bodyPartExamined": "CHEST",
                    "manufacturer": "ACME",
                    "stationName": "",
                    "frameOfReferenceUID": "",
                }
                for r in range(n_series)
            ],
        )
        batch = 20_000
        for start in range(0, n_series * per_series, batch):
            session.execute(
                insert(ImageRow),
                [
                    {
                        "id": i + 1,
                        "seriesId": i // per_series + 1,
                        "sopInstanceUID": f"1.2.826.0.1.3680043.9.9.{i}",
                        "imageType": "ORIGINAL\\PRIMARY",
                        "instanceNumber": str(i % per_series + 1),
                        "storageKey": f"bench-{i}",
                        "sizeBytes": 0,
                        "sha256": "",
                        "sopClassUID": "1.2.840.10008.5.1.4.1.1.2",
                        "transferSyntaxUID": "1.2.840.10008.1.2.1",
                    }
                    for i in range(start, min(start + batch, n_series * per_series))
                ],
            )
    return n_patients, n_studies


def find(assoc: object, keys: dict[str, str]) -> int:
    """One study-level C-FIND on ``assoc``; the number of matches."""
    from pydicom.dataset import Dataset
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind as FIND

    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = ""
    ds.PatientName = ""
    ds.PatientID = ""
    ds.StudyDate = ""
    for key, value in keys.items():
        setattr(ds, key, value)
    responses = assoc.send_c_find(ds, FIND)  # type: ignore[attr-defined]
    return sum(1 for status, _ in responses if status.Status in (0xFF00, 0xFF01))


def bench_find(work: Path, images: int, repeat: int) -> list[tuple[str, int, float, float, float]]:
    """Study-level C-FIND latencies: (query, matches, median ms, p95 ms, with association ms).

    "median"/"p95" are C-FINDs on one open association (the query and its responses);
    "+assoc" adds association and release, as a one-off ``findscu`` would pay.
    """
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind as FIND

    from slicebox_core.network.scp import set_tcp_nodelay

    sb, net, port = open_slicebox(work)
    try:
        t0 = time.perf_counter()
        patients, studies = fill_index(sb, images)
        print(
            f"index: {images} images, {studies} studies, {patients} patients "
            f"(inserted in {time.perf_counter() - t0:.1f} s)"
        )
        queries = {
            "PatientID exact": {"PatientID": f"PID{patients // 2:06d}"},
            "StudyInstanceUID exact": {
                "StudyInstanceUID": f"1.2.826.0.1.3680043.9.7.{studies // 3}"
            },
            "PatientName wildcard (1/8)": {"PatientName": "Chen*"},
            "StudyDate range (1 year)": {"StudyDate": "20150101-20151231"},
            "all studies + counts": {"NumberOfStudyRelatedInstances": "", "ModalitiesInStudy": ""},
        }
        ae = AE(ae_title="BENCH")
        ae.add_requested_context(FIND)
        handlers = [(evt.EVT_CONN_OPEN, set_tcp_nodelay)]  # as slicebox's own SCU does
        results = []
        for name, keys in queries.items():
            on_open: list[float] = []  # one association for all runs: the query itself
            fresh: list[float] = []  # association + query + release, as a one-off findscu
            matches = 0
            assoc = ae.associate("127.0.0.1", port, ae_title="SLICEBOX", evt_handlers=handlers)
            for _ in range(repeat):
                t = time.perf_counter()
                matches = find(assoc, keys)
                on_open.append((time.perf_counter() - t) * 1000)
            assoc.release()
            for _ in range(max(3, repeat // 4)):
                t = time.perf_counter()
                one = ae.associate("127.0.0.1", port, ae_title="SLICEBOX", evt_handlers=handlers)
                find(one, keys)
                one.release()
                fresh.append((time.perf_counter() - t) * 1000)
            on_open.sort()
            p95 = on_open[min(len(on_open) - 1, round(0.95 * (len(on_open) - 1)))]
            results.append(
                (name, matches, statistics.median(on_open), p95, statistics.median(fresh))
            )
        return results
    finally:
        net.stop_listeners()  # type: ignore[attr-defined]
        sb.close()  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=4, help="concurrent storescu (0 = skip)")
    parser.add_argument("--find-images", type=int, default=100_000, help="0 = skip C-FIND")
    parser.add_argument("--find-repeat", type=int, default=20)
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (cached)")
    parser.add_argument("--skip-orthanc", action="store_true")
    parser.add_argument("--skip-storescp", action="store_true")
    args = parser.parse_args(argv)

    corpus_dir = args.corpus or Path(tempfile.gettempdir()) / f"slicebox-bench/ct-{args.count}"
    paths = write_corpus(corpus_dir, args.count)
    nbytes = sum(p.stat().st_size for p in paths)
    print(f"corpus: {len(paths)} CT 512x512 files, {nbytes / 1e6:.1f} MB in {corpus_dir}\n")

    benches = {"storescp": bench_storescp, "Orthanc": bench_orthanc, "slicebox": bench_slicebox}
    if args.skip_orthanc:
        del benches["Orthanc"]
    if args.skip_storescp:
        del benches["storescp"]
    modes = [1] + ([args.parallel] if args.parallel > 1 else [])
    rates: dict[tuple[str, int], float] = {}
    print(HEADER)
    for parallel in modes:
        for name, bench in benches.items():
            with tempfile.TemporaryDirectory(prefix="sbx-dicom-") as tmp:
                seconds = bench(paths, Path(tmp), parallel)
            row = Row(f"{name} ({parallel} assoc.)", len(paths), nbytes, seconds)
            rates[(name, parallel)] = row.images_per_s
            print(row.line(), flush=True)
    print()
    for parallel in modes:
        sbx = rates[("slicebox", parallel)]
        parts = [f"{parallel} assoc.:"]
        if ("Orthanc", parallel) in rates:
            parts.append(
                f"slicebox/Orthanc {sbx / rates[('Orthanc', parallel)]:.2f} (target >= 1.0)"
            )
        if ("storescp", parallel) in rates:
            parts.append(
                f"slicebox/storescp {sbx / rates[('storescp', parallel)]:.2f} (target >= 0.5)"
            )
        print("  ".join(parts))

    if args.find_images:
        n, runs = args.find_images, args.find_repeat
        print(f"\nC-FIND, study level, {n} indexed images, {runs} runs each")
        with tempfile.TemporaryDirectory(prefix="sbx-find-") as tmp:
            found = bench_find(Path(tmp), n, runs)
            print(f"{'query':<30} {'matches':>8} {'median ms':>10} {'p95 ms':>8} {'+assoc ms':>10}")
            for name, matches, median, p95, fresh in found:
                print(f"{name:<30} {matches:>8} {median:>10.1f} {p95:>8.1f} {fresh:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
