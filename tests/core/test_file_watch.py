"""The file watcher: a change of content, an atomic replace, creation and removal."""

from __future__ import annotations

import os
from pathlib import Path

from mfa_tui.core.file_watch import FileWatcher


def test_changes_are_reported_once(tmp_path: Path) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.write_text("x")
    watcher = FileWatcher([a, b])
    assert not watcher.changed()
    b.write_text("new")  # created
    assert watcher.changed()
    assert not watcher.changed()
    a.write_text("xy")  # grew
    assert watcher.changed()
    # Same size, same mtime, new inode: how our atomic writer replaces a file.
    st = a.stat()
    tmp = tmp_path / "a.tmp"
    tmp.write_text("zz")
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, a)
    assert watcher.changed()
    b.unlink()  # removed
    assert watcher.changed()
    assert not watcher.changed()
