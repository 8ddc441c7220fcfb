"""Files written whole or not at all: a reader, or a process killed mid-write, sees the old content or the new,
never half of one.

The text goes to a temporary file in the same folder (same file system, so the rename is atomic), is fsynced,
renamed over the target, and the folder is fsynced so that the rename itself survives a crash.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_TMP_PREFIX = ".tmp-"  # hidden, and recognisable as ours if a crash ever leaves one


def write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> Path:
    """Replace `path` with `data` atomically. The mode is `mode` if given, else the existing file's, else 0600
    (what we write holds secrets or names hosts: for the operator's eyes first)."""
    path = Path(path)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o600
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def write_text(path: Path, text: str, *, mode: int | None = None, encoding: str = "utf-8") -> Path:
    return write_bytes(path, text.encode(encoding), mode=mode)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
