"""Which profiles the person uses: pins, and how often and how lately each was switched
to (frecency, as granted's and zoxide's pickers rank), kept in the state folder.

Nothing here is a secret (profile names and times); the files are conveniences, and a
missing or damaged one reads as empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mfa_tui.core.state_file import JsonState, state_path

PICKS_FILE = "picks.json"
MAX_REMEMBERED = 500
HOUR, DAY, WEEK = 3600.0, 86_400.0, 7 * 86_400.0


def recency_weight(age: float) -> float:
    """zoxide's weights: the last hour counts four times, the last day twice, the last
    week once, older uses a quarter."""
    if age < HOUR:
        return 4.0
    if age < DAY:
        return 2.0
    if age < WEEK:
        return 1.0
    return 0.25


@dataclass
class Picks:
    """Pins in the order they were pinned, and (use count, last use) per profile."""

    pins: list[str] = field(default_factory=list)
    uses: dict[str, tuple[int, float]] = field(default_factory=dict)

    @staticmethod
    def _file(folder: Path | None) -> JsonState:
        return JsonState(state_path(PICKS_FILE, folder), ("uses",), "your pinned profiles")

    @classmethod
    def load(cls, folder: Path | None = None) -> Picks:
        data = cls._file(folder).read_convenience()
        picks = cls()
        pins = data.get("pins")
        if isinstance(pins, list):
            picks.pins = [p for p in pins if isinstance(p, str)][:MAX_REMEMBERED]
        uses = data.get("uses")
        if isinstance(uses, dict):
            for name, value in uses.items():
                if (
                    isinstance(name, str)
                    and isinstance(value, list)
                    and len(value) == 2
                    and all(isinstance(v, int | float) for v in value)
                ):
                    picks.uses[name] = (int(value[0]), float(value[1]))
        return picks

    def save(self, folder: Path | None = None) -> None:
        data: dict[str, Any] = {
            "version": 1,
            "pins": self.pins,
            "uses": {name: [count, when] for name, (count, when) in self.uses.items()},
        }
        self._file(folder).replace(data)

    def used(self, name: str, now: float) -> None:
        """`name` was switched to at unix time `now`."""
        count, _ = self.uses.get(name, (0, now))
        self.uses[name] = (count + 1, now)
        if len(self.uses) > MAX_REMEMBERED:
            oldest = min(self.uses, key=lambda n: self.uses[n][1])
            del self.uses[oldest]

    def score(self, name: str, now: float) -> float:
        count, when = self.uses.get(name, (0, 0.0))
        return count * recency_weight(now - when) if count else 0.0

    def toggle_pin(self, name: str) -> bool:
        """Pin `name`, or unpin it; True when it is pinned now."""
        if name in self.pins:
            self.pins.remove(name)
            return False
        self.pins.append(name)
        return True
