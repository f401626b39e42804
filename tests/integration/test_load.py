"""A short run of ``benchmarks/load.py``: 50 clients for 15 s against 4 gunicorn workers.

No 5xx, no lost or corrupted upload, storage and index consistent afterwards. The full run
(200 clients, 60 s) is ``python benchmarks/load.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def load_module():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(BENCHMARKS))  # load.py imports its sibling servers.py
    try:
        import load

        yield load
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.timeout(600)
def test_mixed_load(tmp_path: Path, load_module) -> None:  # type: ignore[no-untyped-def]
    run, result = load_module.run_load(tmp_path / "data", clients=50, duration_s=15, workers=4)
    load_module.print_figures(run, result)
    assert result.requests > 100
    assert result.server_errors == 0
    assert result.transport_errors == 0
    assert result.uploads_acknowledged > 0
    assert (result.lost, result.corrupted, result.corrupt_downloads) == (0, 0, 0)
    assert result.consistent, result.report
