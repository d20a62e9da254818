"""Crash-safe, locked replacement of a file the user owns.

A credentials file must be either wholly old or wholly new after any crash, so a write
goes to a temporary file in the same folder (created with O_EXCL and mode 0600, so a
planted symlink cannot redirect it), is fsynced, and renamed over the target. When the
target is a symlink, the link stays and its target is replaced. A lock file beside the
target serialises every mfa-tui process that writes it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from mfa_tui.bounded_read import describe
from mfa_tui.errors import FileWriteError
from mfa_tui.private_files import TEMP_PREFIX, TEMP_SUFFIX, make_folders

LOCK_TIMEOUT = 15.0


def resolve_target(path: Path) -> Path:
    """The real file a write lands on: a symlink's target, else the path itself."""
    path = path.expanduser()
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


def check_writable(target: Path) -> None:
    """Refuse directories, special files and read-only files before touching them."""
    try:
        st = target.stat()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise FileWriteError(f"{target}: cannot read it: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise FileWriteError(f"{target} is a directory, not a file; move it aside or fix the path")
    if not stat.S_ISREG(st.st_mode):
        raise FileWriteError(
            f"{target} is {describe(st.st_mode)}, not a regular file; mfa-tui will not "
            "read or replace it"
        )
    if not st.st_mode & stat.S_IWUSR:
        raise FileWriteError(
            f"{target} is read-only; mfa-tui leaves it alone. Run 'chmod u+w {target}' "
            "to let it write sessions there"
        )


def _check_folder(folder: Path) -> None:
    """Refuse a folder in which no lock file or temporary file could be made.

    Its mode counts even for root, as a file's does in `check_writable`: a folder made
    read-only is one the person wants left alone.
    """
    try:
        st = folder.stat()
    except OSError as exc:
        raise FileWriteError(f"{folder}: cannot use this folder: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise FileWriteError(f"{folder} is not a folder")
    if not st.st_mode & stat.S_IWUSR or not os.access(folder, os.W_OK | os.X_OK):
        raise FileWriteError(
            f"{folder} is read-only, so mfa-tui cannot make its lock file and the temporary "
            f"file it writes through; run 'chmod u+w {folder}' to let it write there"
        )


def check_can_write(path: Path) -> None:
    """Raise FileWriteError now if a locked, atomic write of `path` would fail.

    What `locked` and `replace_locked` need, checked without creating anything: the
    file (if any) a writable regular file, its folder (or the nearest that exists, in
    which the folder would be made) writable, a lock file left beside it writable too.
    """
    target = resolve_target(path)
    check_writable(target)
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    _check_folder(folder)
    lock = Path(f"{target}.lock")
    try:
        mode = lock.stat().st_mode
    except OSError:
        return  # none yet: the folder check covers making it
    if not stat.S_ISREG(mode) or not mode & stat.S_IWUSR or not os.access(lock, os.W_OK):
        raise FileWriteError(
            f"cannot lock {target}: its lock file {lock} is not a writable file; remove it "
            "(no mfa-tui is running that holds it) and try again"
        )


def ensure_folder(folder: Path) -> None:
    """Create the folder (0700, missing parents too) like `aws configure` does for ~/.aws."""
    try:
        make_folders(str(folder))
    except OSError as exc:
        raise FileWriteError(f"cannot create folder {folder}: {exc.strerror}") from None
    if not folder.is_dir():
        raise FileWriteError(f"{folder} is not a folder")


@contextlib.contextmanager
def locked(path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[Path]:
    """Hold the writers' lock for `path`; yields the real target path."""
    target = resolve_target(path)
    ensure_folder(target.parent)
    _check_folder(target.parent)
    with hold_lock(target, timeout):
        yield target


@contextlib.contextmanager
def hold_lock(target: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold `<target>.lock` (made 0600, never through a link); temp files a killed
    writer left beside `target` are removed once it is held."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(target) + ".lock", timeout=timeout, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise FileWriteError(
            f"{target} is locked by another mfa-tui process (lock file {target}.lock) "
            f"for more than {timeout:.0f}s; try again"
        ) from None
    except OSError as exc:
        raise FileWriteError(
            f"cannot lock {target} (lock file {target}.lock): {exc.strerror or exc}; "
            "the file was left unchanged"
        ) from None
    try:
        _remove_stale_temps(target)
        yield
    finally:
        lock.release()


def _remove_stale_temps(target: Path) -> None:
    """Temp files left by a writer that was killed; safe to drop while we hold the lock."""
    prefix = f"{TEMP_PREFIX}{target.name}."
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX):
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) or entry.is_symlink():
                    os.unlink(entry.path)


def replace_locked(
    target: Path, data: bytes, *, unchanged: Callable[[], bool] | None = None
) -> bool:
    """Atomically replace `target` with `data`; the caller holds `locked(target)`.

    `unchanged` is asked once the new contents are on disk, immediately before the
    rename: a caller that read the file says there whether it is still what it read.
    When it is not (a program that ignores the lock wrote it meanwhile), nothing is
    replaced and False is returned, so the caller can start again from the new contents.
    """
    import tempfile  # here: a `list` that writes nothing does not pay for it

    check_writable(target)
    folder = target.parent
    try:
        fd, temp_name = tempfile.mkstemp(
            prefix=f"{TEMP_PREFIX}{target.name}.", suffix=TEMP_SUFFIX, dir=folder
        )
    except OSError as exc:
        raise FileWriteError(
            f"could not write {target}: cannot create a temporary file in {folder} "
            f"({exc.strerror}); the file was left unchanged"
        ) from None
    try:
        try:
            if hasattr(os, "fchmod"):  # Windows (before Python 3.13): mkstemp's ACL holds
                os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        # The fsync takes milliseconds: look again after it, as late as can be.
        if unchanged is not None and not unchanged():
            os.unlink(temp_name)
            return False
        os.replace(temp_name, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise FileWriteError(
            f"could not write {target}: {exc.strerror}; the file was left unchanged"
        ) from None
    _fsync_folder(folder)
    return True


def _fsync_folder(folder: Path) -> None:
    # The rename is durable only once the folder entry is on disk.
    with contextlib.suppress(OSError):
        # Windows has no O_DIRECTORY and cannot open a folder: its rename is its own.
        dir_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Lock, then replace the whole file (for files mfa-tui owns outright)."""
    with locked(path) as target:
        replace_locked(target, data)
