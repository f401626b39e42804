"""Anonymization throughput: slicebox (library and REST) side by side with Orthanc.

Rows, each over the same CT-like 512x512 corpus (``corpus.py``; 100 images per study):

* core file       ``sb.anonymization.anonymize_file`` per file: engine plus key, no storage
* core in place   ``ImageAnonymizer.anonymize_images``, one call per study, on images ingested
                  beforehand (read, anonymize, record key, store, delete the original)
* slicebox        ``POST /api/anonymization/anonymize``, one request per study, against a live
                  ``slicebox serve`` holding the images
* Orthanc         ``POST /studies/{id}/anonymize`` (synchronous), one request per study, on
                  Debian's Orthanc holding the same images (it keeps the originals; slicebox
                  deletes them)

Uploads before the timed part are not measured. Ratios: slicebox / Orthanc and core in place /
Orthanc in images per second (target >= 1.0).

    python benchmarks/anonymize.py [--count 1000] [--skip-core] [--skip-slicebox]
                                   [--skip-orthanc] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from corpus import layout, write_corpus
from ingest import upload
from servers import PASSWORD, SUPERUSER, start_orthanc, start_slicebox

BASIC = {"options": [{"name": "BASIC_PROFILE"}]}


@dataclass
class Row:
    name: str
    images: int
    seconds: float

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds

    def line(self) -> str:
        return f"{self.name:<44} {self.images:>7} {self.seconds:>8.2f} {self.images_per_s:>9.1f}"


HEADER = f"{'row':<44} {'images':>7} {'s':>8} {'images/s':>9}"


def studies_of(count: int) -> list[list[int]]:
    """Corpus indexes grouped by study, in corpus order."""
    groups: dict[str, list[int]] = {}
    for spec in layout(count):
        uid = spec.study["StudyInstanceUID"]
        groups.setdefault(uid, []).extend(
            range(spec.first_index, spec.first_index + len(spec.sop_uids))
        )
    return list(groups.values())


def upload_ids(url: str, paths: list[Path], *, clients: int, auth: tuple[str, str]) -> list[int]:
    """POST every file to slicebox; return the image ids in path order."""
    ids = [0] * len(paths)
    lock = threading.Lock()
    failures: list[str] = []

    def run(share: list[int]) -> None:
        with httpx.Client(auth=auth, timeout=120) as client:
            for i in share:
                response = client.post(
                    url,
                    content=paths[i].read_bytes(),
                    headers={"Content-Type": "application/octet-stream"},
                )
                if response.status_code != 201:
                    with lock:
                        failures.append(f"{paths[i].name}: {response.status_code}")
                    return
                ids[i] = int(response.json()["id"])

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, [list(range(len(paths)))[k::clients] for k in range(clients)]))
    if failures:
        raise RuntimeError(f"{len(failures)} uploads failed, first: {failures[0]}")
    return ids


def profiled(enabled: bool, fn: Callable[[], Any]) -> float:
    """Run ``fn``; return seconds. With ``enabled``, print the top of a cProfile."""
    profile = cProfile.Profile() if enabled else None
    t0 = time.perf_counter()
    if profile is not None:
        profile.enable()
    fn()
    if profile is not None:
        profile.disable()
    seconds = time.perf_counter() - t0
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    return seconds


# rows ------------------------------------------------------------------------------------------
def bench_core_file(paths: list[Path], work: Path, *, profile: bool) -> float:
    from slicebox_core import Slicebox
    from slicebox_core.models.anonymization import AnonymizationProfile

    class Sink:
        def write(self, data: bytes) -> int:
            return len(data)

    basic = AnonymizationProfile.basic()
    with Slicebox.open(work / "core-file") as sb:
        sb.anonymization.anonymize_file(paths[0], Sink(), basic)  # secret, caches
        sb.anonymization.keys.delete_many(k.id for k in sb.anonymization.keys.list())

        def run() -> None:
            for path in paths:
                sb.anonymization.anonymize_file(path, Sink(), basic)  # type: ignore[arg-type]

        return profiled(profile, run)


def bench_core_in_place(paths: list[Path], work: Path, *, profile: bool) -> float:
    from slicebox_core import Slicebox
    from slicebox_core.anonymize.images import ImageAnonymizer
    from slicebox_core.models.anonymization import (
        AnonymizationProfile,
        BulkAnonymizationData,
        ImageTagValues,
    )

    with Slicebox.open(work / "core-in-place") as sb:
        ids = [sb.images.add(path).image.id for path in paths]
        anonymizer = getattr(sb, "image_anonymizer", None) or ImageAnonymizer(
            sb.images, sb.anonymization
        )
        basic = AnonymizationProfile.basic()
        bodies = [
            BulkAnonymizationData(basic, tuple(ImageTagValues(ids[i], ()) for i in study))
            for study in studies_of(len(paths))
        ]

        def run() -> None:
            for body in bodies:
                new = anonymizer.anonymize_images(body)
                if len(new) != len(body.image_tag_values_set):
                    raise RuntimeError(f"{len(new)} of {len(body.image_tag_values_set)} done")

        seconds = profiled(profile, run)
        if sb.index.counts()["images"] != len(paths):
            raise RuntimeError("in-place anonymization lost or duplicated images")
        return seconds


def bench_slicebox(paths: list[Path], work: Path, *, workers: int | None) -> float:
    auth = (SUPERUSER, PASSWORD)
    with start_slicebox(work / "slicebox", workers=workers) as server:
        ids = upload_ids(f"{server.url}/api/images", paths, clients=4, auth=auth)
        bodies = [
            {
                "profile": BASIC,
                "imageTagValuesSet": [{"imageId": ids[i], "tagValues": []} for i in s],
            }
            for s in studies_of(len(paths))
        ]
        with httpx.Client(base_url=server.url, auth=auth, timeout=600) as client:
            t0 = time.perf_counter()
            for body in bodies:
                response = client.post("/api/anonymization/anonymize", json=body)
                if response.status_code != 200 or len(response.json()) != len(
                    body["imageTagValuesSet"]
                ):
                    raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
            seconds = time.perf_counter() - t0
        if server.proc.poll() is not None:
            raise RuntimeError(f"slicebox died:\n{server.log_tail()}")
        return seconds


def bench_orthanc(paths: list[Path], work: Path) -> float:
    with start_orthanc(work / "orthanc") as server:
        upload(f"{server.url}/instances", paths, clients=4, ok={200})
        with httpx.Client(base_url=server.url, timeout=600) as client:
            studies = client.get("/studies").json()
            t0 = time.perf_counter()
            for study in studies:
                response = client.post(f"/studies/{study}/anonymize", json={})
                if response.status_code != 200 or "ID" not in response.json():
                    raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
            seconds = time.perf_counter() - t0
            instances = len(client.get("/instances").json())
        if instances != 2 * len(paths):
            raise RuntimeError(f"Orthanc holds {instances} instances, expected {2 * len(paths)}")
        return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=None, help="slicebox serve --workers")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (cached)")
    parser.add_argument("--skip-core", action="store_true")
    parser.add_argument("--skip-slicebox", action="store_true")
    parser.add_argument("--skip-orthanc", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the core rows")
    args = parser.parse_args(argv)

    corpus_dir = args.corpus or Path(tempfile.gettempdir()) / f"slicebox-bench/ct-{args.count}"
    t0 = time.perf_counter()
    paths = write_corpus(corpus_dir, args.count)
    print(
        f"corpus: {len(paths)} CT 512x512 files in {len(studies_of(len(paths)))} studies,"
        f" {corpus_dir} ({time.perf_counter() - t0:.1f} s)"
    )
    print(HEADER, flush=True)
    rows: dict[str, Row] = {}

    def record(key: str, name: str, seconds: float) -> None:
        rows[key] = Row(name, len(paths), seconds)
        print(rows[key].line(), flush=True)

    with tempfile.TemporaryDirectory(prefix="slicebox-anonymize-") as tmp:
        work = Path(tmp)
        if not args.skip_core:
            seconds = bench_core_file(paths, work, profile=args.profile)
            record("core-file", "core anonymize_file (no storage)", seconds)
            seconds = bench_core_in_place(paths, work, profile=args.profile)
            record("core", "core anonymize_images (in place, per study)", seconds)
        if not args.skip_slicebox:
            seconds = bench_slicebox(paths, work, workers=args.workers)
            record("slicebox", "slicebox POST /api/anonymization/anonymize", seconds)
        if not args.skip_orthanc:
            record("orthanc", "Orthanc POST /studies/{id}/anonymize", bench_orthanc(paths, work))

    theirs = rows.get("orthanc")
    if theirs:
        for key, label in (("slicebox", "slicebox REST"), ("core", "core in place")):
            ours = rows.get(key)
            if ours:
                ratio = ours.images_per_s / theirs.images_per_s
                print(f"{label} / Orthanc: {ratio:.2f} (target >= 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
