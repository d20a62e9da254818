"""Notice when files change, cheaply: a stat per file per poll, no parsing.

The dashboard and the daemon poll the AWS config and credentials files (and the
settings file) about once a second and re-read them only when a signature changes.
The signature has the inode too, because our own writer (and most editors) replace a
file atomically, which can keep the size and, on coarse file systems, the mtime.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

Signature = tuple[int, int, int] | None


def signature(path: Path) -> Signature:
    """(inode, size, mtime in ns) of `path`, or None when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class FileWatcher:
    """Remembers the signatures of some files and says when any of them changed."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.paths = tuple(dict.fromkeys(paths))
        self._seen = self._signatures()

    def _signatures(self) -> tuple[Signature, ...]:
        return tuple(signature(p) for p in self.paths)

    def changed(self) -> bool:
        """True once after any watched file was created, changed or removed."""
        now = self._signatures()
        if now == self._seen:
            return False
        self._seen = now
        return True
