"""Server memory during one huge upload: peak RSS (and PSS) of ``slicebox serve`` (gunicorn master,
workers and the embedded job worker, summed) while a 2 GiB DICOM file is POSTed, streamed.

The file is a valid multi-frame grayscale word Secondary Capture (512x512x16 bits, 4,096
frames for 2 GiB), written to disk in 1 MiB chunks (header by pydicom, then a Pixel Data
element of defined length) and cached between runs. Target: peak < 300 MB.

    python benchmarks/upload_rss.py [--size-mb 2048] [--workers N]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import ExplicitVRLittleEndian

from corpus import uid
from servers import PASSWORD, SUPERUSER, start_slicebox

MiB = 1024 * 1024
ROWS = COLUMNS = 512
FRAME_BYTES = ROWS * COLUMNS * 2
MULTIFRAME_WORD_SC = "1.2.840.10008.5.1.4.1.1.7.3"
TARGET_MB = 300


def write_big_dicom(path: Path, size_mb: int) -> int:
    """Write a DICOM file with about ``size_mb`` MiB of pixel data; return its size.

    Only one 1 MiB buffer is ever in memory. An existing file of the right size is reused.
    """
    frames = max(1, size_mb * MiB // FRAME_BYTES)
    pixel_bytes = frames * FRAME_BYTES
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MULTIFRAME_WORD_SC
    meta.MediaStorageSOPInstanceUID = uid(0, "big", frames)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = MULTIFRAME_WORD_SC
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientName = "Big^Upload"
    ds.PatientID = "BIG1"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = uid(0, "big-study")
    ds.SeriesInstanceUID = uid(0, "big-series")
    ds.StudyDate = "20240101"
    ds.StudyID = "1"
    ds.AccessionNumber = "BIG"
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.InstanceNumber = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.NumberOfFrames = frames
    ds.Rows = ROWS
    ds.Columns = COLUMNS
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    header = io.BytesIO()
    dcmwrite(header, ds, enforce_file_format=True)
    # Pixel Data (7FE0,0010) OW, explicit VR long form: tag, VR, 2 reserved, 4-byte length
    element = b"\xe0\x7f\x10\x00OW\x00\x00" + pixel_bytes.to_bytes(4, "little")
    size = len(header.getvalue()) + len(element) + pixel_bytes
    if path.exists() and path.stat().st_size == size:
        return size
    chunk = bytes(range(256)) * (MiB // 256)  # a recognisable ramp, one frame row pattern
    tmp = path.with_suffix(".partial")
    with open(tmp, "wb") as f:
        f.write(header.getvalue())
        f.write(element)
        left = pixel_bytes
        while left:
            n = min(left, len(chunk))
            f.write(chunk[:n])
            left -= n
    tmp.replace(path)
    return size


class PeakSampler(threading.Thread):
    """Samples ``measure()`` (a tuple of figures) every ``interval`` seconds until stopped and
    keeps the element-wise maximum."""

    def __init__(self, measure: Callable[[], tuple[int, ...]], interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self._measure = measure
        self._interval = interval
        self._done = threading.Event()
        self.peak: tuple[int, ...] = ()
        self.samples = 0

    def run(self) -> None:
        while not self._done.is_set():
            sample = self._measure()
            self.peak = tuple(map(max, self.peak, sample)) if self.peak else sample
            self.samples += 1
            self._done.wait(self._interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=2048, help="pixel data size in MiB")
    parser.add_argument("--workers", type=int, default=None, help="slicebox serve --workers")
    parser.add_argument("--file", type=Path, default=None, help="where to cache the file")
    args = parser.parse_args(argv)

    path = args.file or Path(tempfile.gettempdir()) / f"slicebox-bench/big-{args.size_mb}MiB.dcm"
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    size = write_big_dicom(path, args.size_mb)
    print(f"file: {path} {size / 1e6:.0f} MB ({time.perf_counter() - t0:.1f} s)", flush=True)

    with (
        tempfile.TemporaryDirectory(prefix="slicebox-rss-") as tmp,
        start_slicebox(Path(tmp) / "data", workers=args.workers) as server,
    ):
        time.sleep(1.0)  # let workers finish importing before the baseline
        base_rss, base_pss, _ = server.memory()
        sampler = PeakSampler(server.memory)
        sampler.start()
        t0 = time.perf_counter()
        try:
            with open(path, "rb") as body, httpx.Client(timeout=1800) as client:
                response = client.post(
                    f"{server.url}/api/images",
                    content=body,
                    auth=(SUPERUSER, PASSWORD),
                    headers={"Content-Type": "application/octet-stream"},
                )
        finally:
            elapsed = time.perf_counter() - t0
            sampler.stop()
        if response.status_code != 201:
            print(f"upload failed: {response.status_code} {response.text[:500]}")
            print(server.log_tail())
            return 1
        image_id = response.json()["id"]
        with (
            httpx.Client(timeout=60, auth=(SUPERUSER, PASSWORD)) as client,
            client.stream("GET", f"{server.url}/api/images/{image_id}") as download,
        ):
            stored = int(download.headers.get("content-length", -1))

    peak_rss, peak_pss, nprocs = sampler.peak
    print(
        f"upload: {size / 1e6:.0f} MB in {elapsed:.1f} s ({size / 1e6 / elapsed:.0f} MB/s), "
        f"stored {stored} bytes{'' if stored == size else ' (SIZE MISMATCH)'}"
    )
    print(
        f"server memory, summed over {nprocs} processes, sampled every 50 ms "
        f"({sampler.samples} samples):"
    )
    print(
        f"  RSS peak {peak_rss / 1e6:.0f} MB (baseline {base_rss / 1e6:.0f} MB)"
        f"  target < {TARGET_MB} MB: {'ok' if peak_rss < TARGET_MB * 1e6 else 'OVER'}"
    )
    print(
        f"  PSS peak {peak_pss / 1e6:.0f} MB (baseline {base_pss / 1e6:.0f} MB)"
        "  shared pages counted once"
    )
    return 0 if stored == size else 1


if __name__ == "__main__":
    sys.exit(main())
