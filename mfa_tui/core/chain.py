"""The chain: the STS calls of a refresh, walked from a plan.

A user session comes from GetSessionToken with the user's long-term keys and a code. A
role is assumed with the nearest valid stored session of its chain (the user's, or a
role's nearer the user), so it needs no code of its own: one code unlocks every role.
Each hop's session is stored as it arrives, so the next refresh starts nearer the role.
A stored session AWS no longer accepts (revoked, its key deleted) is replaced by a new
user session. Refreshes of one profile are serialised within a process (`profile_lock`),
so concurrent callers cause one STS call, not one each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mfa_tui.aws.connection import Connection, connection_for
from mfa_tui.aws.files import AwsPaths
from mfa_tui.core.asking import Asker
from mfa_tui.core.codes import Cancelled, Code, CodeSources
from mfa_tui.core.devices import Devices
from mfa_tui.core.plan import CHAINED_ROLE_MAX, Hop, RefreshPlan
from mfa_tui.core.store import Batch, RefreshResult, SessionStore, human_time
from mfa_tui.errors import (
    AwsRefusedError,
    CodeRequest,
    InvalidMfaCodeError,
    MfaTuiError,
    SeedRefusedError,
)
from mfa_tui.settings import ASSUME_ROLE_MIN

# A source session with less than this left is not worth assuming a role from.
MIN_SOURCE_LEFT = 120
# AWS's answers when a stored session (not a person's code) is what it refuses.
SESSION_REJECTED = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch"}
)
# How often a caller waiting for another's refresh looks whether it was cancelled.
_LOCK_POLL_SECONDS = 0.1


@dataclass
class ProfileLock:
    """Serialises refreshes of one profile; `generation` counts finished refreshes so a
    caller that waited can tell someone else just did its work."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    generation: int = 0

    def acquire(self, cancel: threading.Event | None, name: str) -> None:
        """Wait for the lock; a cancelled caller stops waiting (Cancelled)."""
        while not self.lock.acquire(timeout=_LOCK_POLL_SECONDS):
            check_cancel(cancel, name)

    def release(self) -> None:
        self.lock.release()


_locks_guard = threading.Lock()
_profile_locks: dict[tuple[str, str], ProfileLock] = {}


def profile_lock(paths: AwsPaths, name: str) -> ProfileLock:
    key = (str(paths.credentials), name)
    with _locks_guard:
        return _profile_locks.setdefault(key, ProfileLock())


def check_cancel(cancel: threading.Event | None, name: str) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"the refresh of '{name}' was cancelled")


@dataclass
class Walk:
    """One refresh in progress: what the caller gave, and what it spent and noted."""

    plan: RefreshPlan
    code: str | None
    asker: Asker | None
    cancel: threading.Event | None
    save_serial: bool
    batch: Batch | None = None
    used_code: bool = False
    notes: list[str] = field(default_factory=list)


def not_the_current_code(exc: InvalidMfaCodeError, request: CodeRequest) -> InvalidMfaCodeError:
    """AWS's refusal of a code a person gave, in words that fit: mfa-tui checks that it
    never sent a typed code before, so a refused one was not the device's current code
    (unless a timed-out attempt of this very call may have spent it, which sts says)."""
    if "may have used the code already" in exc.message:
        return exc
    device = request.mfa_serial.rsplit("/", 1)[-1] or request.mfa_serial
    return InvalidMfaCodeError(
        f"AWS rejected the MFA code for {request.mfa_serial}: it is not the code {device} "
        "shows now (mfa-tui has not sent it before, so it was not a reused code; another "
        "program may have used it first). Type the code the device shows now",
        code=exc.code,
    )


class Chain:
    """Walks plans: the STS calls, in order, each result stored as it comes."""

    def __init__(self, store: SessionStore, devices: Devices) -> None:
        self.store = store
        self.devices = devices

    def run(self, walk: Walk) -> RefreshResult:
        """A new session for the plan's target (the caller holds its profile lock)."""
        plan = walk.plan
        walk.notes.extend(plan.notes)
        if plan.direct:
            return self._assume_directly(walk)
        if plan.is_user:
            creds = self._user_session(walk, fresh=True)
            return self.store.write(plan.user, creds, used_code=walk.used_code, notes=walk.notes)
        return self._role(walk)

    def _connection(self, name: str) -> Connection:
        """How `name` reaches STS, from the files as the store read them (the reading
        `list` shows: botocore never parses the files itself)."""
        return connection_for(self.store.profile_set, name)

    # --- codes -----------------------------------------------------------------------

    def _with_code(
        self,
        walk: Walk,
        request: CodeRequest,
        sources: CodeSources,
        code: Code,
        call: Callable[[str], Any],
    ) -> Any:
        """Run an STS call with a code; a soft token gets one retry on its next step, a
        person is asked again (with AWS's answer) for as long as they stay."""
        while True:
            try:
                result = call(code.value)
            except InvalidMfaCodeError as exc:
                sources.mark_used(request, code)
                if code.source == "totp":
                    return self._totp_retry(walk, request, sources, code, call, exc)
                refusal = exc
                if code.source in ("prompt", "explicit"):
                    refusal = not_the_current_code(exc, request)
                if code.source != "prompt" or walk.asker is None:
                    raise refusal from None
                again = sources.ask_person(request, refusal, walk.cancel)
                if again is None:
                    raise refusal from None
                code = again
                continue
            sources.mark_used(request, code)
            if code.source == "prompt" and walk.asker is not None:
                walk.asker.answered(request)
            return result

    def _totp_retry(
        self,
        walk: Walk,
        request: CodeRequest,
        sources: CodeSources,
        code: Code,
        call: Callable[[str], Any],
        exc: InvalidMfaCodeError,
    ) -> Any:
        retry = sources.from_seed(request.mfa_serial, after_step=code.step, cancel=walk.cancel)
        if retry is None:
            raise exc
        try:
            result = call(retry.value)
        except InvalidMfaCodeError:
            sources.mark_used(request, retry)
            sources.refuse_seed(request.mfa_serial)
            raise SeedRefusedError(
                f"AWS refused two codes in a row from the TOTP seed stored for "
                f"{request.mfa_serial}: the seed may not belong to that device (run "
                f"'mfa-tui totp set {request.user}' with the right one) or this "
                "computer's clock is off. Until a new seed is stored, mfa-tui asks for "
                "a code instead",
                mfa_serial=request.mfa_serial,
                code=exc.code,
            ) from None
        sources.mark_used(request, retry)
        return result

    # --- the user session --------------------------------------------------------------

    def _user_session(self, walk: Walk, *, fresh: bool = False, renew: bool = False) -> Any:
        """A user session to go on from: the stored one, or a new one (with a code).

        `fresh` always gets a new one (the user itself was asked for, and the door holds
        its lock); `renew` ignores a stored session AWS just refused.
        """
        plan = walk.plan
        user = plan.user
        serial = self.devices.serial_for_refresh(plan, walk.save_serial, walk.notes)
        request = plan.request(serial)
        sources = self.devices.code_sources(plan, walk.asker)
        if fresh:
            return self._get_session_token(walk, request, sources)
        entry = profile_lock(self.store.paths, user.name)
        entry.acquire(walk.cancel, plan.target.name)
        try:
            # Someone may have refreshed the user while we waited for its lock.
            self.store.reload()
            stored = None if renew else self.valid_source(user.name)
            if stored is not None:
                return stored
            creds = self._get_session_token(walk, request, sources)
            self.store.write(user, creds, used_code=True)
            entry.generation += 1
        finally:
            entry.release()
        self.store.mirror_active(user.name)
        return creds

    def _get_session_token(self, walk: Walk, request: CodeRequest, sources: CodeSources) -> Any:
        from mfa_tui.aws import sts

        plan = walk.plan
        keys = self.devices.long_term_keys(plan.user)
        first = sources.obtain(request, walk.code, walk.cancel)
        check_cancel(walk.cancel, plan.user.name)
        creds = self._with_code(
            walk,
            request,
            sources,
            first,
            lambda value: sts.get_session_token(
                plan.user.name,
                keys,
                serial=request.mfa_serial,
                code=value,
                duration=plan.user_seconds,
                connection=self._connection(plan.user.name),
            ),
        )
        walk.used_code = True
        # A typed code is spent: a later step of this walk must not send it again.
        walk.code = None
        return creds

    # --- roles ---------------------------------------------------------------------------

    def valid_source(self, name: str) -> Any | None:
        """`name`'s stored session as sts.Credentials, if it has over MIN_SOURCE_LEFT."""
        left = self.store.seconds_left(name)
        stored = self.store.credentials(name)
        if left is None or left <= MIN_SOURCE_LEFT or stored is None:
            return None
        return stored.signing()

    def valid_source_in_chain(self, plan: RefreshPlan) -> tuple[int, Any] | None:
        """The valid stored session nearest the role: (index of the first hop to assume,
        credentials). Index 0 means "from the user"."""
        hops = plan.hops
        for index in range(len(hops) - 1, 0, -1):
            creds = self.valid_source(hops[index - 1].role.name)
            if creds is not None:
                return index, creds
        creds = self.valid_source(plan.user.name)
        return (0, creds) if creds is not None else None

    def _role(self, walk: Walk) -> RefreshResult:
        plan = walk.plan
        # The nearest valid stored session; a typed code is kept for when none is valid
        # (or AWS refuses the stored one) rather than spent for nothing.
        start = self.valid_source_in_chain(plan)
        from_store = start is not None
        for attempt in range(3):
            if start is None:
                spent_before = walk.used_code
                creds = self._user_session(walk, renew=attempt > 0)
                spent = walk.used_code and not spent_before
                if spent and creds.expiration is not None:
                    walk.notes.append(
                        f"new user session {plan.session_profile(plan.user.name)} until "
                        f"{human_time(creds.expiration)}: {plan.user.name}'s other roles "
                        "need no code until then"
                    )
                start, from_store = (0, creds), not spent
            index, creds = start
            try:
                creds = self._walk(walk, index, creds)
                break
            except AwsRefusedError as exc:
                if not from_store or exc.code not in SESSION_REJECTED or attempt == 2:
                    raise
                # AWS no longer accepts a stored session (revoked, its key deleted): go
                # on from the user's stored session, or if that was the one, a new one.
                user_creds = self.valid_source(plan.user.name) if index > 0 else None
                start = (0, user_creds) if user_creds is not None else None
        return self.store.write(
            plan.target, creds, used_code=walk.used_code, notes=walk.notes, batch=walk.batch
        )

    def _walk(self, walk: Walk, index: int, creds: Any) -> Any:
        """Assume hops[index:] in turn; intermediate roles' sessions are stored too, so
        the next refresh of this chain starts nearer the role."""
        hops = walk.plan.hops
        for hop in hops[index:]:
            check_cancel(walk.cancel, walk.plan.target.name)
            last = hop is hops[-1]
            creds = self._assume(walk, hop, creds, walk.notes if last else [])
            if not last and hop.role.managed:
                self.store.write(hop.role, creds, used_code=False, batch=walk.batch)
                self.store.mirror_active(hop.role.name, walk.batch)
        return creds

    def _assume(
        self,
        walk: Walk,
        hop: Hop,
        creds: Any,
        notes: list[str],
        seconds: int | None = None,
        serial: str | None = None,
        code: str | None = None,
    ) -> Any:
        """One AssumeRole; a refused duration is retried once with the largest allowed."""
        from mfa_tui.aws import sts

        role = hop.role
        assert role.role_arn is not None

        def call(length: int) -> Any:
            return sts.assume_role(
                role.name,
                creds,
                key_profile=walk.plan.user.name,
                role_arn=role.role_arn or "",
                session_name=hop.session_name,
                duration=length,
                external_id=role.external_id,
                serial=serial,
                code=code,
                connection=self._connection(role.name),
            )

        duration = seconds if seconds is not None else hop.seconds
        try:
            return call(duration)
        except sts.DurationTooLongError as exc:
            allowed = exc.max_allowed or CHAINED_ROLE_MAX
            if code is not None or allowed >= duration or allowed < ASSUME_ROLE_MIN:
                raise  # with a code the caller decides: a retry needs a new code
            why = "role chaining limit" if exc.chained else "the role's maximum session duration"
            notes.append(f"duration capped to {allowed} s ({why}; STS refused {duration} s)")
            return call(allowed)

    def _assume_directly(self, walk: Walk) -> RefreshResult:
        """AssumeRole with the long-term keys and a code: the one path to > 1 hour."""
        from mfa_tui.aws import sts

        plan = walk.plan
        hop = plan.hops[-1]
        role = hop.role
        keys = self.devices.long_term_keys(plan.user)
        serial = self.devices.serial_for_refresh(plan, walk.save_serial, walk.notes)
        request = plan.request(serial)
        sources = self.devices.code_sources(plan, walk.asker)
        first = sources.obtain(request, walk.code, walk.cancel)
        check_cancel(walk.cancel, role.name)
        seconds = hop.seconds

        def attempt(code_now: Code, length: int) -> Any:
            return self._with_code(
                walk,
                request,
                sources,
                code_now,
                lambda value: self._assume(walk, hop, keys, walk.notes, length, serial, value),
            )

        try:
            creds = attempt(first, seconds)
        except sts.DurationTooLongError as exc:
            allowed = exc.max_allowed or CHAINED_ROLE_MAX
            if allowed >= seconds or allowed < ASSUME_ROLE_MIN:
                raise
            # The code may be spent: a retry needs a new one, which only a soft token
            # or a code_command can give without asking again.
            sources.mark_used(request, first)
            if first.source == "totp":
                again = sources.from_seed(serial, after_step=first.step, cancel=walk.cancel)
            elif first.source == "command":
                again = sources.obtain(request, None, walk.cancel)
            else:
                again = None
            if again is None:
                raise sts.DurationTooLongError(
                    f"{exc.message} Run again with --duration {allowed} or less (the role's "
                    "maximum session duration: 'aws iam get-role --role-name "
                    f"{(role.role_arn or '').rsplit('/', 1)[-1]}')",
                    chained=exc.chained,
                    max_allowed=exc.max_allowed,
                ) from None
            why = "role chaining limit" if exc.chained else "the role's maximum session duration"
            walk.notes.append(f"duration capped to {allowed} s ({why}; STS refused {seconds} s)")
            seconds = allowed
            creds = attempt(again, seconds)
        walk.used_code = True
        walk.notes.append(
            f"assumed directly with MFA for {seconds} s (a role assumed from a session "
            "is capped at an hour); no user session was stored"
        )
        return self.store.write(role, creds, used_code=True, notes=walk.notes)


__all__ = ["MIN_SOURCE_LEFT", "Chain", "MfaTuiError", "Walk", "profile_lock"]
