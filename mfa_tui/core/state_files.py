"""The small files the dashboard keeps in mfa-tui's state folder, read and written in
one place.

Recently used profiles, pins and the account-alias cache are conveniences, never
secrets, and nothing breaks without them: a missing or damaged file reads as empty. A
write goes to a temporary file in the same folder (0600, O_EXCL) that is fsynced and
renamed over the old one, so a crash leaves the old file or the new one; a symlink at
the file's place is replaced, never written through, and a folder that is a symlink
or is not the user's is refused. (Issue 12 adds one module for creating mfa-tui's own
files safely; `write_state` is the one function to point at it.)
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from mfa_tui.errors import FileWriteError

MAX_STATE_BYTES = 4 * 1024 * 1024


def state_dir() -> Path:
    """mfa-tui's state folder: `MFA_TUI_STATE_DIR`, else platformdirs' user state dir
    (the folder `codes.json` lives in)."""
    override = os.environ.get("MFA_TUI_STATE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_state_dir

    return Path(user_state_dir("mfa-tui"))


def _checked_folder(folder: Path) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(folder)
    except OSError as exc:
        raise FileWriteError(f"cannot create folder {folder}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise FileWriteError(f"{folder} is not a folder (a symlink?); mfa-tui will not use it")
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        raise FileWriteError(
            f"{folder} belongs to someone else or others may write it; mfa-tui will not "
            "keep its state there"
        )


def write_state(name: str, data: Any, folder: Path | None = None) -> Path:
    """Replace the state file `name` with `data` as JSON, atomically, mode 0600.

    Raises:
        FileWriteError: the folder or file could not be written (nothing was changed).
    """
    from mfa_tui.aws.atomic import replace_locked

    folder = folder or state_dir()
    _checked_folder(folder)
    path = folder / name
    payload = json.dumps(data, indent=1, sort_keys=True).encode("utf-8")
    # The writer's own temp-file-and-rename (0600, O_EXCL, fsynced). It renames over the
    # path itself: a symlink there is replaced, and what it pointed at is never touched.
    replace_locked(path, payload)
    return path


def read_state(name: str, folder: Path | None = None) -> Any:
    """The JSON in state file `name`; None when it is missing, damaged, too big, a
    symlink, or not the user's own regular file."""
    path = (folder or state_dir()) / name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_size > MAX_STATE_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_STATE_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        return json.loads(raw)
    except ValueError:
        return None
