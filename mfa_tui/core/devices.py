"""The devices room: which MFA device a user has, where its codes come from, its seed,
and the long-term keys that sign the calls a code goes with (from the files, the
keyring or a credential_process: see core/keys.py).

A code comes from, in order: an explicit code, the TOTP seed in the keyring, a
`code_command` (or aws-vault's `mfa_process`), and last the person, through whatever
`Asker` the face passed in (see core/asking.py). A device the files do not name is
found with iam:ListMFADevices once and remembered for the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from mfa_tui.aws.connection import connection_for
from mfa_tui.aws.files import KeySource, Profile, config_section_for, mfa_serial_of, user_of
from mfa_tui.clock import Clock
from mfa_tui.core.asking import Asker
from mfa_tui.core.codes import CodeSources, SeedStore, UsedCodes, normalize_seed, totp_at
from mfa_tui.core.keys import KeyStore, keyring_account, run_key_process
from mfa_tui.core.plan import RefreshPlan, managed_profile
from mfa_tui.core.store import SessionStore
from mfa_tui.errors import FileWriteError, MfaTuiError, UsageError

_discovered_guard = threading.Lock()
# (credentials file, user profile, access key id) -> MFA serial found with ListMFADevices.
_discovered: dict[tuple[str, str, str], str] = {}


class Devices:
    """MFA devices, code sources and seeds for the profiles of one store.

    Args:
        store: the files (the config file is where a found serial is saved).
        clock: wall time for TOTP steps.
        keyring_backend: a keyring backend to use instead of the OS's (tests).
        used_codes: where spent TOTP steps and typed codes are remembered.
        sleep: how to wait for the next TOTP step (tests pass one that moves their clock).
    """

    def __init__(
        self,
        store: SessionStore,
        clock: Clock,
        keyring_backend: Any = None,
        *,
        used_codes: UsedCodes | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.seeds = SeedStore(keyring_backend)
        self.keys = KeyStore(keyring_backend)
        # user -> the keys its credential_process gave: run once per service (a password
        # manager may ask the person to unlock it), never kept beyond it.
        self._process_keys: dict[tuple[str, str], Any] = {}
        self.used_codes = used_codes or UsedCodes()
        self._sleep = sleep

    # --- which device -----------------------------------------------------------------

    def _discovery_key(self, user: Profile) -> tuple[str, str, str]:
        return (
            str(self.store.paths.credentials),
            user.name,
            user.values.get("aws_access_key_id", ""),
        )

    def serial(self, plan: RefreshPlan, *, discover: bool = False) -> str | None:
        """The plan's device: as the files name it, else one found earlier with IAM,
        else (when `discover`) what IAM lists for the user."""
        return self.serial_of(plan.user, plan.mfa_serial, discover=discover)

    def serial_of(self, user: Profile, known: str | None, *, discover: bool = False) -> str | None:
        if known is not None:
            return known
        with _discovered_guard:
            cached = _discovered.get(self._discovery_key(user))
        if cached is not None:
            return cached
        return self._discover(user) if discover else None

    def _discover(self, user: Profile) -> str:
        from mfa_tui.aws import sts

        serials = sts.list_mfa_devices(
            user.name,
            self.long_term_keys(user),
            connection_for(self.store.profile_set, user.name),
        )
        if len(serials) == 1:
            with _discovered_guard:
                _discovered[self._discovery_key(user)] = serials[0]
            return serials[0]
        where = f"[{config_section_for(user.name)}] in {self.store.paths.config}"
        if not serials:
            raise MfaTuiError(
                f"user profile '{user.name}' has no mfa_serial and IAM lists no MFA device "
                f"for its user: 'mfa-tui setup {user.name}' (or 'm' in the dashboard) "
                "creates one from a QR code and saves it in the config; or assign one in "
                f"the IAM console, then add 'mfa_serial = <its ARN>' to {where}",
                title="No MFA device",
            )
        raise MfaTuiError(
            f"user profile '{user.name}' has no mfa_serial and its user has "
            f"{len(serials)} MFA devices ({', '.join(serials)}); 'mfa-tui setup "
            f"{user.name}' lists them and saves the one you choose, or add "
            f"'mfa_serial = ...' to {where}",
            title="Several MFA devices",
        )

    def save_serial(self, user: str, serial: str) -> str:
        """Write a device into the config file as the user's mfa_serial (losslessly);
        returns where, e.g. `[profile "my user"] in ~/.aws/config`."""
        from mfa_tui.aws.credentials import set_profile_keys

        paths = self.store.paths
        for section in self.store.profile_set.credentials_doc.find(user):
            if "mfa_serial" in section.key_spans:
                line = section.key_spans["mfa_serial"][0] + 1
                raise FileWriteError(
                    f"{paths.credentials}:{line}: this mfa_serial of '{user}' wins over "
                    "the config file, so saving the device there would change nothing; "
                    f"set it on that line ('mfa_serial = {serial}') instead"
                )
        header = set_profile_keys(paths.config, user, {"mfa_serial": serial})
        self.store.reload()
        return f"[{header}] in {paths.config}"

    def serial_for_refresh(self, plan: RefreshPlan, save_serial: bool, notes: list[str]) -> str:
        """The device for a refresh; saves it, or says how, when it was not configured."""
        serial = self.serial(plan, discover=True)
        assert serial is not None
        if plan.mfa_serial is not None:
            return serial
        if save_serial:
            where = self.save_serial(plan.user.name, serial)
            notes.append(f"saved mfa_serial = {serial} in {where}")
        else:
            notes.append(
                f"found MFA device {serial} with iam:ListMFADevices; --save-serial writes "
                "it into the config file"
            )
        return serial

    # --- where codes come from --------------------------------------------------------

    def code_sources(self, plan: RefreshPlan, asker: Asker | None) -> CodeSources:
        """The sources of a code for `plan`: its profile's code_command before its user's."""
        settings = self.store.settings
        target, user = plan.target, plan.user
        command = (
            settings.for_profile(target.name).code_command
            or settings.for_profile(user.name).code_command
            or target.values.get("mfa_process")
            or user.values.get("mfa_process")
            or settings.code_command
        )
        kwargs: dict[str, Any] = {}
        if self._sleep is not None:
            kwargs["sleep"] = self._sleep
        return CodeSources(
            seeds=self.seeds,
            used=self.used_codes,
            command=command,
            command_timeout=settings.code_command_timeout,
            asker=asker,
            clock_time=self.clock.time,
            skew=self._aws_skew,
            **kwargs,
        )

    def _aws_skew(self) -> float | None:
        """Seconds our clock is ahead of AWS's (from the last answer's Date header),
        net of any correction the injected clock already applies."""
        from mfa_tui.aws.sts import SERVER_CLOCK

        measured = SERVER_CLOCK.skew_seconds()
        if measured is None:
            return None
        return measured + self.clock.skew.total_seconds()

    def long_term_keys(self, user: Profile) -> Any:
        """The user's access key pair (sts.Credentials), which signs GetSessionToken:
        from the files, the keyring entry its credential_process line names, or what
        its own credential_process prints (refused if that is a session)."""
        from mfa_tui.aws.sts import Credentials

        if user.key_source is KeySource.KEYRING:
            entry = user.keyring_entry or user.name
            keys = self.keys.get(entry)
            if keys is None:
                raise UsageError(
                    f"no access keys for '{user.name}' in the keyring (service mfa-tui, "
                    f"{keyring_account(entry)}), where its credential_process says they are. "
                    f"On another computer, import them there too ('mfa-tui keys import "
                    f"{user.name}' with the keys in {self.store.paths.credentials}); else "
                    "create new ones in IAM"
                )
            return keys
        if user.key_source is KeySource.PROCESS:
            command = user.values.get("credential_process", "")
            cached = self._process_keys.get((user.name, command))
            if cached is None:
                timeout = self.store.settings.credential_process_timeout
                cached = run_key_process(command, timeout, profile=user.name)
                self._process_keys[(user.name, command)] = cached
            return cached
        if not user.has_long_term_keys:
            raise UsageError(
                f"profile '{user.name}' has no aws_access_key_id/aws_secret_access_key in "
                f"{self.store.paths.credentials}"
            )
        return Credentials(user.values["aws_access_key_id"], user.values["aws_secret_access_key"])

    # --- seeds -----------------------------------------------------------------------

    def device_of(self, name: str) -> tuple[Profile, str]:
        """(the user, its MFA serial) for the user or role `name`; may ask IAM once."""
        profile_set = self.store.profile_set
        target = managed_profile(profile_set, name)
        user = user_of(profile_set.profiles, target)
        if user is None:
            raise UsageError(f"profile '{target.name}' does not lead to a user with keys")
        serial = self.serial_of(user, mfa_serial_of(profile_set, target), discover=True)
        assert serial is not None
        return user, serial

    def store_seed(self, name: str, seed: str) -> tuple[str, str]:
        """Keep a TOTP seed for `name`'s device; returns (serial, current code)."""
        cleaned = normalize_seed(seed)
        _user, serial = self.device_of(name)
        self.seeds.keep(serial, cleaned, self.used_codes)
        return serial, totp_at(cleaned, self.clock.time())[0]

    def remove_seed(self, name: str) -> tuple[str, bool]:
        """Forget the seed of `name`'s device; returns (serial, whether one was stored)."""
        _user, serial = self.device_of(name)
        return serial, self.seeds.remove(serial)

    def current_code(self, name: str) -> tuple[str, str, int]:
        """(serial, the current code, seconds it stays valid) from the stored seed."""
        _user, serial = self.device_of(name)
        seed = self.seeds.get(serial)
        if seed is None:
            raise UsageError(f"no TOTP seed stored for {serial}; run 'mfa-tui totp set {name}'")
        now = self.clock.time()
        code, step = totp_at(seed, now)
        return serial, code, int((step + 1) * 30 - now)
