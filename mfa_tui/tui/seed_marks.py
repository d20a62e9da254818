"""Which MFA devices have a TOTP seed in the keyring, as far as the dashboard knows, and
which of those seeds AWS keeps refusing.

The keyring is asked in a worker (a D-Bus round trip per device can be slow), so its
answers arrive late; a seed the person stored meanwhile must not be unmarked by an
answer to a question asked before it was stored. Each change the dashboard makes
itself bumps an epoch, and an answer only speaks for devices not changed since it was
asked. A refused seed loses its +totp mark, and its warning stays until a seed that
works is stored.
"""

from __future__ import annotations

from collections.abc import Iterable


class SeedMarks:
    def __init__(self) -> None:
        self.seeded: set[str] = set()
        self._refused: set[str] = set()
        self._checked: set[str] = set()
        self.epoch = 0
        # serial -> the epoch when this dashboard stored its seed.
        self._changed: dict[str, int] = {}

    def unknown(self, serials: Iterable[str]) -> frozenset[str]:
        """The serials the keyring was never asked about."""
        return frozenset(set(serials) - self._checked)

    def answered(
        self,
        checked: frozenset[str],
        seeded: frozenset[str],
        epoch: int,
        refused: frozenset[str] = frozenset(),
    ) -> None:
        """The keyring's answer to a question asked at `epoch`."""
        current = {s for s in checked if self._changed.get(s, -1) < epoch}
        self._checked |= checked
        self.seeded -= current
        self.seeded |= seeded & current
        self._refused -= current
        self._refused |= refused & current

    def stored(self, serial: str) -> None:
        """The person stored a seed for `serial` here."""
        self.seeded.add(serial)
        self._refused.discard(serial)
        self._checked.add(serial)
        self._changed[serial] = self.epoch
        self.epoch += 1

    def refused(self, serial: str) -> None:
        """AWS refused two codes in a row from `serial`'s stored seed."""
        self._refused.add(serial)

    def has(self, serial: str | None) -> bool:
        """A seed that AWS takes (as far as anyone knows) is stored for `serial`."""
        return bool(serial and serial in self.seeded and serial not in self._refused)

    def is_refused(self, serial: str | None) -> bool:
        return bool(serial and serial in self._refused)

    @staticmethod
    def refused_note(serial: str, user: str) -> str:
        device = serial.rsplit("/", 1)[-1]
        return (
            f"AWS refuses the codes of the TOTP seed stored for {device}: press t to store "
            f"the right one (or 'mfa-tui totp set {user}'); until then it asks for a code"
        )
