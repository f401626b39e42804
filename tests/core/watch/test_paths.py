"""Watch path validation (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from slicebox_core.errors import InvalidInput
from slicebox_core.watch.paths import check_new_watch, intersects, normalize


def test_intersects() -> None:
    a, b = Path("/data/in"), Path("/data/in/sub")
    assert intersects(a, a) and intersects(a, b) and intersects(b, a)
    assert not intersects(a, Path("/data/inbox"))
    assert not intersects(a, Path("/data/other"))


def test_normalize() -> None:
    with pytest.raises(InvalidInput, match="absolute"):
        normalize("relative/dir")
    with pytest.raises(InvalidInput):
        normalize("  ")
    assert normalize("/tmp/../tmp") == Path("/tmp").resolve()


def test_check_new_watch() -> None:
    others = [("in", Path("/data/in"))]
    check_new_watch(Path("/data/other"), is_dir=True, others=others)
    with pytest.raises(InvalidInput, match="not a directory"):
        check_new_watch(Path("/data/file"), is_dir=False, others=others)
    with pytest.raises(InvalidInput, match="root"):
        check_new_watch(Path("/"), is_dir=True, others=[])
    with pytest.raises(InvalidInput, match="intersects existing directory in"):
        check_new_watch(Path("/data"), is_dir=True, others=others)
    with pytest.raises(InvalidInput, match="intersects existing directory in"):
        check_new_watch(Path("/data/in/x"), is_dir=True, others=others)
    with pytest.raises(InvalidInput, match="own data"):
        check_new_watch(Path("/srv"), is_dir=True, others=[], protected=[Path("/srv/slicebox")])
