"""mfa-tui's small state files: JSON objects that hold no secret.

`codes.json` (spent TOTP steps and hashed codes), `key_ages.json` (when each user's
access key was made), `rotations.json` (a key rotation under way), and the dashboard's
conveniences `picks.json` (pins, recently used profiles) and `accounts.json` (account
aliases) live in the user state folder (see locations.py; `MFA_TUI_STATE_DIR` moves
it). Each is read whole, changed under its lock and replaced atomically, 0600, through
`private_files`: in a folder only the user (and root) can change, never through a link,
and read only when nobody else could have written it. A damaged file reads as empty:
it costs only what it remembered, never a failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mfa_tui import locations, private_files
from mfa_tui.errors import FileWriteError, MfaTuiError

# A state file holds a few kilobytes; anything near this is not a file mfa-tui wrote.
STATE_LIMIT = 1024 * 1024


def state_path(name: str, folder: Path | None = None) -> Path:
    """`name` in `folder`, else in the user state folder (or MFA_TUI_STATE_DIR)."""
    if folder is not None:
        return folder / name
    known = locations.state_file(name)
    return Path(known) if known is not None else Path(locations.user_dir("state")) / name


class JsonState:
    """One state file: a JSON object whose `tables` are always objects.

    Args:
        path: the file.
        tables: the keys whose values are objects (a missing or damaged one is empty).
        what: what the file keeps, in words, for a refusal ("the state of spent MFA codes").
    """

    def __init__(self, path: Path, tables: tuple[str, ...], what: str = "its state") -> None:
        self.path = path
        self.tables = tables
        self.what = what

    def parse(self, raw: bytes | None) -> dict[str, Any]:
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        for table in self.tables:
            if not isinstance(data.get(table), dict):
                data[table] = {}
        data["version"] = 1
        return data

    def _refused(self, exc: OSError) -> MfaTuiError:
        return MfaTuiError(
            f"mfa-tui will not keep {self.what} in {self.path.parent}: {exc}. Fix that, or "
            "set MFA_TUI_STATE_DIR to a folder of your own",
            title="State folder refused",
        )

    def raw(self) -> bytes | None:
        """The file's bytes; None when there is none yet (or it is damaged past use).

        Raises:
            MfaTuiError: the file or the way to it could be changed by another user: what
                they wrote there could make mfa-tui send a spent code, or wait.
        """
        try:
            private_files.check_folder(str(self.path.parent))
            return private_files.read_private(str(self.path), STATE_LIMIT)
        except FileNotFoundError:
            return None
        except private_files.UnsafePathError as exc:
            raise self._refused(exc) from None
        except OSError:
            return None  # unreadable or absurdly big: damaged, like bad JSON

    def read(self) -> dict[str, Any]:
        return self.parse(self.raw())

    def read_convenience(self) -> dict[str, Any]:
        """`read`, for a file nothing depends on (pins, aliases): one in a folder others
        could change reads as empty (saving it says why), never as an error."""
        try:
            return self.read()
        except MfaTuiError:
            return self.parse(None)

    def replace(self, data: dict[str, Any]) -> None:
        """Write `data` as the whole file (under its lock, like `update`)."""

        def change(current: dict[str, Any]) -> bool:
            current.clear()
            current.update(data)
            return True

        self.update(change)

    def update(self, change: Callable[[dict[str, Any]], bool]) -> bool:
        """Read, change and write the file under its lock; `change` says whether to write."""
        from mfa_tui.aws.atomic import hold_lock

        try:
            private_files.private_folder(str(self.path.parent))
        except private_files.UnsafePathError as exc:
            raise self._refused(exc) from None
        except OSError as exc:
            raise FileWriteError(
                f"cannot create the state folder {self.path.parent}: {exc.strerror}"
            ) from None
        with hold_lock(self.path):
            data = self.parse(self.raw())
            if not change(data):
                return False
            try:
                private_files.write_private(
                    str(self.path), json.dumps(data, indent=1, sort_keys=True).encode()
                )
            except private_files.UnsafePathError as exc:
                raise self._refused(exc) from None
            except OSError as exc:
                raise FileWriteError(f"could not write {self.path}: {exc.strerror}") from None
            return True
