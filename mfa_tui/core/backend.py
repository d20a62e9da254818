"""The one door the dashboard and the daemon go through to reach the session engine.

The faces never hold a `SessionService` across threads: every call builds a fresh one
from the files (as cheap as reading them), so two refreshes in two worker threads share
no state and need no lock; the files themselves are the shared truth, and the writer
locks them. Tests drive the faces through a fake with the same protocol.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mfa_tui.aws.files import AwsPaths, load_profiles
from mfa_tui.clock import SYSTEM_CLOCK, Clock
from mfa_tui.core.key_ages import read_key_ages
from mfa_tui.core.status import ProfileStatus, all_statuses
from mfa_tui.core.store import RefreshResult
from mfa_tui.settings import Settings, load_settings, save_settings, settings_path

if TYPE_CHECKING:
    from mfa_tui.core.asking import Asker
    from mfa_tui.core.console import ConsoleLink
    from mfa_tui.core.key_ages import KeyAge
    from mfa_tui.core.sessions import Served, SessionService
    from mfa_tui.core.setup import MfaSetup
    from mfa_tui.errors import MfaTuiError

SEED_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class Snapshot:
    """Everything a face shows, read from the files at one moment."""

    statuses: list[ProfileStatus]
    settings: Settings
    problems: list[str] = field(default_factory=list)


class Backend(Protocol):
    """What a face needs from the engine. Every method may block; call it off the UI."""

    def watched_files(self) -> list[Path]:
        """The files whose change means `load()` would answer differently."""

    def load(self) -> Snapshot:
        """Read the files now (not the keyring: that can be slow, see `seeded`)."""

    def seeded_serials(self, serials: Iterable[str]) -> frozenset[str]:
        """Which of these MFA serials have a TOTP seed in the keyring."""

    def refused_seeds(self, serials: Iterable[str]) -> frozenset[str]:
        """Which of these MFA serials have a stored seed whose codes AWS keeps refusing."""

    def account_aliases(self) -> dict[str, str]:
        """Account ID -> alias, as cached (no AWS call; quick)."""

    def look_up_aliases(self, account_ids: Iterable[str]) -> dict[str, str]:
        """Account ID -> alias for these accounts, asking IAM (iam:ListAccountAliases)
        with a session that already exists where the cache has no recent answer."""

    def refresh(
        self,
        name: str,
        *,
        force: bool = False,
        asker: Asker | None = None,
        cancel: threading.Event | None = None,
    ) -> RefreshResult:
        """Refresh `name`'s session, asking `asker` when a code is needed; raises
        MfaTuiError (a NeedsCodeError carrying the CodeRequest when nobody could be
        asked)."""

    def activate(
        self, name: str, *, asker: Asker | None = None, cancel: threading.Event | None = None
    ) -> RefreshResult:
        """Make `name`'s session the active profile, refreshing it first if needed."""

    def serve(
        self,
        name: str,
        *,
        min_valid: float,
        asker: Asker | None = None,
        cancel: threading.Event | None = None,
    ) -> Served:
        """A session for `name` with at least `min_valid` seconds left (the agent's)."""

    def console_link(
        self, name: str, *, asker: Asker | None = None, cancel: threading.Event | None = None
    ) -> ConsoleLink:
        """A sign-in URL for the AWS console as `name`'s role session (core/console.py)."""

    def save_seed(self, mfa_serial: str, seed: str) -> None:
        """Store a TOTP seed for an MFA device in the OS keyring."""

    def key_ages(self, names: Iterable[str]) -> dict[str, KeyAge | MfaTuiError]:
        """Look up (IAM, with each user's stored session) and record the age of these
        users' access keys; what was found or what stopped it, per user."""

    def save_settings(self, settings: Settings) -> None:
        """Write the settings file."""

    def mfa_setup(self, profile: str) -> MfaSetup:
        """The steps of `mfa-tui setup` for a user profile, on these files and keyring."""


class ServiceBackend:
    """`Backend` on the real `SessionService`, one fresh service per call."""

    def __init__(
        self,
        paths: AwsPaths | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        settings_file: Path | None = None,
        keyring_backend: object = None,
    ) -> None:
        """Args:
        paths: the AWS files (default: from the environment, like botocore).
        clock: the engine's clock.
        settings_file: mfa-tui's settings (default: MFA_TUI_CONFIG or the config dir).
        keyring_backend: a keyring backend for TOTP seeds (default: the OS keyring).
        """
        self.paths = paths or AwsPaths.from_env()
        self.keyring_backend = keyring_backend
        self.clock = clock
        self.settings_file = settings_file or settings_path()
        self._seed_lock = threading.Lock()
        # serial -> (has a seed, monotonic time checked); keyring look-ups can be slow.
        self._seed_cache: dict[str, tuple[bool, float]] = {}

    def _service(self) -> SessionService:
        # Imported here: reading the files (load) needs neither boto3 nor the engine.
        from mfa_tui.core.sessions import SessionService

        return SessionService(
            paths=self.paths,
            settings=load_settings(self.settings_file),
            clock=self.clock,
            keyring_backend=self.keyring_backend,
        )

    def watched_files(self) -> list[Path]:
        return [self.paths.config, self.paths.credentials, self.settings_file]

    def load(self) -> Snapshot:
        # The same view `mfa-tui list` prints; the engine is not needed to read files.
        settings = load_settings(self.settings_file)
        profile_set = load_profiles(self.paths)
        ages = read_key_ages()
        statuses = all_statuses(profile_set, settings, self.clock.now(), ages)
        return Snapshot(statuses=statuses, settings=settings, problems=profile_set.problems)

    def seeded_serials(self, serials: Iterable[str]) -> frozenset[str]:
        # The seed store alone: asking the keyring needs neither the engine nor boto3.
        from mfa_tui.core.codes import SeedStore

        store = SeedStore(self.keyring_backend)
        now = time.monotonic()
        found: set[str] = set()
        for serial in serials:
            with self._seed_lock:
                cached = self._seed_cache.get(serial)
            if cached is not None and now - cached[1] < SEED_CACHE_SECONDS:
                has = cached[0]
            else:
                has = store.has(serial)
                with self._seed_lock:
                    self._seed_cache[serial] = (has, now)
            if has:
                found.add(serial)
        return frozenset(found)

    def refused_seeds(self, serials: Iterable[str]) -> frozenset[str]:
        from mfa_tui.core.codes import SeedStore, UsedCodes

        used = UsedCodes()
        candidates = set(serials) & used.refused_serials()
        store = SeedStore(self.keyring_backend)
        return frozenset(
            serial
            for serial in candidates
            if (seed := store.lookup(serial)) is not None and used.seed_refused(serial, seed)
        )

    def account_aliases(self) -> dict[str, str]:
        from mfa_tui.core.account_names import AliasCache

        return AliasCache.load().known()

    def look_up_aliases(self, account_ids: Iterable[str]) -> dict[str, str]:
        from mfa_tui.core.account_names import look_up_aliases

        settings = load_settings(self.settings_file)
        profile_set = load_profiles(self.paths)
        statuses = all_statuses(profile_set, settings, self.clock.now())
        return look_up_aliases(statuses, set(account_ids), profile_set, settings, self.clock)

    def refresh(
        self,
        name: str,
        *,
        force: bool = False,
        asker: Asker | None = None,
        cancel: threading.Event | None = None,
    ) -> RefreshResult:
        return self._service().refresh(name, force=force, asker=asker, cancel=cancel)

    def activate(
        self, name: str, *, asker: Asker | None = None, cancel: threading.Event | None = None
    ) -> RefreshResult:
        return self._service().activate(name, asker=asker, cancel=cancel)

    def serve(
        self,
        name: str,
        *,
        min_valid: float,
        asker: Asker | None = None,
        cancel: threading.Event | None = None,
    ) -> Served:
        return self._service().serve(name, min_valid=min_valid, asker=asker, cancel=cancel)

    def console_link(
        self, name: str, *, asker: Asker | None = None, cancel: threading.Event | None = None
    ) -> ConsoleLink:
        from mfa_tui.core.console import console_link

        return console_link(self._service(), name, asker=asker, cancel=cancel)

    def save_seed(self, mfa_serial: str, seed: str) -> None:
        from mfa_tui.core.codes import SeedStore, UsedCodes

        SeedStore(self.keyring_backend).keep(mfa_serial, seed, UsedCodes())
        with self._seed_lock:
            self._seed_cache[mfa_serial] = (True, time.monotonic())

    def key_ages(self, names: Iterable[str]) -> dict[str, KeyAge | MfaTuiError]:
        from mfa_tui.core.key_ages import fetch_key_ages

        return fetch_key_ages(self._service(), names)

    def save_settings(self, settings: Settings) -> None:
        save_settings(settings, self.settings_file)

    def mfa_setup(self, profile: str) -> MfaSetup:
        from mfa_tui.core.setup import MfaSetup

        return MfaSetup(
            profile,
            paths=self.paths,
            settings=load_settings(self.settings_file),
            clock=self.clock,
            keyring_backend=self.keyring_backend,
        )
