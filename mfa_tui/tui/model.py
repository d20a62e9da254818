"""What one table row shows: a profile's status plus what the dashboard knows of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from mfa_tui.aws.files import Kind
from mfa_tui.core.status import ProfileStatus
from mfa_tui.tui.finder import Searchable


class NoteKind(StrEnum):
    NONE = ""
    INFO = "info"
    BUSY = "busy"
    CODE = "code"
    ERROR = "error"


class Then(StrEnum):
    """What happens when a session reaches its refresh margin."""

    NOTHING = "nothing"  # no session, or not managed
    OFF = "off"  # auto-refresh is off: it runs out
    AUTO = "auto"  # refreshed silently
    AUTO_UNTIL = "auto_until"  # a role refreshed silently until its user's session ends
    CODE = "code"  # a person's code is needed


@dataclass(frozen=True)
class RowState:
    """One profile as the table and detail pane show it. Holds no secret.

    Attributes:
        alias: the account's alias (iam:ListAccountAliases), when known.
        silent: a code for its device comes without a person (a seed that AWS takes, a
            code_command or mfa_process).
        source_expires_at: for a role, when its user's session ends.
        step_wait_until: the engine waits for the next TOTP step until then.
        seed_refused: AWS keeps refusing the codes of its device's stored seed.
    """

    status: ProfileStatus
    seeded: bool = False
    auto_refresh: bool = True
    active: bool = False
    note: str = ""
    note_kind: NoteKind = NoteKind.NONE
    last_error: str = ""
    alias: str = ""
    pinned: bool = False
    silent: bool = False
    source_expires_at: datetime | None = None
    step_wait_until: datetime | None = None
    seed_refused: bool = False

    @property
    def name(self) -> str:
        return self.status.name

    @property
    def device(self) -> str:
        """The MFA device's name (the serial's last part), or '' without MFA."""
        serial = self.status.mfa_serial
        return serial.rsplit("/", 1)[-1] if serial else ""

    @property
    def account(self) -> str:
        """`123456789012 acme-prod`, the ID alone, or '' when unknown."""
        account_id = self.status.account_id or ""
        return f"{account_id} {self.alias}".strip() if account_id else ""

    def searchable(self) -> Searchable:
        status = self.status
        return Searchable(
            status.name,
            status.account_id or "",
            self.alias,
            status.role_name or "",
            status.source_user or "",
        )

    @property
    def refresh_at(self) -> datetime | None:
        """When the session enters its refresh margin (a background refresh is tried)."""
        expires = self.status.expires_at
        return expires - timedelta(seconds=self.status.refresh_margin) if expires else None

    @property
    def then(self) -> Then:
        """What happens at the refresh margin, in the policy's terms."""
        status = self.status
        if not status.managed or status.expires_at is None:
            return Then.NOTHING
        if not self.auto_refresh:
            return Then.OFF
        if self.silent:
            return Then.AUTO
        if status.kind is Kind.ROLE:
            refresh_at = self.refresh_at
            source_end = self.source_expires_at
            if source_end is not None and refresh_at is not None and source_end > refresh_at:
                return Then.AUTO_UNTIL
        return Then.CODE


def shown_in_table(status: ProfileStatus) -> bool:
    """Sessions mfa-tui wrote are shown on their owner's row, not as rows of their own."""
    return status.kind is not Kind.SESSION


def tree_key(status: ProfileStatus) -> tuple[int, tuple[str, ...]]:
    """Managed first, as a tree: each user, then the roles assumed from it, then theirs."""
    path = tuple(reversed(status.chain)) if status.chain else (status.name,)
    return (0 if status.managed else 1, tuple(p.casefold() for p in path))
