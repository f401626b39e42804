"""What each package exports, and which heavy modules importing it pulls in."""

from __future__ import annotations

import subprocess
import sys

import slicebox_core


def test_all_is_exactly_the_public_names() -> None:
    import types

    public = {
        name
        for name in dir(slicebox_core)
        if not name.startswith("_")
        and (name == "models" or not isinstance(getattr(slicebox_core, name), types.ModuleType))
    }
    assert set(slicebox_core.__all__) == public | {"Slicebox"}


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
