"""Ingest throughput: slicebox (library and REST) side by side with Orthanc.

Rows, each on an empty store:

* core       ``Slicebox.images.add(path)`` in this process (embedded SQLite + local folder)
* slicebox   ``POST /api/images`` to a live ``slicebox serve``, 1 and 4 concurrent clients
* Orthanc    ``POST /instances`` to Debian's Orthanc (SQLite index, local storage), same files

The corpus is CT-like 512x512 16-bit (``corpus.py``), generated once and cached.

    python benchmarks/ingest.py [--count 1000] [--clients 1,4] [--workers N] [--skip-orthanc]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from corpus import write_corpus
from servers import PASSWORD, SUPERUSER, Server, start_orthanc, start_slicebox


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
            f"{self.name:<34} {self.images:>7} {self.nbytes / 1e6:>9.1f} {self.seconds:>8.2f}"
            f" {self.images_per_s:>9.1f} {self.mb_per_s:>8.1f}"
        )


HEADER = f"{'row':<34} {'images':>7} {'MB':>9} {'s':>8} {'images/s':>9} {'MB/s':>8}"


def upload(
    url: str,
    paths: list[Path],
    *,
    clients: int,
    ok: set[int],
    auth: tuple[str, str] | None = None,
) -> float:
    """POST every file once, ``clients`` keep-alive connections in parallel; return seconds.

    Raises:
        RuntimeError: a response status outside ``ok``.
    """
    failures: list[str] = []  # list.append is atomic: no lock needed

    def run(share: list[Path]) -> None:
        with httpx.Client(auth=auth, timeout=120) as client:
            for path in share:
                response = client.post(
                    url,
                    content=path.read_bytes(),
                    headers={"Content-Type": "application/octet-stream"},
                )
                if response.status_code not in ok:
                    failures.append(f"{path.name}: {response.status_code} {response.text[:200]}")
                    return

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, [paths[i::clients] for i in range(clients)]))
    elapsed = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"{len(failures)} uploads failed, first: {failures[0]}")
    return elapsed


def bench_core(paths: list[Path], work: Path) -> float:
    from slicebox_core import Slicebox

    with Slicebox.open(work / "core") as sb:
        t0 = time.perf_counter()
        for path in paths:
            sb.images.add(path)
        return time.perf_counter() - t0


def bench_server(
    start: Callable[[Path], Server],
    route: str,
    paths: list[Path],
    work: Path,
    *,
    clients: int,
    ok: set[int],
    auth: tuple[str, str] | None,
) -> float:
    with start(work) as server:
        seconds = upload(f"{server.url}{route}", paths, clients=clients, ok=ok, auth=auth)
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} died:\n{server.log_tail()}")
        return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--clients", default="1,4", help="comma-separated client counts")
    parser.add_argument("--workers", type=int, default=None, help="slicebox serve --workers")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (cached)")
    parser.add_argument("--skip-core", action="store_true")
    parser.add_argument("--skip-slicebox", action="store_true")
    parser.add_argument("--skip-orthanc", action="store_true")
    args = parser.parse_args(argv)
    clients = [int(c) for c in args.clients.split(",")]

    corpus_dir = args.corpus or Path(tempfile.gettempdir()) / f"slicebox-bench/ct-{args.count}"
    t0 = time.perf_counter()
    paths = write_corpus(corpus_dir, args.count)
    nbytes = sum(p.stat().st_size for p in paths)
    print(
        f"corpus: {len(paths)} CT 512x512 files, {nbytes / 1e6:.1f} MB in {corpus_dir}"
        f" ({time.perf_counter() - t0:.1f} s)"
    )
    print(HEADER, flush=True)

    rows: dict[str, Row] = {}

    def record(key: str, name: str, seconds: float) -> None:
        rows[key] = Row(name, len(paths), nbytes, seconds)
        print(rows[key].line(), flush=True)

    with tempfile.TemporaryDirectory(prefix="slicebox-ingest-") as tmp:
        work = Path(tmp)
        if not args.skip_core:
            record("core", "core Slicebox.images.add", bench_core(paths, work))
        for n in clients:
            if not args.skip_slicebox:
                seconds = bench_server(
                    lambda d: start_slicebox(d, workers=args.workers),
                    "/api/images",
                    paths,
                    work / f"slicebox-{n}",
                    clients=n,
                    ok={201},
                    auth=(SUPERUSER, PASSWORD),
                )
                record(f"slicebox-{n}", f"slicebox POST /api/images x{n}", seconds)
            if not args.skip_orthanc:
                seconds = bench_server(
                    start_orthanc,
                    "/instances",
                    paths,
                    work / f"orthanc-{n}",
                    clients=n,
                    ok={200},
                    auth=None,
                )
                record(f"orthanc-{n}", f"Orthanc POST /instances x{n}", seconds)

    for n in clients:
        ours, theirs = rows.get(f"slicebox-{n}"), rows.get(f"orthanc-{n}")
        if ours and theirs:
            ratio = ours.images_per_s / theirs.images_per_s
            print(f"slicebox/Orthanc with {n} client{'s' if n > 1 else ''}: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
