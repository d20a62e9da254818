"""Keys typed before the profiles are on screen, held and played back in order.

Someone who knows the way types `mfa-tui`, then ↓ ↓ enter at once; the files are read
in a worker, and keys that reach an empty table would be lost. Quitting is never held
back (a read stuck on a dead network mount must not trap anyone).
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events

QUIT_KEYS = ("ctrl+q", "ctrl+c")


class TypeAhead:
    def __init__(self) -> None:
        self._held: list[events.Key] | None = []

    @property
    def holding(self) -> bool:
        return self._held is not None

    def hold(self, event: events.Event) -> bool:
        """Keep `event` for later; False when it goes through now."""
        held = self._held
        if held is None or not isinstance(event, events.Key) or event.is_forwarded:
            return False
        if event.key in QUIT_KEYS or (event.key == "q" and not held):
            return False
        held.append(event)
        return True

    def release(self, post: Callable[[events.Key], object]) -> None:
        """The profiles are on screen: play what was typed, and hold nothing more."""
        held, self._held = self._held or [], None
        for event in held:
            post(event)
