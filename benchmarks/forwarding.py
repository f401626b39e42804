"""Forwarding latency: from an image's ingest at one slicebox to its being stored, forwarded
through a box, at a second one.

A modality (pynetdicom, one association) C-STOREs CT images to the hospital's SCP; a
forwarding rule sends them on to the public slicebox through a PUSH box whose default profile
retains UIDs, so each arrival is recognised by its SOP Instance UID. An image's *ingest* time
is when its C-STORE response came back (the hospital committed it); its *arrival* is when the
public index first lists it (its SQLite file is polled every 5 ms). Rows:

* single   images one at a time, each after the previous one arrived: every image is a
           batch of its own
* burst    groups of images back to back (a series arriving): a batch per group; an early
           image of a group also waits for the rest of the group

Each row gives p50 / p95 / max of arrival - ingest; ``batch_idle_s`` (how long a batch waits
for more images, spec default 30 s) is part of it by design, so it is also printed without.

    python benchmarks/forwarding.py [--count 100] [--group 10] [--idle 0.2] [--workers N]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from pydicom import dcmread
from pynetdicom import AE, evt
from pynetdicom.sop_class import CTImageStorage, Verification  # type: ignore[attr-defined]

from corpus import write_corpus
from servers import PASSWORD, SUPERUSER, Server, free_port, start_slicebox

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.forwarding_env import forwarding_environment  # noqa: E402 (transitional)

from slicebox_core.network.scp import set_tcp_nodelay  # noqa: E402

AUTH = (SUPERUSER, PASSWORD)
AET = "SLICEBOX"


class Arrivals:
    """Polls a slicebox's SQLite index and records when each SOP Instance UID first shows."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / "slicebox.sqlite"
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conn = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=5)
        try:
            while not self._stop.wait(0.005):
                try:
                    rows = conn.execute('SELECT "sopInstanceUID" FROM "Images"').fetchall()
                except sqlite3.OperationalError:
                    continue
                now = time.perf_counter()
                for (uid,) in rows:
                    self.seen.setdefault(uid, now)
        finally:
            conn.close()

    def __enter__(self) -> Arrivals:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def wait(self, uids: list[str], timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while any(u not in self.seen for u in uids):
            if time.monotonic() > deadline:
                missing = sum(u not in self.seen for u in uids)
                raise RuntimeError(f"{missing} images did not arrive within {timeout_s} s")
            time.sleep(0.005)


def set_up(hospital: Server, public: Server, scp_port: int) -> None:
    """Box connection public <- hospital (UIDs retained), an SCP on the hospital, the rule."""
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
                "defaultProfile": {"options": [{"name": "RETAIN_UIDS"}]},
            },
        ).json()
        scp_data = {"id": -1, "name": "modality", "aeTitle": AET, "port": scp_port}
        scp = http.post(f"{hospital.url}/api/scps", json=scp_data).json()
        rule = http.post(
            f"{hospital.url}/api/forwarding/rules",
            json={
                "id": -1,
                "source": {"sourceType": "scp", "sourceName": "", "sourceId": scp["id"]},
                "destination": {
                    "destinationType": "box",
                    "destinationName": "",
                    "destinationId": push_box["id"],
                },
                "keepImages": True,
            },
        )
        rule.raise_for_status()


def associate(port: int, timeout_s: float = 60) -> object:
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage)
    ae.add_requested_context(Verification)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assoc = ae.associate(
            "127.0.0.1", port, ae_title=AET, evt_handlers=[(evt.EVT_CONN_OPEN, set_tcp_nodelay)]
        )
        if assoc.is_established:
            return assoc
        time.sleep(0.3)  # the worker starts the SCP within its poll interval
    raise RuntimeError("the hospital's SCP did not accept an association")


def store(assoc: object, path: Path) -> float:
    """C-STORE one file; the time its Success response came back."""
    ds = dcmread(path)
    status = assoc.send_c_store(ds)  # type: ignore[attr-defined]
    if not status or status.Status != 0:
        raise RuntimeError(f"C-STORE failed: {status}")
    return time.perf_counter()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(name: str, latencies: list[float], idle_s: float) -> None:
    ms = [1000 * v for v in latencies]
    p50, p95, top = statistics.median(ms), percentile(ms, 95), max(ms)
    print(
        f"{name:<28} {len(ms):>5} {p50:>9.0f} {p95:>9.0f} {top:>9.0f}"
        f" {p50 - 1000 * idle_s:>12.0f} {p95 - 1000 * idle_s:>12.0f}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="images per row")
    parser.add_argument("--group", type=int, default=10, help="images per burst")
    parser.add_argument("--idle", type=float, default=0.2, help="forwarding batch_idle_s")
    parser.add_argument("--scan", type=float, default=0.2, help="forwarding scan_interval_s")
    parser.add_argument("--workers", type=int, default=None, help="slicebox serve --workers")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (cached)")
    args = parser.parse_args(argv)

    corpus_dir = args.corpus or Path(tempfile.gettempdir()) / "slicebox-bench/fwd-ct"
    paths = write_corpus(corpus_dir, 2 * args.count)
    single_paths, burst_paths = paths[: args.count], paths[args.count :]
    print(f"corpus: {len(paths)} CT 512x512 files in {corpus_dir}")
    env = forwarding_environment(
        {"batch_idle_s": args.idle, "scan_interval_s": args.scan},
        boxes={"scan_interval_s": 0.2, "poll_interval_s": 0.2, "parallelism": 4},
    )
    with tempfile.TemporaryDirectory(prefix="slicebox-forwarding-") as tmp:
        work = Path(tmp)
        with (
            start_slicebox(work / "hospital", workers=args.workers, env=env) as hospital,
            start_slicebox(work / "public", workers=args.workers, env=env) as public,
        ):
            scp_port = free_port()
            set_up(hospital, public, scp_port)
            assoc = associate(scp_port)
            print(f"batch_idle_s = {args.idle}, scan_interval_s = {args.scan}")
            print(
                f"{'row':<28} {'n':>5} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}"
                f" {'p50-idle ms':>12} {'p95-idle ms':>12}",
                flush=True,
            )
            uid_of = {p: str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in paths}
            try:
                with Arrivals(work / "public") as seen:
                    single: list[float] = []
                    for path in single_paths:
                        ingested = store(assoc, path)
                        seen.wait([uid_of[path]])
                        single.append(seen.seen[uid_of[path]] - ingested)
                    report("single (1 image per batch)", single, args.idle)

                    burst: list[float] = []
                    for start in range(0, len(burst_paths), args.group):
                        group = burst_paths[start : start + args.group]
                        times = {p: store(assoc, p) for p in group}
                        seen.wait([uid_of[p] for p in group])
                        burst += [seen.seen[uid_of[p]] - t for p, t in times.items()]
                    report(f"burst ({args.group} per batch)", burst, args.idle)
            finally:
                assoc.release()  # type: ignore[attr-defined]
            for server in (hospital, public):
                if server.proc.poll() is not None:
                    raise RuntimeError(f"a server died:\n{server.log_tail()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
