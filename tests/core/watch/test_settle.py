"""Settling of watched files (pure)."""

from __future__ import annotations

from slicebox_core.watch.settle import Settler, Version


def test_imported_once_stable_then_not_again_until_changed() -> None:
    files: dict[str, Version] = {"a": (10, 1)}
    s = Settler(1.0)
    s.observe("a", 0.0)
    assert s.due(0.0, files.get) == []  # first look
    files["a"] = (20, 2)  # still growing
    assert s.due(0.5, files.get) == []
    assert s.due(1.4, files.get) == []  # stable only since 0.5
    assert s.due(1.5, files.get) == [("a", (20, 2))]
    assert s.due(9.0, files.get) == []  # busy
    s.done("a", (20, 2))
    s.observe("a", 10.0)  # e.g. a rescan: same version, not imported again
    s.due(10.0, files.get)
    assert s.due(12.0, files.get) == []
    files["a"] = (30, 3)
    s.observe("a", 13.0)
    s.due(13.0, files.get)
    assert s.due(14.0, files.get) == [("a", (30, 3))]


def test_vanished_files_are_forgotten() -> None:
    files: dict[str, Version] = {"a": (1, 1)}
    s = Settler(0.0)
    s.observe("a", 0.0)
    del files["a"]
    assert s.due(1.0, files.get) == []
    assert len(s) == 0
    s.done("b", (1, 1))
    s.keep_only([])
    files["b"] = (1, 1)
    s.observe("b", 2.0)
    s.due(2.0, files.get)
    assert s.due(3.0, files.get) == [("b", (1, 1))]
