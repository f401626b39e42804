"""Box transfer throughput between two live sliceboxes, beside plain uploads of the same files.

Rows, in one run on one machine (both servers share its cores):

* upload x1 / x4   ``POST /api/images`` of the corpus (1 and 4 clients): the baseline
* PUSH             hospital -> public: the hospital's worker anonymizes, deflates and posts
                   every image; timed from ``POST /boxes/{id}/send`` to FINISHED
* POLL             public -> hospital: the hospital's worker polls, fetches (the public side
                   anonymizes and deflates per request) and stores every image

Each box row's ratio is its images/s over the upload baseline's (target: >= 0.5 of x4).
The peak memory (PSS) of each server's process group during the transfers is printed too:
it must not grow with the transaction.

    python benchmarks/boxes.py [--count 1000] [--workers N] [--parallelism 4] [--level 1]

``--level`` is the zlib level of the bodies (``boxes.compression_level``, default 1: half
the bytes of the CT corpus on the wire; 0 sends stored blocks, cheapest on a fast network).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

from corpus import write_corpus
from ingest import HEADER, Row, upload
from servers import PASSWORD, SUPERUSER, Server, start_slicebox

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.servers import box_environment  # noqa: E402

AUTH = (SUPERUSER, PASSWORD)


def cpu_seconds(server: Server) -> float:
    """User + system CPU seconds of a server's process group so far."""
    try:
        root = psutil.Process(server.proc.pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


class PeakMemory:
    """Samples the PSS of the servers every 0.2 s while it runs."""

    def __init__(self, *servers: Server) -> None:
        self._servers = servers
        self.peak = dict.fromkeys((s.url for s in servers), 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for server in self._servers:
                _, pss, _ = server.memory()
                self.peak[server.url] = max(self.peak[server.url], pss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def image_ids(url: str) -> list[int]:
    """Every image id of a server, through the metadata routes."""
    ids: list[int] = []
    with httpx.Client(base_url=url, auth=AUTH, timeout=60) as http:
        for patient in http.get("/api/metadata/patients", params={"count": 10_000}).json():
            studies = http.get(
                "/api/metadata/studies", params={"patientid": patient["id"], "count": 10_000}
            ).json()
            for study in studies:
                series = http.get(
                    "/api/metadata/series", params={"studyid": study["id"], "count": 10_000}
                ).json()
                for s in series:
                    images = http.get(
                        "/api/metadata/images", params={"seriesid": s["id"], "count": 10_000}
                    ).json()
                    ids.extend(image["id"] for image in images)
    return sorted(ids)


def transfer(sender: str, box_id: int, ids: list[int], *, timeout_s: float = 1800) -> float:
    """Send ``ids`` to a box; seconds until the sender's transaction is FINISHED."""
    body = {
        "profile": {"options": []},
        "imageTagValuesSet": [{"imageId": i, "tagValues": []} for i in ids],
    }
    with httpx.Client(base_url=sender, auth=AUTH, timeout=60) as http:
        before = {t["id"] for t in http.get("/api/boxes/outgoing", params={"count": 1000}).json()}
        t0 = time.perf_counter()
        http.post(f"/api/boxes/{box_id}/send", json=body).raise_for_status()
        while time.perf_counter() - t0 < timeout_s:
            listing = http.get("/api/boxes/outgoing", params={"count": 1000}).json()
            new = [t for t in listing if t["id"] not in before]
            if new and new[0]["status"] == "FINISHED":
                return time.perf_counter() - t0
            if new and new[0]["status"] == "FAILED":
                raise RuntimeError("the transfer FAILED")
            time.sleep(0.1)
    raise RuntimeError(f"the transfer did not finish within {timeout_s} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=None, help="slicebox serve --workers")
    parser.add_argument("--parallelism", type=int, default=4, help="box transfers at once")
    parser.add_argument("--level", type=int, default=1, help="zlib level of the bodies")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (cached)")
    args = parser.parse_args(argv)

    corpus_dir = args.corpus or Path(tempfile.gettempdir()) / f"slicebox-bench/ct-{args.count}"
    paths = write_corpus(corpus_dir, args.count)
    nbytes = sum(p.stat().st_size for p in paths)
    print(f"corpus: {len(paths)} CT 512x512 files, {nbytes / 1e6:.1f} MB in {corpus_dir}")
    env = box_environment(
        {
            "parallelism": args.parallelism,
            "compression_level": args.level,
            "scan_interval_s": 0.2,
            "poll_interval_s": 0.2,
        }
    )
    rows: dict[str, Row] = {}

    def record(key: str, name: str, seconds: float) -> None:
        rows[key] = Row(name, len(paths), nbytes, seconds)
        print(rows[key].line(), flush=True)

    with tempfile.TemporaryDirectory(prefix="slicebox-boxes-") as tmp:
        work = Path(tmp)
        with (
            start_slicebox(work / "hospital", workers=args.workers, env=env) as hospital,
            start_slicebox(work / "public", workers=args.workers, env=env) as public,
        ):
            print(HEADER, flush=True)
            ok = {201}
            seconds = upload(f"{hospital.url}/api/images", paths, clients=4, ok=ok, auth=AUTH)
            record("upload-4", "upload POST /api/images x4", seconds)
            seconds = upload(f"{public.url}/api/images", paths, clients=1, ok=ok, auth=AUTH)
            record("upload-1", "upload POST /api/images x1", seconds)
            with httpx.Client(auth=AUTH, timeout=60) as http:
                poll_box = http.post(
                    f"{public.url}/api/boxes/createconnection",
                    json={"name": "hospital", "defaultProfile": {"options": []}},
                ).json()
                push_box = http.post(
                    f"{hospital.url}/api/boxes/connect",
                    json={
                        "name": "public",
                        "baseUrl": poll_box["baseUrl"],
                        "defaultProfile": {"options": []},
                    },
                ).json()
            uploaded = {hospital.url: image_ids(hospital.url), public.url: image_ids(public.url)}
            before = {s.url: s.memory()[1] / 1e6 for s in (hospital, public)}
            with PeakMemory(hospital, public) as memory:
                for key, sender, box in (
                    ("push", hospital, push_box),
                    ("poll", public, poll_box),
                ):
                    ids = uploaded[sender.url]  # not what the sender received meanwhile
                    cpu = [cpu_seconds(hospital), cpu_seconds(public)]
                    seconds = transfer(sender.url, box["id"], ids)
                    record(key, f"{key.upper()} box x{args.parallelism}", seconds)
                    used = [cpu_seconds(hospital) - cpu[0], cpu_seconds(public) - cpu[1]]
                    print(
                        f"    CPU ms per image: hospital {1000 * used[0] / len(ids):.1f}, "
                        f"public {1000 * used[1] / len(ids):.1f}",
                        flush=True,
                    )
            for server in (hospital, public):
                if server.proc.poll() is not None:
                    raise RuntimeError(f"a server died:\n{server.log_tail()}")
            peak = {
                name: (before[s.url], memory.peak[s.url] / 1e6)
                for name, s in (("hospital", hospital), ("public", public))
            }

    for box in ("push", "poll"):
        for base in ("upload-4", "upload-1"):
            ratio = rows[box].images_per_s / rows[base].images_per_s
            print(f"{box.upper()} / {rows[base].name}: {ratio:.2f}")
    print(
        "PSS of each server (all its processes) before -> peak during the transfers: "
        + ", ".join(f"{name} {a:.0f} -> {b:.0f} MB" for name, (a, b) in peak.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
