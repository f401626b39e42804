"""What each package exports, and which heavy modules importing it pulls in."""

from __future__ import annotations

import subprocess
import sys

import slicebox_core


def test_all_is_exactly_the_public_names() -> None:
    public = {n for n in dir(slicebox_core) if not n.startswith("_")} | {"Slicebox"}
    modules = {"app", "config", "errors", "wire", "db", "storage", "dicom", "images",
               "index", "users", "log", "events", "system", "anonymize", "network", "boxes",
               "forwarding", "watch", "seriestypes", "filters", "imports", "worker"}  # fmt: skip
    assert set(slicebox_core.__all__) == public - modules


def test_core_never_loads_http_layers() -> None:
    code = (
        "import sys, slicebox_core\n"
        "from slicebox_core import Slicebox\n"
        "sb = Slicebox\n"
        "import slicebox_core.app\n"
        "bad = [m for m in ('falcon', 'gunicorn', 'httpx') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
