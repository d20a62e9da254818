"""`mfa-tui daemon`: the dashboard's background refresh, headless.

The same policy as the dashboard (`mfa_tui.core.refresh_policy`): sessions with
auto-refresh on are refreshed a margin before they expire, when that needs no person
(a role from its user's valid session, a user with a TOTP seed or a code_command).
A session that needs a typed code is logged once, not retried, until its file changes.
Failures back off (30 s doubling to 15 min). The files are re-read only when their
signature changes. It logs to the user log folder (`daemon.log`, rotated), never
a secret; `--once` makes one pass and exits (0 ok, else the first failure's exit code).

Run it as a systemd user service (`~/.config/systemd/user/mfa-tui.service`):

    [Unit]
    Description=mfa-tui: keep MFA sessions fresh

    [Service]
    ExecStart=%h/.local/bin/mfa-tui daemon
    Restart=on-failure

    [Install]
    WantedBy=default.target

then `systemctl --user enable --now mfa-tui`. On macOS, a launchd agent
(`~/Library/LaunchAgents/dev.mfa-tui.daemon.plist`) with `ProgramArguments`
`[/usr/local/bin/mfa-tui, daemon]`, `RunAtLoad` and `KeepAlive` true, loaded with
`launchctl bootstrap gui/$(id -u) ~/Library/LaunchAgents/dev.mfa-tui.daemon.plist`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from io import TextIOWrapper
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import FrameType

from mfa_tui import locations, private_files
from mfa_tui.clock import SYSTEM_CLOCK, Clock
from mfa_tui.core.agent import AgentServer
from mfa_tui.core.asking import StepWatcher
from mfa_tui.core.backend import Backend, Snapshot
from mfa_tui.core.file_watch import FileWatcher
from mfa_tui.core.key_ages import rotate_due
from mfa_tui.core.refresh_policy import Outcome, RefreshPolicy
from mfa_tui.core.status import ages_wanted
from mfa_tui.errors import ExitCode, MfaTuiError, NeedsCodeError

LOG_NAME = "daemon.log"
# How often the files are polled while nothing is due (a stat each: nearly free).
POLL_SECONDS = 5.0

log = logging.getLogger("mfa_tui.daemon")


def log_path() -> Path:
    """`daemon.log` in the user log folder (see locations.py)."""
    return Path(locations.user_dir("log")) / LOG_NAME


@dataclass(frozen=True)
class PassResult:
    """One refresh attempt in a pass."""

    profile: str
    outcome: Outcome
    message: str
    exit_code: ExitCode = ExitCode.OK


class Daemon:
    """The refresh loop; `run_once` is one pass, `run` loops until `stop` is set."""

    def __init__(
        self,
        backend: Backend,
        *,
        clock: Clock = SYSTEM_CLOCK,
        policy: RefreshPolicy | None = None,
    ) -> None:
        self.backend = backend
        self.clock = clock
        self.policy = policy or RefreshPolicy()
        self.snapshot: Snapshot | None = None
        self._watcher: FileWatcher | None = None
        self._told: set[tuple[str, object]] = set()
        # Users whose key age IAM was asked for in this run (asked once each).
        self._ages_asked: set[str] = set()

    def load_if_changed(self) -> Snapshot:
        """The current snapshot, re-read only when a watched file changed."""
        if self._watcher is None:
            self._watcher = FileWatcher(self.backend.watched_files())
            self.snapshot = None
        if self.snapshot is None or self._watcher.changed():
            self.snapshot = self.backend.load()
            self.policy.look_again()
            for problem in self.snapshot.problems:
                if ("problem", problem) not in self._told:
                    self._told.add(("problem", problem))
                    log.warning("%s", problem)
        return self.snapshot

    def run_once(self) -> list[PassResult]:
        """Refresh whatever is due now; returns what was tried and how it went."""
        snapshot = self.load_if_changed()
        statuses = {s.name: s for s in snapshot.statuses}
        due = self.policy.take_due(
            statuses.values(), snapshot.settings, self.clock.now(), self.clock.monotonic()
        )
        # What we write changes the files' signatures, so the next pass re-reads them.
        return [self._refresh(name, statuses[name].expires_at) for name in due]

    def _refresh(self, name: str, expires_at: datetime | None) -> PassResult:
        self.policy.started(name)
        mono = self.clock.monotonic()
        try:
            # Nobody to ask; a wait for the next code step goes to the log.
            watcher = StepWatcher(lambda _until, text: log.info("%s: %s", name, text))
            result = self.backend.refresh(name, asker=watcher)
        except MfaTuiError as exc:
            backoff = self.policy.report(name, exc, mono=mono, expires_at=expires_at)
            if isinstance(exc, NeedsCodeError):
                log.warning(
                    "%s needs an MFA code: %s (run 'mfa-tui refresh %s' or open mfa-tui)",
                    name,
                    exc.message,
                    name,
                )
                return PassResult(name, Outcome.NEEDS_CODE, exc.message, exc.exit_code)
            wait = (backoff.retry_at - mono) if backoff else 0
            log.error("%s: %s: %s (retrying in %.0f s)", name, exc.title, exc.message, wait)
            return PassResult(name, Outcome.FAILED, exc.message, exc.exit_code)
        self.policy.report(name, None, mono=mono)
        until = result.expiration.strftime("%Y-%m-%dT%H:%M:%SZ")
        log.info("refreshed %s: %s valid until %s", name, result.session_profile, until)
        return PassResult(name, Outcome.OK, result.message)

    def check_key_ages(self) -> None:
        """Look up the age of access keys not known yet (once per user per run, with
        the user's stored session), and say once when a key is due for rotation."""
        if self.snapshot is None:
            return
        now = self.clock.now()
        wanted = [n for n in ages_wanted(self.snapshot.statuses, now) if n not in self._ages_asked]
        self._ages_asked.update(wanted)
        found = self.backend.key_ages(wanted) if wanted else {}
        for name, age in sorted(found.items()):
            if isinstance(age, MfaTuiError):
                log.warning("the age of %s's access key is unknown: %s", name, age.message)
        if any(not isinstance(age, MfaTuiError) for age in found.values()):
            self.snapshot = self.backend.load()  # the ages were recorded: read them
        for status in self.snapshot.statuses:
            created = status.key_created
            if rotate_due(created, now) and ("rotate", (status.name, created)) not in self._told:
                self._told.add(("rotate", (status.name, created)))
                assert created is not None
                log.warning(
                    "%s: its access key is %d days old: rotate it ('mfa-tui keys rotate %s')",
                    status.name,
                    (now - created).days,
                    status.name,
                )

    def next_wait(self, poll: float = POLL_SECONDS) -> float:
        """Seconds to sleep: until something is due, but never longer than `poll`."""
        if self.snapshot is None:
            return 0.0
        wait = self.policy.seconds_to_next_look(
            self.snapshot.statuses,
            self.snapshot.settings,
            self.clock.now(),
            self.clock.monotonic(),
        )
        return min(poll, wait)

    def run(self, stop: threading.Event, *, poll: float = POLL_SECONDS) -> None:
        """Loop until `stop` is set; a failed pass is logged and the loop goes on."""
        log.info("mfa-tui daemon started")
        while not stop.is_set():
            try:
                self.run_once()
                self.check_key_ages()
            except MfaTuiError as exc:
                if ("load", exc.message) not in self._told:
                    self._told.add(("load", exc.message))
                    log.error("%s: %s", exc.title, exc.message)
                self.snapshot = None
            stop.wait(max(self.next_wait(poll), 0.5))
        log.info("mfa-tui daemon stopped")


class PrivateLog(RotatingFileHandler):
    """A rotated log that is opened like every file of mfa-tui's own: never through a
    link, 0600, in a folder nobody else can change (see `mfa_tui.private_files`)."""

    def _open(self) -> TextIOWrapper:
        fd = private_files.open_private_append(self.baseFilename)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


@contextmanager
def logging_to(path: Path, *, verbose: bool) -> Iterator[None]:
    """Log to `path` (rotated at 1 MB, 3 kept) and to stderr; restore on exit.

    Raises:
        MfaTuiError: the log folder (or the way to it) could be changed by another
            user, or the log cannot be opened.
    """
    # The log names profiles and devices: owner-only, like every file mfa-tui creates.
    # The umask stays for the daemon's life, so files made at rotation are private too.
    os.umask(0o077)
    try:
        file_handler = PrivateLog(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except private_files.UnsafePathError as exc:
        raise MfaTuiError(
            f"mfa-tui will not write its log in {path.parent}: {exc}", title="Log refused"
        ) from None
    except OSError as exc:
        raise MfaTuiError(f"cannot open the log {path}: {exc.strerror or exc}") from None
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    stream = logging.StreamHandler()
    stream.setFormatter(logging.Formatter("mfa-tui daemon: %(message)s"))
    log.addHandler(file_handler)
    log.addHandler(stream)
    previous = log.level
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(file_handler)
        log.removeHandler(stream)
        file_handler.close()
        log.setLevel(previous)


def run(args: argparse.Namespace, backend: Backend | None = None) -> int:
    if backend is None:
        from mfa_tui.core.backend import ServiceBackend

        backend = ServiceBackend()
    daemon = Daemon(backend)
    path = log_path()
    with logging_to(path, verbose=False):
        if args.once:
            results = daemon.run_once()
            if not results:
                log.info("nothing due")
            failures = [r for r in results if r.outcome is not Outcome.OK]
            return int(failures[0].exit_code) if failures else int(ExitCode.OK)
        stop = threading.Event()

        def _stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        log.info("logging to %s", path)
        agent = _start_agent(backend)
        try:
            daemon.run(stop)
        finally:
            if agent is not None:
                agent.stop()
    return int(ExitCode.OK)


def _start_agent(backend: Backend) -> AgentServer | None:
    """Serve credential-process callers: stored sessions and silent refreshes.

    The daemon has no person to ask, so a request that needs a typed code fails fast
    with a message that says to open the dashboard.
    """
    from mfa_tui.core.agent_service import AgentService

    server = AgentServer(AgentService(backend).handle)
    try:
        server.start()
    except (MfaTuiError, OSError) as exc:
        log.warning("not answering credential-process callers: %s", exc)
        return None
    log.info("answering credential-process callers on %s", server.path)
    return server
