"""mfa-tui's small state files: JSON objects that hold no secret.

`codes.json` (spent TOTP steps and hashed codes), `key_ages.json` (when each user's
access key was made) and `rotations.json` (a key rotation under way) live in the user
state folder (see locations.py; `MFA_TUI_STATE_DIR` moves it). Each is read whole,
changed under its lock and replaced atomically, 0600. A damaged file reads as empty:
it costs only what it remembered, never a failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mfa_tui import locations


def state_path(name: str) -> Path:
    """`name` in the user state folder, or in MFA_TUI_STATE_DIR."""
    known = locations.state_file(name)
    return Path(known) if known is not None else Path(locations.user_dir("state")) / name


class JsonState:
    """One state file: a JSON object whose `tables` are always objects.

    Args:
        path: the file.
        tables: the keys whose values are objects (a missing or damaged one is empty).
    """

    def __init__(self, path: Path, tables: tuple[str, ...]) -> None:
        self.path = path
        self.tables = tables

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

    def read(self) -> dict[str, Any]:
        try:
            return self.parse(self.path.read_bytes())
        except OSError:
            return self.parse(None)

    def update(self, change: Callable[[dict[str, Any]], bool]) -> bool:
        """Read, change and write the file under its lock; `change` says whether to write."""
        from mfa_tui.aws.atomic import locked, replace_locked

        with locked(self.path) as target:
            try:
                data = self.parse(target.read_bytes())
            except OSError:
                data = self.parse(None)
            if not change(data):
                return False
            replace_locked(target, json.dumps(data, indent=1, sort_keys=True).encode())
            return True
