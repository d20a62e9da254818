"""The door: every face gets "a session for P with at least N seconds left" here.

UI-free; the CLI, the dashboard, the daemon and the agent all come through `serve`,
`refresh` and `activate`. A session is served from the file when it can be, refreshed
silently when it can be (a role from its user's session, a TOTP seed, a code_command,
`mfa_process`), and otherwise the `Asker` the face passed in is asked: the CLI's
terminal prompt or the running agent, the dashboard's prompt, or nobody (the daemon),
which is a NeedsCodeError carrying the CodeRequest. At most one STS call per profile is
in flight in a process.

The rooms behind the door: `plan` works a refresh out once and checks it can be kept;
`chain` walks it (the STS calls); `store` is what the files hold and writes sessions;
`devices` knows MFA devices, code sources and seeds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mfa_tui.aws.files import AwsPaths, Kind, Profile, ProfileSet
from mfa_tui.aws.sts import MAX_CONCURRENT_STS_CALLS
from mfa_tui.clock import SYSTEM_CLOCK, Clock
from mfa_tui.core.asking import Asker, PromptAsker
from mfa_tui.core.chain import Chain, Walk, check_cancel, profile_lock
from mfa_tui.core.codes import CodePrompt, UsedCodes, normalize_code
from mfa_tui.core.devices import Devices
from mfa_tui.core.plan import RefreshPlan, plan_refresh
from mfa_tui.core.refresh_policy import RefreshPolicy
from mfa_tui.core.status import ProfileStatus, all_statuses
from mfa_tui.core.store import Batch, RefreshResult, SessionStore, StoredSession
from mfa_tui.errors import CodeRequest, MfaTuiError, NeedsCodeError, UsageError
from mfa_tui.settings import Settings, load_settings

# Role refreshes that run at once (STS calls overlap; the file lock orders the writes).
REFRESH_POOL = MAX_CONCURRENT_STS_CALLS

__all__ = ["RefreshOutcome", "RefreshResult", "Served", "SessionService"]


@dataclass(frozen=True)
class RefreshOutcome:
    """One profile of `refresh_due`/`refresh_many`: a result, or the error (whose
    NeedsCodeError carries the CodeRequest a person would be asked)."""

    profile: str
    result: RefreshResult | None = None
    error: MfaTuiError | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def needs_code(self) -> CodeRequest | None:
        return self.error.request if isinstance(self.error, NeedsCodeError) else None


@dataclass(frozen=True)
class Served:
    """A session handed to a face; `note` says why it is not a fresh one, if it is not."""

    session: StoredSession
    note: str | None = None


def serving_floor(min_valid: float, plan: RefreshPlan, margin: float) -> float:
    """Seconds a stored session must have left to be served to a caller wanting
    `min_valid`.

    A profile whose sessions can never last that long (a 900-second role for a caller
    wanting 16 minutes) is served the longest it can have, and refreshed once per refresh
    period, not on every call: its floor is its length less its refresh margin (half its
    length when the margin is longer still).
    """
    longest = float(plan.longest)
    reachable = longest - margin if longest > margin else longest / 2
    return min(min_valid, reachable)


class SessionService:
    """The door to sessions for the profiles in the AWS files.

    Args:
        paths: the AWS files (default: what botocore would read).
        settings: mfa-tui's settings (default: loaded from the settings file).
        clock: wall time for expiry and TOTP; tests freeze it.
        code_prompt: a one-shot prompt for a code (the CLI's terminal; tests); `asker`
            is the general form. Neither: never ask, NeedsCodeError instead.
        keyring_backend: a keyring backend to use instead of the OS's (tests).
        sleep: how to wait for the next TOTP step (tests pass one that moves their clock).
        used_codes: where spent TOTP steps are remembered (default: the state dir).
        asker: who is asked for a code when a call does not name someone else.
    """

    def __init__(
        self,
        paths: AwsPaths | None = None,
        settings: Settings | None = None,
        clock: Clock = SYSTEM_CLOCK,
        code_prompt: CodePrompt | None = None,
        keyring_backend: Any = None,
        *,
        sleep: Callable[[float], None] | None = None,
        used_codes: UsedCodes | None = None,
        asker: Asker | None = None,
    ) -> None:
        self.store = SessionStore(
            paths or AwsPaths.from_env(),
            settings if settings is not None else load_settings(),
            clock,
        )
        self.devices = Devices(
            self.store,
            clock,
            keyring_backend,
            used_codes=used_codes,
            sleep=sleep,
        )
        self.chain = Chain(self.store, self.devices)
        self.asker = asker or (PromptAsker(code_prompt) if code_prompt is not None else None)

    # --- what the files hold (the store's, for the faces' convenience) ---------------

    @property
    def paths(self) -> AwsPaths:
        return self.store.paths

    @property
    def settings(self) -> Settings:
        return self.store.settings

    @property
    def clock(self) -> Clock:
        return self.store.clock

    @property
    def profile_set(self) -> ProfileSet:
        return self.store.profile_set

    def reload(self) -> ProfileSet:
        return self.store.reload()

    def profile(self, name: str) -> Profile:
        return self.store.profile(name)

    def statuses(self) -> list[ProfileStatus]:
        return all_statuses(self.profile_set, self.settings, self.clock.now())

    def credentials(self, name: str) -> StoredSession | None:
        return self.store.credentials(name)

    def seconds_left(self, name: str) -> float | None:
        return self.store.seconds_left(name)

    # --- planning --------------------------------------------------------------------

    def plan(
        self,
        name: str,
        *,
        duration: int | None = None,
        active: bool = False,
        check: bool = True,
    ) -> RefreshPlan:
        """The refresh of `name`, worked out and checked (see core/plan.py)."""
        profile_set = self.store.profile_set
        target = profile_set.get(name)
        owner = target.session_of if target is not None and target.kind is Kind.SESSION else None
        # A refresh renews the active profile when it mirrors a session on the chain.
        mirrored = self.store.active_source()
        chain = (profile_set.get(owner) if owner else target) or target
        is_active_source = mirrored is not None and (
            mirrored in (name, owner) or (chain is not None and mirrored in chain.chain)
        )
        return plan_refresh(
            profile_set,
            self.settings,
            name,
            duration=duration,
            active=active or is_active_source,
            check=check,
        )

    def needs_code(self, name: str) -> CodeRequest | None:
        """What a refresh of `name` now would need from a person; None if it can go alone
        (a role with a valid source session, a TOTP seed, a code_command).

        May call IAM once to find an unconfigured MFA device (then cached).
        """
        return self._who_is_asked(self.plan(name))

    def _who_is_asked(self, plan: RefreshPlan) -> CodeRequest | None:
        if plan.hops and not plan.direct and self.chain.valid_source_in_chain(plan) is not None:
            return None
        serial = self.devices.serial(plan, discover=True)
        assert serial is not None
        if self.devices.code_sources(plan, None).silent_source(serial):
            return None
        return plan.request(serial)

    @contextmanager
    def _interest(
        self, plan: RefreshPlan, asker: Asker | None, cancel: threading.Event | None
    ) -> Iterator[None]:
        """While this caller may need a person, the asker knows (one prompt per device,
        and a cancel there reaches callers still waiting for the device's lock)."""
        request = self._who_is_asked(plan) if asker is not None and asker.shares_prompts else None
        if request is None or asker is None:
            yield
            return
        with asker.interest(request, cancel):
            yield

    # --- the door --------------------------------------------------------------------

    def refresh(
        self,
        name: str,
        *,
        code: str | None = None,
        duration: int | None = None,
        force: bool = False,
        cancel: threading.Event | None = None,
        save_serial: bool = False,
        min_valid: float | None = None,
        asker: Asker | None = None,
        batch: Batch | None = None,
    ) -> RefreshResult:
        """Make sure `name` has a session beyond its refresh margin, and write it.

        Args:
            name: a user or role profile (or a session profile mfa-tui wrote for one).
            code: a 6-digit code; checked before anything else (UsageError).
            duration: seconds; out of range is a UsageError before any call.
            force: refresh even when the stored session is still valid.
            cancel: set it to stop before the next STS call or while waiting for a code.
            save_serial: write a discovered MFA device into the config file.
            min_valid: refresh when less than this many seconds are left, even if that is
                outside the refresh margin (credential_process needs 15 minutes).
            asker: who to ask for a code (default: the service's own).
            batch: collect the role's session there instead of writing it (refresh_many).

        Raises:
            MfaTuiError: UsageError, NeedsCodeError, AwsRefusedError, NetworkError, ...;
                nothing is written for a call that failed.
        """
        if code is not None:
            code = normalize_code(code)
        asker = asker or self.asker
        try:
            return self._refresh(
                name, code, duration, force, cancel, save_serial, min_valid, asker, batch
            )
        except NeedsCodeError:
            # Nobody here could give a code: someone else may (the running dashboard).
            profile = self.plan(name, check=False).target
            floor = self.settings.refresh_margin_for(profile.kind.value) + 60
            delegated = asker.delegate(name, floor) if asker is not None else None
            if delegated is None:
                raise
        return self.store.got_elsewhere(profile, delegated)

    def _refresh(
        self,
        name: str,
        code: str | None,
        duration: int | None,
        force: bool,
        cancel: threading.Event | None,
        save_serial: bool,
        min_valid: float | None,
        asker: Asker | None,
        batch: Batch | None,
    ) -> RefreshResult:
        plan = self.plan(name, duration=duration)
        entry = profile_lock(self.paths, plan.target.name)
        seen = entry.generation
        with self._interest(plan, asker, cancel):
            entry.acquire(cancel, name)
            try:
                # Another caller may have refreshed while we waited for the lock.
                before = self.store.profile_set
                if self.store.reload() is not before:
                    plan = self.plan(name, duration=duration)
                current = self._still_valid(plan.target, min_valid)
                if current is not None and (entry.generation != seen or not force):
                    # What the plan says (a capped duration) holds for the stored session
                    # too: every face shows it, not only the one that got the session.
                    return current.noting(plan.notes)
                check_cancel(cancel, name)
                walk = Walk(plan, code, asker, cancel, save_serial, batch)
                result = self.chain.run(walk)
                entry.generation += 1
            finally:
                entry.release()
        self.store.mirror_active(result.profile, batch)
        return result

    def _still_valid(self, profile: Profile, min_valid: float | None) -> RefreshResult | None:
        left = self.store.seconds_left(profile.name)
        margin = self.settings.refresh_margin_for(profile.kind.value)
        if left is None or left <= max(margin, min_valid or 0):
            return None
        return self.store.still_valid(profile, "nothing to do (--force refreshes anyway)")

    def activate(
        self,
        name: str,
        *,
        code: str | None = None,
        asker: Asker | None = None,
        cancel: threading.Event | None = None,
    ) -> RefreshResult:
        """Refresh `name` if its session is not valid beyond its margin, then mirror it
        into the active profile (settings.active_profile, e.g. `mfa-tui`), the one
        `AWS_PROFILE=mfa-tui` uses."""
        self.plan(name, active=True)  # refuse an active profile it may not write, first
        result = self.refresh(name, code=code, asker=asker, cancel=cancel)
        self.store.write_active(result.profile)
        return result.saying(f"switched {self.settings.active_profile} to {result.profile}")

    def serve(
        self,
        name: str,
        *,
        min_valid: float,
        asker: Asker | None = None,
        cancel: threading.Event | None = None,
        usable: float | None = None,
    ) -> Served:
        """A session for `name` with at least `min_valid` seconds left (see
        `serving_floor` for profiles whose sessions are shorter than that).

        Served from the file when it can be; else delegated to someone who can get it
        for every caller at once (the running agent), else refreshed here, silently or
        asking `asker`. When the refresh fails and the stored session still has more than
        `usable` seconds, that session is served with a note saying why.
        """
        asker = asker or self.asker
        try:
            # Only to see what a stored session must have left: a session already
            # stored is served even where a refresh would be refused.
            plan = self.plan(name, check=False)
        except UsageError:
            if self.store.credentials(name) is None:
                raise
            wish = min_valid
        else:
            margin = self.settings.refresh_margin_for(plan.target.kind.value)
            wish = serving_floor(min_valid, plan, margin)
        stored = self.store.credentials(name)
        if stored is not None and stored.seconds_left(self.clock.now()) > wish:
            return Served(stored)
        try:
            delegated = asker.delegate(name, min_valid) if asker is not None else None
            if delegated is not None:
                return Served(delegated)
            self.refresh(name, min_valid=wish, asker=asker, cancel=cancel)
        except UsageError:
            raise
        except MfaTuiError as exc:
            left = stored.seconds_left(self.clock.now()) if stored is not None else 0.0
            if stored is None or usable is None or left <= usable:
                raise
            return Served(stored, f"serving the stored session ({int(left) // 60} min left): {exc}")
        fresh = self.store.credentials(name)
        if fresh is None:
            raise MfaTuiError(f"the new session of '{name}' could not be read back")
        return Served(fresh)

    # --- many at once ------------------------------------------------------------------

    def refresh_due(self) -> list[RefreshOutcome]:
        """Refresh every session inside its margin that needs no person, users first.

        Due is the background refresh's own rule (RefreshPolicy): managed, auto-refresh
        on, a session that is inside its margin. A profile that needs a code is not
        tried: its outcome's NeedsCodeError carries the CodeRequest.
        """
        statuses = all_statuses(self.profile_set, self.settings, self.clock.now())
        names = RefreshPolicy().due(
            statuses, self.settings, self.clock.now(), self.clock.monotonic()
        )
        due = sorted(
            (self.profile(n) for n in names),
            key=lambda p: (p.kind is not Kind.USER, len(p.chain), p.name),
        )
        outcomes: list[RefreshOutcome] = []
        silent_roles: list[str] = []
        for profile in due:
            try:
                request = self.needs_code(profile.name)
            except MfaTuiError as exc:
                outcomes.append(RefreshOutcome(profile.name, error=exc))
                continue
            if request is not None:
                error = NeedsCodeError(
                    f"'{profile.name}' needs a code from {request.mfa_serial}; "
                    f"run 'mfa-tui refresh {profile.name}'",
                    request=request,
                )
                outcomes.append(RefreshOutcome(profile.name, error=error))
            elif profile.kind is Kind.ROLE:
                # Users go first, one by one; then every role that can go silently is
                # assumed in parallel from the (now fresh) user sessions.
                silent_roles.append(profile.name)
            else:
                outcomes.append(self._outcome(profile.name, force=False))
        outcomes.extend(self.refresh_many(silent_roles))
        return outcomes

    def _outcome(self, name: str, *, force: bool, batch: Batch | None = None) -> RefreshOutcome:
        try:
            # Nobody is asked, nothing is delegated: what needs a person is only listed.
            result = self.refresh(name, force=force, batch=batch, asker=Asker())
            return RefreshOutcome(name, result=result)
        except MfaTuiError as exc:
            return RefreshOutcome(name, error=exc)

    def refresh_many(
        self, names: Sequence[str], *, force: bool = False, max_workers: int = REFRESH_POOL
    ) -> list[RefreshOutcome]:
        """Refresh several profiles at once through a bounded pool of threads.

        Role sessions of one user need no code and no coordination but the file lock, so
        their STS calls overlap; the parse and the STS client are shared, and the new
        sessions are written in one batch. Outcomes come back in `names` order.
        """
        if not names:
            return []
        batch = Batch()
        self.reload()
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(names)))) as pool:
            outcomes = list(pool.map(lambda n: self._outcome(n, force=force, batch=batch), names))
        try:
            self.store.commit(batch)
        except MfaTuiError as exc:
            return [
                RefreshOutcome(o.profile, error=exc) if o.result and o.result.refreshed else o
                for o in outcomes
            ]
        return outcomes
