"""Validation of watched paths, pure (spec §3.12).

Paths are compared after ``resolve()`` (absolute, symlinks followed), so ``/data/in`` and a
symlink to it are the same watch.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import InvalidInput

PATH_MAX = 1024


def intersects(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` are the same folder or one contains the other."""
    return a == b or a in b.parents or b in a.parents


def normalize(path: str) -> Path:
    """The absolute, resolved form of a watch path.

    Raises:
        InvalidInput: empty, relative, or too long.
    """
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput("A directory watch needs a path")
    raw = Path(path.strip()).expanduser()
    if not raw.is_absolute():
        raise InvalidInput(f"The path of a directory watch must be absolute, got {path!r}")
    resolved = raw.resolve()
    if len(str(resolved)) > PATH_MAX:
        raise InvalidInput(f"The path of a directory watch has at most {PATH_MAX} characters")
    return resolved


def check_new_watch(
    path: Path,
    *,
    is_dir: bool,
    others: Iterable[tuple[str, Path]],
    protected: Iterable[Path] = (),
) -> None:
    """Raise unless ``path`` may be watched next to the watches ``others`` ((name, path)).

    Raises:
        InvalidInput: not a directory, the file system root, intersecting another watch, or
            intersecting slicebox's own data (a watch that deletes on import would eat it).
    """
    if not is_dir:
        raise InvalidInput(f"Path is not a directory: {path}")
    if path == Path(path.anchor):
        raise InvalidInput("The file system root cannot be watched")
    for name, other in others:
        if intersects(path, other):
            raise InvalidInput(f"Directory intersects existing directory {name} ({other})")
    for own in protected:
        if intersects(path, own):
            raise InvalidInput(f"Directory intersects slicebox's own data directory {own}")
