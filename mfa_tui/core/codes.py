"""Where an MFA code comes from, and how a code is never used twice.

Order: a code given explicitly → the TOTP seed in the OS keyring → a configured
`code_command` (or aws-vault's `mfa_process`) → a person at a prompt → nothing, which is
a `NeedsCodeError`. AWS refuses a code that was already used, with the same message as a
wrong one, so the last TOTP step used per device is remembered in a small state file
(no secrets: step numbers and hashes only).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mfa_tui.errors import KeyringError, MfaTuiError, UsageError

KEYRING_SERVICE = "mfa-tui"
TOTP_STEP = 30
MIN_SEED_CHARS = 16  # 80 bits, what AWS virtual devices use at the least
_CODE_IN_OUTPUT = re.compile(r"(?<!\d)(\d{6})(?!\d)")
USED_CODE_MEMORY = 120  # seconds a typed code is remembered as used


def normalize_code(code: str) -> str:
    """Six digits, spaces ignored; anything else is a usage error before any call."""
    digits = "".join(code.split())
    if not re.fullmatch(r"\d{6}", digits):
        raise UsageError("an MFA code is 6 digits (spaces are ignored)")
    return digits


def normalize_seed(seed: str) -> str:
    """A base32 TOTP seed, upper-cased, spaces and '=' padding dropped."""
    cleaned = "".join(seed.split()).upper().rstrip("=")
    if len(cleaned) < MIN_SEED_CHARS:
        raise UsageError(
            f"that seed is too short ({len(cleaned)} characters): an AWS virtual MFA seed "
            f"is the base32 'secret key' of at least {MIN_SEED_CHARS} characters"
        )
    try:
        base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError):
        raise UsageError(
            "that seed is not base32 (letters A-Z and digits 2-7); use the 'secret key' "
            "shown when the virtual MFA device was set up, not a code"
        ) from None
    return cleaned


def totp_at(seed: str, unix_time: float) -> tuple[str, int]:
    """The code for a moment, and its 30-second step number."""
    import pyotp

    step = int(unix_time // TOTP_STEP)
    return str(pyotp.TOTP(seed).at(step * TOTP_STEP)), step


# --- keyring -----------------------------------------------------------------------


def _keyring(backend: Any = None) -> Any:
    """A usable keyring backend, or KeyringError; never a plain-text fallback."""
    if backend is not None:
        return backend
    try:
        import keyring
        import keyring.backends.fail
    except ImportError as exc:  # pragma: no cover - a dependency
        raise KeyringError(f"the keyring library is missing: {exc}") from None
    found = keyring.get_keyring()
    if isinstance(found, keyring.backends.fail.Keyring) or _only_fail(found):
        raise KeyringError(
            "no OS keyring is available to keep TOTP seeds (no Secret Service, KWallet or "
            "macOS Keychain found). Start your desktop keyring, or opt in explicitly to a "
            "file backend: pip install keyrings.alt and set "
            "PYTHON_KEYRING_BACKEND=keyrings.alt.file.EncryptedKeyring"
        )
    return found


def _only_fail(found: Any) -> bool:
    backends = getattr(found, "backends", None)
    if backends is None:
        return False
    import keyring.backends.fail

    return not [b for b in backends if not isinstance(b, keyring.backends.fail.Keyring)]


class SeedStore:
    """TOTP seeds in the OS keyring, keyed by MFA serial under the service 'mfa-tui'."""

    def __init__(self, backend: Any = None) -> None:
        self._backend = backend

    def _ring(self) -> Any:
        return _keyring(self._backend)

    def get(self, serial: str) -> str | None:
        ring = self._ring()
        try:
            value = ring.get_password(KEYRING_SERVICE, serial)
        except Exception as exc:  # keyring backends raise their own types
            raise KeyringError(
                f"the keyring refused to read the seed for {serial}: {type(exc).__name__}"
            ) from None
        return str(value) if value else None

    def has(self, serial: str) -> bool:
        try:
            return self.get(serial) is not None
        except KeyringError:
            return False

    def set(self, serial: str, seed: str) -> None:
        ring = self._ring()
        try:
            ring.set_password(KEYRING_SERVICE, serial, normalize_seed(seed))
        except MfaTuiError:
            raise
        except Exception as exc:
            raise KeyringError(
                f"the keyring refused to store the seed for {serial}: {type(exc).__name__}"
            ) from None

    def remove(self, serial: str) -> bool:
        ring = self._ring()
        if ring.get_password(KEYRING_SERVICE, serial) is None:
            return False
        try:
            ring.delete_password(KEYRING_SERVICE, serial)
        except Exception as exc:
            raise KeyringError(
                f"the keyring refused to delete the seed for {serial}: {type(exc).__name__}"
            ) from None
        return True


# --- code_command --------------------------------------------------------------------


def run_code_command(command: str, timeout: float, *, profile: str) -> str:
    """Run a user's OTP command (ykman, a password manager) and take its 6 digits."""
    try:
        args = shlex.split(command)
    except ValueError as exc:
        raise MfaTuiError(f"code_command for '{profile}' cannot be parsed: {exc}") from None
    if not args:
        raise MfaTuiError(f"code_command for '{profile}' is empty")
    try:
        done = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise MfaTuiError(
            f"code_command for '{profile}' ({args[0]}) did not finish in {timeout:.0f}s "
            "(is it waiting for a touch or a password?)",
            title="Code command timed out",
        ) from None
    except OSError as exc:
        raise MfaTuiError(
            f"code_command for '{profile}' could not start {args[0]!r}: {exc.strerror}"
        ) from None
    if done.returncode != 0:
        raise MfaTuiError(
            f"code_command for '{profile}' ({args[0]}) failed with exit code {done.returncode}"
        )
    matches = _CODE_IN_OUTPUT.findall(done.stdout)
    if len(matches) != 1:
        raise MfaTuiError(
            f"code_command for '{profile}' ({args[0]}) printed "
            f"{'no' if not matches else 'more than one'} 6-digit code"
        )
    return str(matches[0])


# --- used codes ----------------------------------------------------------------------


def _state_file() -> Path:
    override = os.environ.get("MFA_TUI_STATE_DIR")
    if override:
        return Path(override) / "codes.json"
    from platformdirs import user_state_dir

    return Path(user_state_dir("mfa-tui")) / "codes.json"


def _code_hash(serial: str, code: str) -> str:
    return hashlib.sha256(f"{serial}\0{code}".encode()).hexdigest()[:24]


class UsedCodes:
    """The last TOTP step used per device, and recently typed codes (hashed).

    AWS answers a reused code exactly like a wrong one; knowing it locally lets a soft
    token wait for its next step and a person be told the real reason.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or _state_file()

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {"steps": {}, "typed": {}}
        if not isinstance(data, dict):
            return {"steps": {}, "typed": {}}
        data.setdefault("steps", {})
        data.setdefault("typed", {})
        return data

    def last_step(self, serial: str) -> int:
        value = self._load()["steps"].get(serial, -1)
        return int(value) if isinstance(value, int) else -1

    def was_typed(self, serial: str, code: str, now: float) -> bool:
        seen = self._load()["typed"].get(_code_hash(serial, code))
        return isinstance(seen, int | float) and now - seen < USED_CODE_MEMORY

    def mark(self, serial: str, *, step: int | None, code: str, now: float) -> None:
        from mfa_tui.aws.atomic import atomic_write_bytes

        data = self._load()
        if step is not None:
            data["steps"][serial] = max(step, int(data["steps"].get(serial, -1)))
        typed = {
            k: v
            for k, v in data["typed"].items()
            if isinstance(v, int | float) and now - v < USED_CODE_MEMORY
        }
        typed[_code_hash(serial, code)] = now
        data["typed"] = typed
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write_bytes(self.path, json.dumps(data, indent=1).encode("utf-8"))


# --- choosing a code -----------------------------------------------------------------


@dataclass(frozen=True)
class CodeRequest:
    """What a person is asked for: a code from this device, for this profile."""

    profile: str
    mfa_serial: str
    user: str


@dataclass(frozen=True)
class Code:
    value: str
    source: str  # "explicit" | "totp" | "command" | "prompt"
    step: int | None = None


CodePrompt = Callable[[CodeRequest], str | None]


@dataclass
class CodeSources:
    """Everything that can produce a code, in the order they are tried."""

    seeds: SeedStore
    used: UsedCodes
    command: str | None
    command_timeout: float
    prompt: CodePrompt | None
    clock_time: Callable[[], float]
    sleep: Callable[[float], None] = time.sleep

    def silent_source(self, serial: str) -> str | None:
        """The source that needs no person ("totp", "command"), if any."""
        if self.seeds.has(serial):
            return "totp"
        if self.command:
            return "command"
        return None

    def from_seed(self, serial: str, *, after_step: int | None = None) -> Code | None:
        seed = self.seeds.get(serial)
        if seed is None:
            return None
        last = max(self.used.last_step(serial), after_step if after_step is not None else -1)
        now = self.clock_time()
        code, step = totp_at(seed, now)
        if step <= last:
            # This step's code was already sent: wait for the next one (at most 30 s).
            wait = (last + 1) * TOTP_STEP - now + 0.05
            if wait > 0:
                self.sleep(min(wait, TOTP_STEP + 1.0))
            code, step = totp_at(seed, max(self.clock_time(), (last + 1) * TOTP_STEP))
        return Code(code, "totp", step)

    def obtain(self, request: CodeRequest, explicit: str | None) -> Code:
        from mfa_tui.errors import NeedsCodeError

        if explicit is not None:
            return self._checked(request, Code(normalize_code(explicit), "explicit"))
        seeded = self.from_seed(request.mfa_serial)
        if seeded is not None:
            return seeded
        if self.command:
            value = run_code_command(self.command, self.command_timeout, profile=request.profile)
            return Code(value, "command")
        if self.prompt is not None:
            typed = self.prompt(request)
            if typed:
                return self._checked(request, Code(normalize_code(typed), "prompt"))
        raise NeedsCodeError(
            f"profile '{request.profile}' needs a code from MFA device {request.mfa_serial}. "
            f"Give one with --code, store the device's seed with 'mfa-tui totp set "
            f"{request.user}', or set code_command in the settings"
        )

    def _checked(self, request: CodeRequest, code: Code) -> Code:
        if self.used.was_typed(request.mfa_serial, code.value, self.clock_time()):
            raise UsageError(
                f"that code was already used for {request.mfa_serial}, and AWS accepts each "
                "code once; wait for the next code"
            )
        return code

    def mark_used(self, request: CodeRequest, code: Code) -> None:
        self.used.mark(request.mfa_serial, step=code.step, code=code.value, now=self.clock_time())
