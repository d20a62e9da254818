"""Messages thread workers (and the agent's threads) post back to the dashboard; small
dataclasses, no widgets inside."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.message import Message

from mfa_tui.core.asking import PromptState
from mfa_tui.core.backend import Snapshot
from mfa_tui.core.picks import Picks
from mfa_tui.core.store import RefreshResult
from mfa_tui.errors import CodeRequest


@dataclass
class ProfilesLoaded(Message):
    """The files were read again (with, the first time, the state folder's picks and
    cached account aliases)."""

    snapshot: Snapshot
    picks: Picks | None = None
    aliases: dict[str, str] | None = None


@dataclass
class AliasesKnown(Message):
    """Account ID -> alias, as IAM (or the cache) says."""

    aliases: dict[str, str]


@dataclass
class CodeStepWait(Message):
    """A refresh of `profile` waits for the next 30-second code step, until `until`;
    `text` says why, in a sentence."""

    profile: str
    until: datetime
    text: str


@dataclass
class LoadFailed(Message):
    """The files or settings could not be read."""

    title: str
    message: str


@dataclass
class ErrorShown(Message):
    """Something outside a refresh failed (keyring, settings file): log it, say it."""

    title: str
    message: str


@dataclass
class SessionRefreshed(Message):
    """A refresh (or a switch, when `activated`) worked."""

    profile: str
    result: RefreshResult
    activated: bool
    background: bool


@dataclass
class RefreshFailed(Message):
    """A refresh failed."""

    profile: str
    title: str
    message: str
    background: bool
    # The MFA serial whose stored seed AWS keeps refusing, when that is why.
    seed_refused: str | None = None


@dataclass
class CodeNeeded(Message):
    """A refresh needs a person's MFA code (`cancelled`: the person said no to it)."""

    profile: str
    request: CodeRequest
    background: bool
    message: str
    cancelled: bool = False


@dataclass
class PromptChanged(Message):
    """What one device's prompt shows now (from the PromptBroker, any thread); `state`
    None closes it, `why` says what happened ("asking", "joined", "checking",
    "answered", "cancelled", "gone", "left")."""

    mfa_serial: str
    state: PromptState | None
    why: str


@dataclass
class SeedsKnown(Message):
    """The keyring was asked about `checked`; `seeded` of them have a TOTP seed.

    `epoch` is the app's count of its own seed changes when the question was asked: an
    answer older than a change the app made itself does not undo that change.
    """

    checked: frozenset[str]
    seeded: frozenset[str]
    epoch: int = 0
    # Of `seeded`, the seeds AWS keeps refusing.
    refused: frozenset[str] = frozenset()


@dataclass
class SeedSaved(Message):
    profile: str
    mfa_serial: str


@dataclass
class SeedFailed(Message):
    profile: str
    title: str
    message: str


@dataclass
class ConsoleOpened(Message):
    """The AWS console was handed to the browser as `profile` (or no browser took it)."""

    profile: str
    opened: bool


@dataclass
class KeyAgesKnown(Message):
    """IAM was asked how old some users' access keys are: `found` got an age (kept in
    the state folder, where a reload reads it), `failed` says why others did not."""

    found: frozenset[str]
    failed: dict[str, str]
