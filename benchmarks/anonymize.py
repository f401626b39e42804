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

Every row is prepared first (ingest/uploads, not timed); then the studies are anonymized one by
one, each by every row in turn, so the load of a shared machine weighs on all rows alike.
Ratios: slicebox / Orthanc, core in place / Orthanc (target >= 1.0) and the engine alone.

    python benchmarks/anonymize.py [--count 1000] [--workers N] [--skip-core]
                                   [--skip-slicebox] [--skip-orthanc]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from corpus import layout, write_corpus
from ingest import upload
from servers import PASSWORD, SUPERUSER, Server, start_orthanc, start_slicebox

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


def settle(server: Server, *, idle_percent: float = 5.0, timeout_s: float = 300.0) -> None:
    """Wait until ``server`` and its children use less than ``idle_percent`` of one CPU, so
    that work left from the uploads (the job worker's series-type refresh) does not slow the
    timed rows."""
    deadline = time.monotonic() + timeout_s
    root = psutil.Process(server.proc.pid)
    while time.monotonic() < deadline:
        procs = [root, *root.children(recursive=True)]
        for proc in procs:
            proc.cpu_percent(None)
        time.sleep(1.0)
        busy = 0.0
        for proc in procs:
            try:
                busy += proc.cpu_percent(None)
            except psutil.NoSuchProcess:
                pass
        if busy < idle_percent:
            return
    raise RuntimeError(f"{server.name} still busy after {timeout_s} s")


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


# contenders: prepare() is not timed, study(i) anonymizes the i-th study and is ----------------
class CoreFile:
    """``sb.anonymization.anonymize_file`` per file (engine and key, nothing stored)."""

    key, name = "core-file", "core anonymize_file (no storage)"

    def __init__(self, paths: list[Path], studies: list[list[int]], work: Path) -> None:
        from slicebox_core import Slicebox
        from slicebox_core.models.anonymization import AnonymizationProfile

        self.paths, self.studies = paths, studies
        self.sb = Slicebox.open(work / "core-file")
        self.basic = AnonymizationProfile.basic()
        self.sink = open(os.devnull, "wb")  # noqa: SIM115 - closed by close()

    def prepare(self) -> None:
        self.sb.anonymization.anonymize_file(self.paths[0], self.sink, self.basic)  # caches
        self.sb.anonymization.keys.delete_many(k.id for k in self.sb.anonymization.keys.list())

    def study(self, i: int) -> None:
        for index in self.studies[i]:
            self.sb.anonymization.anonymize_file(self.paths[index], self.sink, self.basic)

    def close(self) -> None:
        self.sink.close()
        self.sb.close()


class CoreInPlace:
    """``ImageAnonymizer.anonymize_images`` on images ingested beforehand."""

    key, name = "core", "core anonymize_images (in place)"

    def __init__(self, paths: list[Path], studies: list[list[int]], work: Path) -> None:
        from slicebox_core import Slicebox

        self.paths, self.studies = paths, studies
        self.sb = Slicebox.open(work / "core-in-place")
        self.bodies: list[Any] = []

    def prepare(self) -> None:
        from slicebox_core.anonymize.images import ImageAnonymizer
        from slicebox_core.models.anonymization import (
            AnonymizationProfile,
            BulkAnonymizationData,
            ImageTagValues,
        )

        ids = [self.sb.images.add(path).image.id for path in self.paths]
        self.anonymizer = getattr(self.sb, "image_anonymizer", None) or ImageAnonymizer(
            self.sb.images, self.sb.anonymization
        )
        basic = AnonymizationProfile.basic()
        self.bodies = [
            BulkAnonymizationData(basic, tuple(ImageTagValues(ids[i], ()) for i in study))
            for study in self.studies
        ]

    def study(self, i: int) -> None:
        body = self.bodies[i]
        done = self.anonymizer.anonymize_images(body)
        if len(done) != len(body.image_tag_values_set):
            raise RuntimeError(f"{len(done)} of {len(body.image_tag_values_set)} anonymized")

    def close(self) -> None:
        try:
            if self.sb.index.counts()["images"] != len(self.paths):
                raise RuntimeError("in-place anonymization lost or duplicated images")
        finally:
            self.sb.close()


class SliceboxRest:
    """``POST /api/anonymization/anonymize`` per study against ``slicebox serve``."""

    key, name = "slicebox", "slicebox POST /api/anonymization/anonymize"

    def __init__(
        self, paths: list[Path], studies: list[list[int]], work: Path, workers: int | None
    ) -> None:
        self.paths, self.studies = paths, studies
        self.server = start_slicebox(work / "slicebox", workers=workers)
        self.auth = (SUPERUSER, PASSWORD)
        self.client = httpx.Client(base_url=self.server.url, auth=self.auth, timeout=600)
        self.bodies: list[dict[str, Any]] = []

    def prepare(self) -> None:
        ids = upload_ids(f"{self.server.url}/api/images", self.paths, clients=4, auth=self.auth)
        settle(self.server)
        self.bodies = [
            {
                "profile": BASIC,
                "imageTagValuesSet": [{"imageId": ids[i], "tagValues": []} for i in study],
            }
            for study in self.studies
        ]

    def study(self, i: int) -> None:
        body = self.bodies[i]
        response = self.client.post("/api/anonymization/anonymize", json=body)
        if response.status_code != 200 or len(response.json()) != len(body["imageTagValuesSet"]):
            raise RuntimeError(f"{response.status_code}: {response.text[:300]}")

    def close(self) -> None:
        self.client.close()
        alive = self.server.proc.poll() is None
        self.server.stop()
        if not alive:
            raise RuntimeError(f"slicebox died:\n{self.server.log_tail()}")


class Orthanc:
    """``POST /studies/{id}/anonymize`` (synchronous) per study on Debian's Orthanc."""

    key, name = "orthanc", "Orthanc POST /studies/{id}/anonymize"

    def __init__(self, paths: list[Path], studies: list[list[int]], work: Path) -> None:
        self.paths, self.studies = paths, studies
        self.server = start_orthanc(work / "orthanc")
        self.client = httpx.Client(base_url=self.server.url, timeout=600)
        self.ids: list[str] = []

    def prepare(self) -> None:
        upload(f"{self.server.url}/instances", self.paths, clients=4, ok={200})
        settle(self.server)
        by_uid = {
            study["MainDicomTags"]["StudyInstanceUID"]: study["ID"]
            for study in self.client.get("/studies", params={"expand": ""}).json()
        }
        uids = [study_uid(self.paths[group[0]]) for group in self.studies]
        self.ids = [by_uid[uid] for uid in uids]

    def study(self, i: int) -> None:
        response = self.client.post(f"/studies/{self.ids[i]}/anonymize", json={})
        if response.status_code != 200 or "ID" not in response.json():
            raise RuntimeError(f"{response.status_code}: {response.text[:300]}")

    def close(self) -> None:
        try:
            instances = len(self.client.get("/instances").json())
            if instances != 2 * len(self.paths):
                raise RuntimeError(
                    f"Orthanc holds {instances} instances, not {2 * len(self.paths)}"
                )
        finally:
            self.client.close()
            self.server.stop()


def study_uid(path: Path) -> str:
    from pydicom import dcmread

    return str(
        dcmread(path, stop_before_pixels=True, specific_tags=["StudyInstanceUID"]).StudyInstanceUID
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=None, help="slicebox serve --workers")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (cached)")
    parser.add_argument("--skip-core", action="store_true")
    parser.add_argument("--skip-slicebox", action="store_true")
    parser.add_argument("--skip-orthanc", action="store_true")
    args = parser.parse_args(argv)

    corpus_dir = args.corpus or Path(tempfile.gettempdir()) / f"slicebox-bench/ct-{args.count}"
    t0 = time.perf_counter()
    paths = write_corpus(corpus_dir, args.count)
    studies = studies_of(len(paths))
    print(
        f"corpus: {len(paths)} CT 512x512 files in {len(studies)} studies, {corpus_dir}"
        f" ({time.perf_counter() - t0:.1f} s)",
        flush=True,
    )
    rows: dict[str, Row] = {}
    with tempfile.TemporaryDirectory(prefix="slicebox-anonymize-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        makers: list[Callable[[], Any]] = []
        if not args.skip_core:
            makers += [
                lambda: CoreFile(paths, studies, work),
                lambda: CoreInPlace(paths, studies, work),
            ]
        if not args.skip_slicebox:
            makers.append(lambda: SliceboxRest(paths, studies, work, args.workers))
        if not args.skip_orthanc:
            makers.append(lambda: Orthanc(paths, studies, work))
        contenders = []
        for make in makers:
            contender = make()
            stack.callback(contender.close)
            t1 = time.perf_counter()
            contender.prepare()
            print(f"prepared {contender.name} ({time.perf_counter() - t1:.1f} s)", flush=True)
            contenders.append(contender)
        # Interleaved, study by study: the machine's load (shared, noisy) weighs on every row
        # alike, which running the rows one after the other would not ensure.
        seconds = dict.fromkeys((c.key for c in contenders), 0.0)
        for i in range(len(studies)):
            for contender in contenders:
                t1 = time.perf_counter()
                contender.study(i)
                seconds[contender.key] += time.perf_counter() - t1
        print(HEADER)
        for contender in contenders:
            rows[contender.key] = Row(contender.name, len(paths), seconds[contender.key])
            print(rows[contender.key].line(), flush=True)

    theirs = rows.get("orthanc")
    if theirs:
        for key, label in (
            ("slicebox", "slicebox REST"),
            ("core", "core in place"),
            ("core-file", "core anonymize_file"),
        ):
            ours = rows.get(key)
            if ours:
                ratio = ours.images_per_s / theirs.images_per_s
                print(f"{label} / Orthanc: {ratio:.2f} (target >= 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
