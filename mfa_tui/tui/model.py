"""What one table row shows: a profile's status plus what the dashboard knows of it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mfa_tui.aws.files import Kind
from mfa_tui.core.status import ProfileStatus


class NoteKind(StrEnum):
    NONE = ""
    INFO = "info"
    BUSY = "busy"
    CODE = "code"
    ERROR = "error"


@dataclass(frozen=True)
class RowState:
    """One profile as the table and detail pane show it. Holds no secret."""

    status: ProfileStatus
    seeded: bool = False
    auto_refresh: bool = True
    active: bool = False
    note: str = ""
    note_kind: NoteKind = NoteKind.NONE
    last_error: str = ""

    @property
    def name(self) -> str:
        return self.status.name

    @property
    def device(self) -> str:
        """The MFA device's name (the serial's last part), or '' without MFA."""
        serial = self.status.mfa_serial
        return serial.rsplit("/", 1)[-1] if serial else ""


def shown_in_table(status: ProfileStatus) -> bool:
    """Sessions mfa-tui wrote are shown on their owner's row, not as rows of their own."""
    return status.kind is not Kind.SESSION


def sort_key(status: ProfileStatus) -> tuple[int, tuple[str, ...]]:
    """Managed first, as a tree: each user, then the roles assumed from it, then theirs."""
    path = tuple(reversed(status.chain)) if status.chain else (status.name,)
    return (0 if status.managed else 1, tuple(p.casefold() for p in path))
