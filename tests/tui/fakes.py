"""A `Backend` that behaves like the engine on real files, without STS.

It reads the real AWS files with the real loader and writes sessions with the real
writer; only the STS call is replaced: a user needs a code unless its serial has a seed,
a role refreshes silently while its user's session is valid, `000000` is a wrong code.
A code is asked of the asker the dashboard passes, as the engine does (one prompt per
device, AWS's answer shown in place); each code "sent" is recorded as a call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from mfa_tui.aws.credentials import OWNER_KEY, write_section
from mfa_tui.aws.files import AwsPaths, Kind, format_expiration, load_profiles
from mfa_tui.aws.iam import IamUser
from mfa_tui.clock import Clock
from mfa_tui.core.asking import Asker, PromptAsker
from mfa_tui.core.backend import Snapshot
from mfa_tui.core.console import ConsoleLink
from mfa_tui.core.key_ages import KeyAge, read_key_ages, record_key_age
from mfa_tui.core.sessions import Served
from mfa_tui.core.setup import MfaSetup, PendingDevice, SetupTarget
from mfa_tui.core.status import all_statuses
from mfa_tui.core.store import RefreshResult, stored_session
from mfa_tui.errors import (
    CodeRequest,
    InvalidMfaCodeError,
    MfaTuiError,
    NeedsCodeError,
    NetworkError,
)
from mfa_tui.settings import Settings, load_settings, save_settings

WRONG_CODE = "000000"

ACCOUNT = "123456789012"
SERIAL = f"arn:aws:iam::{ACCOUNT}:mfa/test-user-phone"

CONFIG = f"""\
[default]
region = eu-west-1

[profile test-user]
region = ap-northeast-1
mfa_serial = {SERIAL}

[profile my-test-role]
region = ap-northeast-1
source_profile = test-user
role_arn = arn:aws:iam::{ACCOUNT}:role/my-test-role
mfa_serial = {SERIAL}

[profile admin]
source_profile = test-user
role_arn = arn:aws:iam::{ACCOUNT}:role/admin
mfa_serial = {SERIAL}

[profile ops-chained]
source_profile = admin
role_arn = arn:aws:iam::{ACCOUNT}:role/ops

[profile sso-dev]
sso_session = corp
sso_account_id = {ACCOUNT}
sso_role_name = Dev
"""

CREDENTIALS = """\
[test-user]
aws_access_key_id = AKIAEXAMPLEUSER0001
aws_secret_access_key = long-term-secret-do-not-show
"""


def write_sample_files(aws_dir: Path) -> AwsPaths:
    """A user with an MFA device, two roles from it, one chained role, and an SSO profile."""
    config = aws_dir / "config"
    credentials = aws_dir / "credentials"
    config.write_text(CONFIG)
    credentials.write_text(CREDENTIALS)
    credentials.chmod(0o600)
    return AwsPaths(config=config, credentials=credentials)


@dataclass
class Call:
    op: str
    profile: str
    code: str | None = None


@dataclass
class FakeBackend:
    paths: AwsPaths
    settings_file: Path
    clock: Clock
    seeded: set[str] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)
    # Set to make refresh() wait until it is cleared (a slow STS).
    gate: threading.Event | None = None
    # Set to make the keyring's answer wait until it is set (a slow keyring).
    keyring_gate: threading.Event | None = None
    fail_with: Exception | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    # What IAM answers about keys' ages (an age is recorded, as the engine does), and
    # the users it was asked about.
    ages: dict[str, KeyAge | MfaTuiError] = field(default_factory=dict)
    ages_asked: list[str] = field(default_factory=list)
    # Seeds AWS refuses (serials), and account ID -> alias as IAM would answer.
    refused: set[str] = field(default_factory=set)
    aliases: dict[str, str] = field(default_factory=dict)
    alias_calls: list[frozenset[str]] = field(default_factory=list)
    # Set to make a refresh wait for the next code step: (seconds, released by this event).
    step_wait: tuple[float, threading.Event] | None = None

    def watched_files(self) -> list[Path]:
        return [self.paths.config, self.paths.credentials, self.settings_file]

    def settings(self) -> Settings:
        return load_settings(self.settings_file)

    def load(self) -> Snapshot:
        settings = self.settings()
        profile_set = load_profiles(self.paths)
        ages = read_key_ages()
        statuses = all_statuses(profile_set, settings, self.clock.now(), ages)
        return Snapshot(statuses=statuses, settings=settings, problems=profile_set.problems)

    def key_ages(self, names: Iterable[str]) -> dict[str, KeyAge | MfaTuiError]:
        found: dict[str, KeyAge | MfaTuiError] = {}
        for name in names:
            self.ages_asked.append(name)
            answer = self.ages.get(name)
            if isinstance(answer, KeyAge):
                record_key_age(name, answer)
            if answer is not None:
                found[name] = answer
        return found

    def seeded_serials(self, serials: Iterable[str]) -> frozenset[str]:
        if self.keyring_gate is not None:
            self.keyring_gate.wait(120)
        return frozenset(set(serials) & self.seeded)

    def refused_seeds(self, serials: Iterable[str]) -> frozenset[str]:
        return frozenset(set(serials) & self.refused)

    def account_aliases(self) -> dict[str, str]:
        return {}

    def look_up_aliases(self, account_ids: Iterable[str]) -> dict[str, str]:
        wanted = frozenset(account_ids)
        self.alias_calls.append(wanted)
        return {k: v for k, v in self.aliases.items() if k in wanted}

    def _user_session_valid(self, user: str) -> bool:
        settings = self.settings()
        profile_set = load_profiles(self.paths)
        session = profile_set.get(settings.session_profile_for(user))
        return bool(
            session is not None
            and session.expiration is not None
            and session.expiration > self.clock.now()
        )

    def code_wanted(self, name: str) -> CodeRequest | None:
        profile_set = load_profiles(self.paths)
        profile = profile_set.profiles[name]
        user = profile.chain[-1] if profile.chain else name
        serial = profile.mfa_serial or profile_set.profiles[user].mfa_serial or ""
        if serial in self.seeded:
            return None
        if profile.kind is Kind.ROLE and self._user_session_valid(user):
            return None
        return CodeRequest(name, serial, user)

    def _write(self, name: str, seconds: int) -> RefreshResult:
        settings = self.settings()
        session = settings.session_profile_for(name)
        expiration = self.clock.now() + timedelta(seconds=seconds)
        write_section(
            self.paths.credentials,
            session,
            {
                "aws_access_key_id": "ASIAFAKE" + name.upper().replace("-", "")[:8],
                "aws_secret_access_key": "fake-secret",
                "aws_session_token": "fake-token",
                "expiration": format_expiration(expiration),
                "mfa_tui_refreshed": format_expiration(self.clock.now()),
                OWNER_KEY: name,
            },
        )
        return RefreshResult(name, session, expiration, True, f"wrote {session}")

    def _code(
        self, name: str, wanted: CodeRequest, asker: Asker | None, cancel: threading.Event | None
    ) -> None:
        """Ask for a code like the engine: again, with AWS's answer, while it is wrong."""
        if asker is None:
            raise NeedsCodeError(f"{name} needs a code from {wanted.mfa_serial}", request=wanted)
        problem: str | None = None
        with asker.interest(wanted, cancel):
            while True:
                code = asker.ask(wanted, problem=problem, cancel=cancel)
                if code is None:
                    raise NeedsCodeError(
                        f"{name} needs a code from {wanted.mfa_serial}", request=wanted
                    )
                self.calls.append(Call("refresh", name, code))
                if code != WRONG_CODE:
                    asker.answered(wanted)
                    return
                problem = "MultiFactorAuthentication failed with invalid MFA one time pass code."
                if isinstance(asker, PromptAsker):
                    raise InvalidMfaCodeError(problem)

    def refresh(
        self,
        name: str,
        *,
        code: str | None = None,
        force: bool = False,
        asker: Asker | None = None,
        cancel: threading.Event | None = None,
    ) -> RefreshResult:
        self.calls.append(Call("refresh", name, None))
        if self.gate is not None:
            self.gate.wait(120)
        if self.step_wait is not None and asker is not None:
            # As the engine does when the current code step was used already.
            seconds, released = self.step_wait
            asker.waiting_for_step(
                self.clock.time() + seconds, f"waiting {seconds:.0f} s for the next code"
            )
            released.wait(120)
        if self.fail_with is not None:
            raise self.fail_with
        wanted = self.code_wanted(name)
        if wanted is not None:
            if code is not None:
                # A code given up front (tests' set-up): sent as the call itself.
                self.calls.pop()
                asker = PromptAsker(lambda request: code)
            self._code(name, wanted, asker, cancel)
        profile = load_profiles(self.paths).profiles[name]
        with self.lock:
            if profile.kind is Kind.ROLE:
                user = profile.chain[-1]
                if not self._user_session_valid(user):
                    self._write(user, 43_200)
                result = self._write(name, 3_600)
            else:
                result = self._write(name, 43_200)
            # Like the engine: the active profile follows a refresh of its source.
            active = load_profiles(self.paths).profiles.get(self.settings().active_profile)
            if active is not None and active.session_of == name:
                self._mirror(name, result.session_profile)
            return result

    def _mirror(self, name: str, session_profile: str) -> None:
        values = dict(load_profiles(self.paths).profiles[session_profile].values)
        values[OWNER_KEY] = name
        write_section(self.paths.credentials, self.settings().active_profile, values)

    def activate(
        self, name: str, *, asker: Asker | None = None, cancel: threading.Event | None = None
    ) -> RefreshResult:
        settings = self.settings()
        profile_set = load_profiles(self.paths)
        session = profile_set.get(settings.session_profile_for(name))
        if session is None or session.expiration is None or session.expiration <= self.clock.now():
            result = self.refresh(name, asker=asker, cancel=cancel)
        else:
            self.calls.append(Call("activate", name, None))
            result = RefreshResult(name, session.name, session.expiration, False, "still valid")
        self._mirror(name, result.session_profile)
        return result

    def serve(
        self,
        name: str,
        *,
        min_valid: float,
        asker: Asker | None = None,
        cancel: threading.Event | None = None,
    ) -> Served:
        now = self.clock.now()
        stored = stored_session(load_profiles(self.paths), self.settings(), name, now)
        if stored is None or stored.seconds_left(now) <= min_valid:
            self.refresh(name, asker=asker, cancel=cancel)
            stored = stored_session(load_profiles(self.paths), self.settings(), name, now)
        assert stored is not None
        return Served(stored)

    def console_link(
        self, name: str, *, asker: Asker | None = None, cancel: threading.Event | None = None
    ) -> ConsoleLink:
        # The real one is tested against a fake federation endpoint (tests/test_console.py).
        self.serve(name, min_valid=900, asker=asker, cancel=cancel)
        url = f"https://signin.example/federation?Action=login&SigninToken=fake-{name}"
        return ConsoleLink(name, url, "https://console.example/", None)

    def save_seed(self, mfa_serial: str, seed: str) -> None:
        self.seeded.add(mfa_serial)

    def save_settings(self, settings: Settings) -> None:
        save_settings(settings, self.settings_file)

    def mfa_setup(self, profile: str) -> MfaSetup:
        # The screen uses the steps only; a fake of them stands in for IAM.
        return FakeSetup(profile)  # type: ignore[return-value]


# RFC 4226's example secret, repeated: a test seed, never a real device's.
TEST_SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@dataclass
class FakeSetup:
    """The setup steps without IAM: a user with no device, a new one with TEST_SEED."""

    name: str

    def check_local(self, *, store_seed: bool = False) -> None:
        pass

    def inspect(self) -> SetupTarget:
        user = IamUser(self.name, f"arn:aws:iam::{ACCOUNT}:user/{self.name}", ACCOUNT)
        return SetupTarget(self.name, user, (), None)

    def create(self, target: SetupTarget, device_name: str | None = None) -> PendingDevice:
        serial = f"arn:aws:iam::{ACCOUNT}:mfa/{device_name or self.name}"
        return PendingDevice(self.name, target.user, serial, TEST_SEED)

    def abandon(self, pending: PendingDevice) -> None:
        return None


__all__ = ["FakeBackend", "NetworkError"]
