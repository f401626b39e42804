"""Directory-watch import rate: files dropped into a watched folder of a live ``slicebox serve``.

Issue 8's figure: 1,000 CT 512x512 files copied into a watched folder at once, timed until
every one is indexed (images/s), side by side in the same run with ``slicebox import`` of the
same folder into a fresh data directory; prints both and the ratio.

    python benchmarks/watch.py [--count 1000] [--settle 1.0]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from corpus import write_corpus
from servers import PASSWORD, SUPERUSER, slicebox_command, start_slicebox
from slicebox_client import SliceboxClient
from slicebox_core.models import ListQuery


def image_count(client: SliceboxClient) -> int:
    """Images indexed, summed over patients (the index has no count route)."""
    patients = client.patients(ListQuery(count=10_000))
    return sum(len(client.patient_images(p.id)) for p in patients)


def bench_watch(paths: list[Path], work: Path, settle: float) -> float:
    env = {"SLICEBOX_WATCH__SETTLE_S": str(settle)}
    with start_slicebox(work / "watched", env=env) as server:
        folder = work / "drop"
        folder.mkdir()
        with SliceboxClient(server.url, SUPERUSER, PASSWORD, timeout=120) as client:
            client.create_directory_watch("drop", str(folder))
            time.sleep(1.0)  # the worker picks the new watch up
            t0 = time.perf_counter()
            for path in paths:  # dropped "at once": as fast as the disk copies them
                shutil.copyfile(path, folder / path.name)
            deadline = time.monotonic() + 1800
            while image_count(client) < len(paths):
                if time.monotonic() > deadline:
                    raise RuntimeError("the watch did not import every file in time")
                time.sleep(0.5)
            return time.perf_counter() - t0


def bench_import(corpus: Path, work: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [*slicebox_command(), "import", str(corpus), "--data", str(work / "imported")],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=1.0, help="watch settle time (s)")
    args = parser.parse_args(argv)
    corpus = Path(tempfile.gettempdir()) / f"slicebox-bench/ct-{args.count}"
    paths = write_corpus(corpus, args.count)
    megabytes = sum(p.stat().st_size for p in paths) / 1e6
    with tempfile.TemporaryDirectory(prefix="sbx-watch-") as tmp:
        work = Path(tmp)
        watch_s = bench_watch(paths, work, args.settle)
        import_s = bench_import(corpus, work)
    print(f"{'row':34} {'images':>7} {'MB':>8} {'s':>7} {'images/s':>9}")
    for name, seconds in (("directory watch (live serve)", watch_s), ("slicebox import", import_s)):
        print(
            f"{name:34} {len(paths):7d} {megabytes:8.1f} {seconds:7.2f} {len(paths) / seconds:9.1f}"
        )
    print(f"watch / import: {import_s / watch_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
