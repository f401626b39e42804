"""Real DICOM peers for the integration tests: Debian's dcmtk tools and Orthanc on loopback.

The tools are called by absolute path: a Python environment may shadow ``storescu`` and
friends with pynetdicom's console scripts. dcmtk and Orthanc leave Nagle on unless
``TCP_NODELAY=1`` is in their environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    RLELossless,
    generate_uid,
)

from tests.factories import make_dataset, to_bytes

DCMTK = Path("/usr/bin")
ORTHANC = Path("/usr/sbin/Orthanc")
ENV = {**os.environ, "TCP_NODELAY": "1"}


def tool(name: str) -> str:
    return str(DCMTK / name)


def have_dcmtk() -> bool:
    return all((DCMTK / t).exists() for t in ("storescu", "storescp", "findscu", "movescu"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a dcmtk tool; its output is kept for the assertion message."""
    return subprocess.run(
        list(argv), env=ENV, capture_output=True, text=True, timeout=timeout, check=False
    )


# data ---------------------------------------------------------------------------------------
def mixed_corpus(
    folder: Path, *, study_uid: str | None = None, patient_id: str = "MIX"
) -> list[Path]:
    """Seven CT instances of one study in seven transfer syntaxes, three of them compressed.

    Explicit/Implicit VR LE, deflated and RLE by pydicom; JPEG Lossless SV1, JPEG-LS lossless
    and RLE (dcmtk's encoder) by dcmtk.
    """
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = study_uid or generate_uid()
    series_uid = generate_uid()
    paths: list[Path] = []

    def base(i: int, ts: str = ExplicitVRLittleEndian) -> Dataset:
        return make_dataset(
            patient_name="Mix^Ed",
            patient_id=patient_id,
            study_uid=study_uid,
            series_uid=series_uid,
            transfer_syntax=ts,
            rows=64,
            columns=64,
            pixel_seed=i,
            InstanceNumber=i + 1,
        )

    for i, ts in enumerate((ExplicitVRLittleEndian, ImplicitVRLittleEndian,
                            DeflatedExplicitVRLittleEndian)):  # fmt: skip
        path = folder / f"{i:02d}.dcm"
        path.write_bytes(to_bytes(base(i, ts)))
        paths.append(path)
    rle = base(3)
    rle.compress(RLELossless, generate_instance_uid=False)
    paths.append(folder / "03.dcm")
    paths[-1].write_bytes(to_bytes(rle))
    for i, encoder in ((4, "dcmcjpeg"), (5, "dcmcjpls"), (6, "dcmcrle")):
        source = folder / f"src{i}.dcm"
        source.write_bytes(to_bytes(base(i)))
        target = folder / f"{i:02d}.dcm"
        result = run(tool(encoder), str(source), str(target))
        assert result.returncode == 0, result.stderr
        source.unlink()
        paths.append(target)
    return paths


def pixel_digest(data: bytes | Path) -> tuple[str, str]:
    """(SOP Instance UID, SHA-256 of the decoded pixels)."""
    import io

    ds = dcmread(io.BytesIO(data) if isinstance(data, bytes) else data)
    return str(ds.SOPInstanceUID), hashlib.sha256(ds.pixel_array.tobytes()).hexdigest()


def syntax_of(data: bytes | Path) -> tuple[str, str]:
    """(SOP Instance UID, transfer syntax) of a file."""
    import io

    ds = dcmread(io.BytesIO(data) if isinstance(data, bytes) else data, stop_before_pixels=True)
    return str(ds.SOPInstanceUID), str(ds.file_meta.TransferSyntaxUID)


def digests(paths: list[Path]) -> dict[str, str]:
    return dict(pixel_digest(p) for p in paths)


# storescu configuration: one presentation context per transfer syntax of the mixed corpus, so
# storescu sends every file as it is (its -x options allow one compressed syntax per run)
STORESCU_CONFIG = """
[[TransferSyntaxes]]
[Explicit]
TransferSyntax1 = 1.2.840.10008.1.2.1
[Implicit]
TransferSyntax1 = 1.2.840.10008.1.2
[Deflated]
TransferSyntax1 = 1.2.840.10008.1.2.1.99
[RLE]
TransferSyntax1 = 1.2.840.10008.1.2.5
[JPEGLossless]
TransferSyntax1 = 1.2.840.10008.1.2.4.70
[JPEGLS]
TransferSyntax1 = 1.2.840.10008.1.2.4.80

[[PresentationContexts]]
[MixedCT]
PresentationContext1 = 1.2.840.10008.5.1.4.1.1.2\\Explicit
PresentationContext2 = 1.2.840.10008.5.1.4.1.1.2\\Implicit
PresentationContext3 = 1.2.840.10008.5.1.4.1.1.2\\Deflated
PresentationContext4 = 1.2.840.10008.5.1.4.1.1.2\\RLE
PresentationContext5 = 1.2.840.10008.5.1.4.1.1.2\\JPEGLossless
PresentationContext6 = 1.2.840.10008.5.1.4.1.1.2\\JPEGLS

[[Profiles]]
[Mixed]
PresentationContexts = MixedCT
"""


def storescu_mixed_args(folder: Path) -> list[str]:
    """storescu options proposing every syntax of :func:`mixed_corpus` separately."""
    config = folder / "storescu-mixed.cfg"
    config.write_text(STORESCU_CONFIG)
    return ["-xf", str(config), "Mixed"]


# storescp ---------------------------------------------------------------------------------------
@contextmanager
def storescp(outdir: Path, *args: str, aet: str = "STORESCP") -> Iterator[int]:
    """dcmtk's storescp on a free port, writing to ``outdir``; yields the port."""
    outdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        [tool("storescp"), "-aet", aet, "-od", str(outdir), *args, str(port)],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_port(port, proc)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_port(port: int, proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


# Orthanc ----------------------------------------------------------------------------------------
class Orthanc:
    """Debian's Orthanc on loopback with its data in a folder of the test.

    Args:
        work_dir: storage, index, configuration and log go here.
        modalities: Orthanc's ``DicomModalities`` (name -> [AE, host, port]).
        aet: Orthanc's AE title.
    """

    def __init__(
        self, work_dir: Path, modalities: dict[str, list[Any]], aet: str = "ORTHANC"
    ) -> None:
        self.aet = aet
        self.http_port = free_port()
        self.dicom_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        work_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "slicebox-test",
            "StorageDirectory": str(work_dir / "storage"),
            "IndexDirectory": str(work_dir / "index"),
            "HttpPort": self.http_port,
            "DicomPort": self.dicom_port,
            "DicomAet": aet,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "Plugins": [],
            "DicomModalities": modalities,
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": True,
            "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowGet": True,
            "DicomAlwaysAllowMove": True,
            "DicomCheckModalityHost": False,
            "DicomScuTimeout": 10,
            "DicomScpTimeout": 30,
            "TcpNoDelay": True,
            "StableAge": 1,
        }
        config_path = work_dir / "orthanc.json"
        config_path.write_text(json.dumps(config, indent=2))
        self._log = open(work_dir / "orthanc.log", "wb")  # noqa: SIM115 - closed by stop()
        self.proc = subprocess.Popen(
            [str(ORTHANC), str(config_path)],
            env=ENV,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.http = httpx.Client(base_url=self.url, timeout=60)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Orthanc exited: {(work_dir / 'orthanc.log').read_text()}")
            try:
                if self.http.get("/system").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("Orthanc did not start")
            time.sleep(0.1)
        wait_port(self.dicom_port, self.proc)

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None:  # its data is thrown away: no need for a slow shutdown
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(0.5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()

    def upload(self, path: Path) -> None:
        response = self.http.post("/instances", content=path.read_bytes())
        response.raise_for_status()

    def instances(self) -> list[str]:
        return list(self.http.get("/instances").json())

    def files(self) -> list[bytes]:
        return [self.http.get(f"/instances/{i}/file").content for i in self.instances()]


def have_orthanc() -> bool:
    return ORTHANC.exists()


def copy_tree(paths: list[Path], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(p, folder / p.name)) for p in paths]
