"""`mfa-tui setup`: from an IAM user's bare access keys to an MFA device in use.

The steps, each a method the CLI and the dashboard drive in the same order:

1. `check_local`: the profile is a user with long-term keys, the files can take what
   setup will write, the keyring works (for `--store-seed`) — before any AWS call.
2. `inspect`: who the keys belong to (GetCallerIdentity) and the user's MFA devices
   (ListMFADevices); a device already there can simply be used (`adopt`).
3. `create`: CreateVirtualMFADevice; the seed it returns goes to the person as a QR
   code (and to the keyring with `--store-seed`), never to a file, log or message.
4. `enable`: two consecutive codes are checked against the seed here first (a typo
   costs no AWS call), then EnableMFADevice. Codes AWS refuses leave the device
   waiting for two new ones; any other failure deletes it.
5. `adopt`: `mfa_serial` into the config file (in place, by the lossless writer),
   the seed into the keyring when asked; then `first_session` gets a session through
   the engine (`SessionService.refresh`).

Whatever goes wrong between 3 and 5, `abandon` deletes the created device, so nothing
is left half-done in AWS, and nothing was written locally yet.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mfa_tui.aws import iam
from mfa_tui.aws.atomic import check_writable, resolve_target
from mfa_tui.aws.credentials import OWNER_KEY
from mfa_tui.aws.files import AwsPaths, Kind, Profile, config_section_for
from mfa_tui.aws.iam import IamUser, MfaDevice
from mfa_tui.aws.sts import Credentials
from mfa_tui.clock import SYSTEM_CLOCK, Clock
from mfa_tui.core.codes import (
    TOTP_STEP,
    CodePrompt,
    UsedCodes,
    normalize_code,
    normalize_seed,
    resolve_keyring,
    totp_for_step,
)
from mfa_tui.core.qr import otpauth_uri
from mfa_tui.core.sessions import RefreshResult, SessionService
from mfa_tui.errors import AwsRefusedError, FileWriteError, MfaTuiError, UsageError
from mfa_tui.settings import Settings, is_safe_profile_name

# How far from now (in 30 s steps) the first of two typed codes may be: a person may
# take a minute to type, and a phone's clock may be a little off.
CODE_WINDOW_STEPS = 10

STORE_SEED_WARNING = (
    "Storing the seed in this computer's keyring puts both factors on one machine: the "
    "access keys in ~/.aws/credentials and the device that makes codes. Then MFA still "
    "protects the keys when they leak alone (pasted in a repository, a log, a copied "
    "credentials file), but not from someone who can run programs as you here or who "
    "has this computer unlocked, or a backup holding both. Keep the device in an app on "
    "your phone too."
)


@dataclass(frozen=True)
class SetupTarget:
    """What AWS says about a user profile's keys: the user, its devices."""

    profile: str
    user: IamUser
    devices: tuple[MfaDevice, ...]
    configured: str | None  # the profile's mfa_serial in the files now

    @property
    def configured_device(self) -> MfaDevice | None:
        """The configured device, if it really is one of the user's."""
        return next((d for d in self.devices if d.serial == self.configured), None)

    @property
    def room_for_another(self) -> bool:
        return len(self.devices) < iam.MAX_MFA_DEVICES

    def device(self, serial: str) -> MfaDevice:
        """One of the user's devices, by serial; a UsageError names the others."""
        for found in self.devices:
            if found.serial == serial:
                if not found.usable:
                    raise UsageError(
                        f"{serial} is a security key (FIDO): it signs in to the console but "
                        "cannot give the AWS CLI or STS a code; choose a virtual or "
                        "hardware TOTP device"
                    )
                return found
        known = ", ".join(d.serial for d in self.devices) or "none"
        raise UsageError(f"{serial} is not an MFA device of IAM user {self.user.name} ({known})")


@dataclass(frozen=True)
class PendingDevice:
    """A virtual device created for the user and not enabled yet."""

    profile: str
    user: IamUser
    serial: str
    seed: str = field(repr=False)

    @property
    def uri(self) -> str:
        """What the QR code holds (secret: it carries the seed)."""
        return otpauth_uri(self.seed, self.user.name, self.user.account_id)


def default_device_name(user: str, devices: tuple[MfaDevice, ...]) -> str:
    """The user's name, or `name-2`, `name-3`... when one of its devices has it.

    Virtual device names are unique in the account; a device of another user with the
    same name cannot be seen without more permissions, and AWS says so if it exists.
    """
    taken = {d.serial.rsplit("/", 1)[-1] for d in devices}
    base = re.sub(r"[^\w+=,.@-]", "-", user)[:220] or "mfa"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


class MfaSetup:
    """The steps of `mfa-tui setup` for one user profile. Blocking: call off the UI.

    Args:
        profile: the user profile (long-term keys in the credentials file).
        paths, settings, clock, keyring_backend, code_prompt, used_codes, sleep: as for
            `SessionService`, which this drives for the config write and the session.
    """

    def __init__(
        self,
        profile: str,
        *,
        paths: AwsPaths | None = None,
        settings: Settings | None = None,
        clock: Clock = SYSTEM_CLOCK,
        keyring_backend: Any = None,
        code_prompt: CodePrompt | None = None,
        used_codes: UsedCodes | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.name = profile
        self.clock = clock
        self.service = SessionService(
            paths,
            settings,
            clock,
            code_prompt,
            keyring_backend,
            used_codes=used_codes,
            sleep=sleep,
        )
        self._keyring_backend = keyring_backend
        # Devices this setup enabled (never deleted), and what abandoning others gave.
        self._enabled: set[str] = set()
        self._abandoned: dict[str, str | None] = {}

    # --- 1. before any call --------------------------------------------------------

    def check_local(self, *, store_seed: bool = False) -> Profile:
        """Refuse now what would fail after AWS has been changed."""
        service = self.service
        service.reload()
        profile = service.profile(self.name)
        if profile.kind is not Kind.USER or profile.key_source is None:
            hint = ""
            if profile.chain:
                hint = f"; its keys are those of '{profile.chain[-1]}': run setup for that"
            raise UsageError(
                f"profile '{self.name}' is a {profile.kind.value} profile: setup gives an "
                "IAM user's long-term access keys (aws_access_key_id in "
                f"{service.paths.credentials}) an MFA device{hint}"
            )
        if not is_safe_profile_name(self.name):
            raise UsageError(
                f"mfa-tui cannot write mfa_serial for a profile named '{self.name}' "
                "(letters, digits and _.@+=,:/- only); add the device to "
                f"[{config_section_for(self.name)}] by hand"
            )
        for path in (service.paths.config, service.paths.credentials):
            check_writable(resolve_target(path))
        session_profile = service.settings.session_profile_for(self.name)
        sections = service.profile_set.credentials_doc.find(session_profile)
        if sections and not any(OWNER_KEY in s.values for s in sections):
            raise FileWriteError(
                f"[{session_profile}] in {service.paths.credentials} was not written by "
                f"mfa-tui, so the first session of '{self.name}' could not be stored there; "
                "nothing was asked of AWS. Choose another session profile name in the "
                "settings",
                title="Not mfa-tui's section",
            )
        if store_seed:
            resolve_keyring(self._keyring_backend)
        return profile

    def _keys(self) -> Credentials:
        """The user's long-term keys: from the files, the keyring or its credential_process."""
        keys: Credentials = self.service.devices.long_term_keys(self.service.profile(self.name))
        return keys

    # --- 2. what is there ----------------------------------------------------------

    def inspect(self) -> SetupTarget:
        """GetCallerIdentity and ListMFADevices with the long-term keys."""
        keys = self._keys()
        user = iam.caller(self.name, keys)
        devices = tuple(iam.mfa_devices(self.name, keys, user))
        configured = self.service.profile(self.name).mfa_serial
        return SetupTarget(self.name, user, devices, configured)

    # --- 3. a new device -------------------------------------------------------------

    def create(self, target: SetupTarget, device_name: str | None = None) -> PendingDevice:
        """CreateVirtualMFADevice for the user (not enabled until `enable`)."""
        if not target.room_for_another:
            raise UsageError(
                f"IAM user {target.user.name} already has {len(target.devices)} MFA devices, "
                f"AWS's maximum: use one of them (--device SERIAL), or remove one in the "
                "IAM console first"
            )
        name = iam.check_device_name(
            device_name or default_device_name(target.user.name, target.devices)
        )
        created = iam.create_virtual_device(self.name, self._keys(), name)
        seed = normalize_seed(created.seed)
        return PendingDevice(self.name, target.user, created.serial, seed)

    @contextlib.contextmanager
    def new_device(
        self, target: SetupTarget, device_name: str | None = None
    ) -> Iterator[PendingDevice]:
        """`create`, for a block that enables the device: leaving the block any way
        without `enable` having worked deletes the device, and an MfaTuiError leaving
        it says what became of the device."""
        pending = self.create(target, device_name)
        try:
            yield pending
        except MfaTuiError as exc:
            if pending.serial not in self._enabled and pending.serial not in self._abandoned:
                raise self._failed(pending, exc) from None
            raise
        finally:
            if pending.serial not in self._enabled:
                self.abandon(pending)

    # --- 4. enabling it --------------------------------------------------------------

    def matching_steps(self, pending: PendingDevice, code1: str, code2: str) -> int:
        """The step of `code1` when the two codes are consecutive codes of the new seed.

        Raises UsageError, saying which mistake it looks like, before AWS is asked.
        """
        first, second = normalize_code(code1), normalize_code(code2)
        if first == second:
            raise UsageError(
                "type two different codes: the one the app shows, then the next one "
                f"(a new code every {TOTP_STEP} s)"
            )
        now = int(self.clock.time() // TOTP_STEP)
        steps = range(now - CODE_WINDOW_STEPS, now + 2)
        codes = {step: totp_for_step(pending.seed, step) for step in range(steps[0], now + 3)}
        for step in steps:
            if codes[step] == first and codes[step + 1] == second:
                return step
        if any(codes[step] == first for step in steps):
            raise UsageError(
                "the second code is not the one that follows the first: wait until the app "
                "shows a new code, then type that one"
            )
        raise UsageError(
            f"these codes are not from the new device {pending.serial}: scan the QR code "
            "shown now (not an older one), or type its secret key into the app, then type "
            "two codes in a row. If the app shows this device, this computer's clock or "
            "the phone's may be off"
        )

    def codes_from_seed(self, pending: PendingDevice) -> tuple[str, str]:
        """Two consecutive codes made here from the seed: the last step's and this one's."""
        now = int(self.clock.time() // TOTP_STEP)
        return totp_for_step(pending.seed, now - 1), totp_for_step(pending.seed, now)

    def enable(self, pending: PendingDevice, code1: str, code2: str) -> None:
        """EnableMFADevice with two consecutive codes.

        Codes that do not fit the seed are a UsageError before any call. Codes AWS
        refuses (`AwsRefusedError` with code InvalidAuthenticationCode) leave the device
        waiting for two new ones. Any other failure deletes the device (`abandon`) and
        raises, saying whether that worked. The two codes are remembered as spent, so
        the first session waits for a fresh one (AWS takes each code once).
        """
        step = self.matching_steps(pending, code1, code2)
        keys = self._keys()
        try:
            iam.enable_device(
                self.name,
                keys,
                pending.user,
                pending.serial,
                normalize_code(code1),
                normalize_code(code2),
            )
        except AwsRefusedError as exc:
            if exc.code == "InvalidAuthenticationCode":
                raise
            if not self._is_enabled(pending):
                raise self._failed(pending, exc) from None
        except MfaTuiError as exc:
            # A timeout may hide an enable AWS did (and botocore's retry then hears
            # EntityAlreadyExists): ask before deleting anything.
            if not self._is_enabled(pending):
                raise self._failed(pending, exc) from None
        self._enabled.add(pending.serial)
        now = self.clock.time()
        for offset, code in enumerate((code1, code2)):
            self.service.devices.used_codes.mark(
                pending.serial, step=step + offset, code=normalize_code(code), now=now
            )

    def _is_enabled(self, pending: PendingDevice) -> bool:
        try:
            devices = iam.mfa_devices(self.name, self._keys(), pending.user)
        except MfaTuiError:
            return False
        return any(d.serial == pending.serial for d in devices)

    def _failed(self, pending: PendingDevice, exc: MfaTuiError) -> MfaTuiError:
        """`exc`, saying what became of the device after it was abandoned."""
        left = self.abandon(pending)
        after = left or f"the new device {pending.serial} was deleted again; nothing is left behind"
        exc.message = f"{exc.message}. {after[0].upper()}{after[1:]}"
        exc.args = (exc.message,)
        return exc

    def abandon(self, pending: PendingDevice) -> str | None:
        """Delete a device that was created and never enabled (once; never an enabled one).

        Returns None once it is gone, else what the person must do to remove it.
        """
        if pending.serial in self._enabled:
            return None
        if pending.serial not in self._abandoned:
            self._abandoned[pending.serial] = self._delete(pending)
        return self._abandoned[pending.serial]

    def _delete(self, pending: PendingDevice) -> str | None:
        try:
            iam.delete_virtual_device(self.name, self._keys(), pending.serial)
        except AwsRefusedError as exc:
            if exc.code == "NoSuchEntity":
                return None
            if exc.code == "DeleteConflict":
                self._enabled.add(pending.serial)
                return (
                    f"the new device {pending.serial} was enabled after all, so mfa-tui kept "
                    f"it: run 'mfa-tui setup {self.name}' again to use it"
                )
            why = exc.message
        except MfaTuiError as exc:
            why = exc.message
        else:
            return None
        return (
            f"mfa-tui could not delete the unfinished device {pending.serial} ({why}); "
            "it is not enabled and protects nothing. Delete it in the IAM console or with "
            f"'aws iam delete-virtual-mfa-device --serial-number {pending.serial}'"
        )

    @staticmethod
    def can_retry(exc: MfaTuiError) -> bool:
        """Codes that did not fit or that AWS refused: the device waits for two new ones."""
        return isinstance(exc, UsageError) or (
            isinstance(exc, AwsRefusedError) and exc.code == "InvalidAuthenticationCode"
        )

    # --- 5. using it -------------------------------------------------------------------

    def adopt(self, target: SetupTarget, serial: str, *, seed: str | None = None) -> list[str]:
        """Make `serial` the profile's device: `mfa_serial` in the config, the seed (when
        given) in the keyring. Returns what was done, one line each."""
        done: list[str] = []
        service = self.service
        if target.configured != serial:
            where = service.devices.save_serial(self.name, serial)
            done.append(f"Saved mfa_serial = {serial} in {where}.")
        if seed is not None:
            service.devices.seeds.keep(serial, seed, service.devices.used_codes)
            done.append(f"Stored the seed of {serial} in the OS keyring: codes come from it now.")
        return done

    def first_session(
        self, *, code: str | None = None, cancel: threading.Event | None = None
    ) -> RefreshResult:
        """A session with the new device, through the engine's one door."""
        return self.service.refresh(self.name, code=code, cancel=cancel)

    def session_credentials(self) -> Credentials | None:
        """The profile's valid MFA session, to make the enforcement calls with."""
        stored = self.service.credentials(self.name)
        return stored.signing() if stored is not None else None

    def long_term_keys(self) -> Credentials:
        return self._keys()
