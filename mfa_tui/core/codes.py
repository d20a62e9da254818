"""Where an MFA code comes from, and how a code is never used twice.

Order: a code given explicitly → the TOTP seed in the OS keyring → a configured
`code_command` (or aws-vault's `mfa_process`) → a person at a prompt → nothing, which is
a `NeedsCodeError`. AWS refuses a code that was already used, with the same message as a
wrong one, so the last TOTP step used per device is claimed in a small state file before
a code is sent (no secrets: step numbers and hashes of spent codes only), across threads
and processes.

Seeds live only in the OS keyring. A file backend (keyrings.alt) is used only when the
person chose it (PYTHON_KEYRING_BACKEND or keyringrc.cfg): mfa-tui never silently
falls back to keeping a seed in a file.
"""

from __future__ import annotations

import base64
import binascii
import configparser
import contextlib
import hashlib
import os
import re
import signal
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mfa_tui.errors import CodeRequest, KeyringError, MfaTuiError, NeedsCodeError, UsageError

KEYRING_SERVICE = "mfa-tui"
TOTP_STEP = 30
# 115 bits: pyotp refuses seeds under 112 bits; AWS virtual devices use 320.
MIN_SEED_CHARS = 23
USED_CODE_MEMORY = 120  # seconds a spent code is remembered (AWS's window is about 90 s)
STATE_FILE = "codes.json"
if TYPE_CHECKING:
    from mfa_tui.core.asking import Asker

_CODE_IN_OUTPUT = re.compile(r"(?<!\d)(\d{6})(?!\d)")
_BASE32 = re.compile(r"[A-Z2-7]+")


class Cancelled(MfaTuiError):
    """The caller gave up (a worker was cancelled) while a code was being obtained."""

    title = "Cancelled"


# --- codes and seeds -----------------------------------------------------------------


def normalize_code(code: str) -> str:
    """Six digits, spaces ignored; anything else is a usage error before any call."""
    digits = "".join(code.split())
    if not re.fullmatch(r"[0-9]{6}", digits):
        raise UsageError("an MFA code is 6 digits (spaces are ignored)")
    return digits


def normalize_seed(seed: str) -> str:
    """A base32 TOTP seed, upper-cased, spaces, dashes and '=' padding dropped.

    An `otpauth://totp/...?secret=...` URI (what a QR code holds) is accepted too, when
    its parameters are the ones AWS uses (SHA1, 6 digits, 30 s). Errors never repeat
    the text they were given: it may be a real seed with one typo.
    """
    text = seed.strip()
    if text.lower().startswith("otpauth://"):
        text = _secret_from_uri(text)
    cleaned = "".join(text.split()).replace("-", "").upper().rstrip("=")
    if not _BASE32.fullmatch(cleaned or "-"):
        raise UsageError(
            "that seed is not base32 (letters A-Z and digits 2-7); use the 'secret key' "
            "shown when the virtual MFA device was set up, not a code"
        )
    if len(cleaned) < MIN_SEED_CHARS:
        raise UsageError(
            f"that seed is too short ({len(cleaned)} characters): an AWS virtual MFA seed "
            f"is a base32 'secret key' of at least {MIN_SEED_CHARS} characters (112 bits)"
        )
    try:
        base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except (binascii.Error, ValueError):
        raise UsageError(
            "that seed is not valid base32 (its length does not decode); check that it "
            "was copied whole"
        ) from None
    return cleaned


def _secret_from_uri(uri: str) -> str:
    parsed = urllib.parse.urlparse(uri)
    if parsed.netloc.lower() != "totp":
        raise UsageError("that otpauth URI is not for a time-based (TOTP) token")
    params = {k.lower(): v for k, v in urllib.parse.parse_qsl(parsed.query)}
    if params.get("algorithm", "SHA1").upper() != "SHA1" or params.get("digits", "6") != "6":
        raise UsageError("that otpauth URI is not SHA1 with 6 digits, which AWS requires")
    if params.get("period", "30") != "30":
        raise UsageError("that otpauth URI does not use 30-second codes, which AWS requires")
    secret = params.get("secret")
    if not secret:
        raise UsageError("that otpauth URI has no secret= parameter")
    return secret


def totp_for_step(seed: str, step: int) -> str:
    """The 6-digit code of one 30-second step (RFC 6238, SHA1, as AWS uses)."""
    import pyotp

    return str(pyotp.TOTP(seed).generate_otp(step))


def totp_at(seed: str, unix_time: float) -> tuple[str, int]:
    """The code for a moment, and its 30-second step number."""
    step = int(unix_time // TOTP_STEP)
    return totp_for_step(seed, step), step


# --- keyring -----------------------------------------------------------------------


def _explicitly_chosen() -> bool:
    """True when the person named a keyring backend (env var or keyringrc.cfg)."""
    if os.environ.get("PYTHON_KEYRING_BACKEND"):
        return True
    try:
        from keyring.util import platform_

        path = Path(platform_.config_root()) / "keyringrc.cfg"
        parser = configparser.RawConfigParser()
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error, ImportError):
        return False
    return parser.has_option("backend", "default-keyring")


def _is_file_backend(backend: Any) -> bool:
    return type(backend).__module__.startswith("keyrings.alt")


def _name(backend: Any) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def describe_keyring(backend: Any) -> tuple[str, str | None]:
    """How to name `backend` to a person, and the file it keeps secrets in unencrypted
    (keyrings.alt's PlaintextKeyring), if it does."""
    label = getattr(backend, "name", None) or type(backend).__name__
    name = f"{label} ({_name(backend)})"
    if _is_file_backend(backend) and type(backend).__name__ == "PlaintextKeyring":
        return name, str(getattr(backend, "file_path", "a file"))
    return name, None


NO_KEYRING_HELP = (
    "Start your desktop's keyring (GNOME Keyring, KWallet, macOS Keychain, Windows "
    "Credential Manager), or opt in explicitly to a file backend from keyrings.alt: "
    "'pip install keyrings.alt', then set PYTHON_KEYRING_BACKEND="
    "keyrings.alt.file.EncryptedKeyring (asks for a password) or "
    "keyrings.alt.file.PlaintextKeyring (no encryption). mfa-tui never falls back to a "
    "file by itself"
)


def resolve_keyring(backend: Any = None, keeps: str = "TOTP seeds") -> Any:
    """A usable keyring backend, or KeyringError; never an unchosen plain-text file.

    Args:
        backend: a backend to use as is (tests, or a face that chose one).
        keeps: what it is for, for the message when there is none.
    """
    if backend is not None:
        return backend
    try:
        import keyring
        from keyring.backends import chainer, fail
    except ImportError as exc:  # pragma: no cover - a dependency
        raise KeyringError(f"the keyring library is missing: {exc}") from None
    try:
        found = keyring.get_keyring()
    except Exception as exc:  # a backend named in the env that cannot load
        raise KeyringError(
            f"the keyring backend could not be loaded ({type(exc).__name__}: {exc}); check "
            "PYTHON_KEYRING_BACKEND"
        ) from None
    if _explicitly_chosen():
        if isinstance(found, fail.Keyring):
            raise KeyringError(f"the chosen keyring backend keeps nothing. {NO_KEYRING_HELP}")
        return found
    candidates = list(found.backends) if isinstance(found, chainer.ChainerBackend) else [found]
    usable = [b for b in candidates if not isinstance(b, fail.Keyring | chainer.ChainerBackend)]
    real = [b for b in usable if not _is_file_backend(b)]
    if real:
        return real[0]
    if usable:
        raise KeyringError(
            f"no OS keyring is available to keep {keeps}; the only backend found is "
            f"{_name(usable[0])}, a file, which mfa-tui uses only when you choose it. "
            + NO_KEYRING_HELP
        )
    raise KeyringError(
        f"no OS keyring is available to keep {keeps} (no Secret Service, KWallet or "
        f"Keychain found). {NO_KEYRING_HELP}"
    )


class KeyringEntries:
    """Secrets in the OS keyring under the service 'mfa-tui', one per account name.

    Every backend's own errors become KeyringError naming what was asked (`what`: e.g.
    "the seed for SERIAL"), never the secret; a write is read back, which catches
    backends that accept and drop (the null keyring, a locked wallet that silently
    refuses).
    """

    keeps = "TOTP seeds"

    def __init__(self, backend: Any = None) -> None:
        self._backend = backend

    def _ring(self) -> Any:
        return resolve_keyring(self._backend, self.keeps)

    def _read(self, account: str, what: str) -> str | None:
        ring = self._ring()
        try:
            value = ring.get_password(KEYRING_SERVICE, account)
        except Exception as exc:  # keyring backends raise their own types
            raise KeyringError(
                f"the keyring refused to read {what}: {type(exc).__name__}"
            ) from None
        return str(value) if value else None

    def _write(self, account: str, value: str, what: str) -> None:
        ring = self._ring()
        try:
            ring.set_password(KEYRING_SERVICE, account, value)
            kept = ring.get_password(KEYRING_SERVICE, account)
        except Exception as exc:
            raise KeyringError(
                f"the keyring ({_name(ring)}) refused to store {what}: {type(exc).__name__}"
            ) from None
        if kept != value:
            raise KeyringError(
                f"the keyring backend {_name(ring)} did not keep {what}. " + NO_KEYRING_HELP
            )

    def _delete(self, account: str, what: str) -> bool:
        ring = self._ring()
        try:
            if ring.get_password(KEYRING_SERVICE, account) is None:
                return False
            ring.delete_password(KEYRING_SERVICE, account)
        except Exception as exc:
            raise KeyringError(
                f"the keyring refused to delete {what}: {type(exc).__name__}"
            ) from None
        return True


class SeedStore(KeyringEntries):
    """TOTP seeds in the OS keyring, keyed by MFA serial under the service 'mfa-tui'."""

    def get(self, serial: str) -> str | None:
        """The seed for `serial`; KeyringError when no keyring can be asked."""
        return self._read(serial, f"the seed for {serial}")

    def lookup(self, serial: str) -> str | None:
        """The seed, or None also when no keyring is usable: a missing keyring must not
        stop a refresh that can get its code elsewhere (code_command, a prompt)."""
        try:
            return self.get(serial)
        except KeyringError:
            return None

    def has(self, serial: str) -> bool:
        return self.lookup(serial) is not None

    def set(self, serial: str, seed: str) -> str:
        """Validate, store and read back the seed; returns the normalised seed."""
        cleaned = normalize_seed(seed)
        self._write(serial, cleaned, f"the seed for {serial}")
        return cleaned

    def keep(self, serial: str, seed: str, used: UsedCodes) -> str:
        """Store a new seed for `serial` and forget AWS's refusal of an earlier one: the
        dashboard marks a refused device by its serial, and a re-created virtual device
        keeps its name's serial. Every way a seed gets stored goes through here."""
        cleaned = self.set(serial, seed)
        used.forget_refusal(serial)
        return cleaned

    def remove(self, serial: str) -> bool:
        """Forget the seed; False when there was none."""
        return self._delete(serial, f"the seed for {serial}")


# --- code_command --------------------------------------------------------------------


def _first_line(text: str, limit: int = 160) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def run_code_command(
    command: str,
    timeout: float,
    *,
    profile: str,
    serial: str | None = None,
    cancel: threading.Event | None = None,
) -> str:
    """Run a person's OTP command (ykman, a password manager) and take its 6 digits.

    It runs through the shell, like `credential_process`, so pipes and quotes work; the
    profile and device are in MFA_TUI_PROFILE / MFA_TUI_MFA_SERIAL. It gets no stdin,
    and on timeout or cancel its whole process group is killed (a `sh -c` wrapper's
    children too). Messages name only the program, never its output.
    """
    words = command.split(maxsplit=1)
    program = words[0] if words else ""
    if not program:
        raise UsageError(f"code_command for '{profile}' is empty")
    env = {**os.environ, "MFA_TUI_PROFILE": profile, "MFA_TUI_MFA_SERIAL": serial or ""}
    what = f"code_command for '{profile}'"
    # The command is the person's own setting, like credential_process in botocore,
    # run through the shell so pipes and quotes work.
    done = run_bounded(command, timeout, what=what, shell=True, env=env, cancel=cancel)  # noqa: S604
    if done is None:
        raise MfaTuiError(
            f"{what} ({program}) did not finish in {timeout:g}s (is it waiting for a touch "
            "or a password?); code_command_timeout sets the limit",
            title="Code command timed out",
        )
    returncode, out, err = done
    if returncode != 0:
        hint = _first_line(err)
        raise MfaTuiError(
            f"code_command for '{profile}' ({program}) failed with exit code "
            f"{returncode}" + (f": {hint}" if hint else ""),
            title="Code command failed",
        )
    found: set[str] = set(_CODE_IN_OUTPUT.findall(out))
    if len(found) != 1:
        raise MfaTuiError(
            f"code_command for '{profile}' ({program}) printed "
            f"{'no' if not found else 'more than one'} 6-digit code; it must print the "
            "current code (e.g. 'ykman oath accounts code -s NAME')",
            title="Code command failed",
        )
    return found.pop()


def run_bounded(
    command: str | list[str],
    timeout: float,
    *,
    what: str,
    shell: bool = False,
    env: dict[str, str] | None = None,
    cancel: threading.Event | None = None,
) -> tuple[int, str, str] | None:
    """Run a person's command with no stdin; (exit code, stdout, stderr), or None when
    it ran past `timeout`.

    It runs in a process group of its own, killed whole on timeout or cancel (a `sh -c`
    wrapper's children too). `what` names it in errors ("code_command for 'P'").

    Raises:
        MfaTuiError: it could not start.
        Cancelled: `cancel` was set while it ran.
    """
    try:
        proc = subprocess.Popen(
            command,
            shell=shell,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env=env,
        )
    except OSError as exc:
        raise MfaTuiError(
            f"{what} could not start: {exc.strerror}", title="Command failed"
        ) from None
    deadline = time.monotonic() + timeout
    while True:
        try:
            out, err = proc.communicate(timeout=max(0.01, min(0.2, deadline - time.monotonic())))
            return proc.returncode, out, err
        except subprocess.TimeoutExpired:
            cancelled = cancel is not None and cancel.is_set()
            if not cancelled and time.monotonic() < deadline:
                continue
            _kill_group(proc)
            if cancelled:
                raise Cancelled(f"{what} was stopped") from None
            return None


def _kill_group(proc: subprocess.Popen[str]) -> None:
    killpg = getattr(os, "killpg", None)
    with contextlib.suppress(OSError):
        if killpg is not None:
            killpg(proc.pid, signal.SIGKILL)
        else:  # Windows has no process groups: the shell at least
            proc.kill()
    with contextlib.suppress(OSError, subprocess.TimeoutExpired, ValueError):
        proc.communicate(timeout=2)


# --- used codes ----------------------------------------------------------------------


def state_file() -> Path:
    """`codes.json` in the user state folder (see locations.py) or MFA_TUI_STATE_DIR."""
    from mfa_tui.core.state_file import state_path

    return state_path(STATE_FILE)


def _seed_fingerprint(serial: str, seed: str) -> str:
    # 64 bits of a hash of a >= 112-bit secret: tells seeds apart, reveals nothing.
    return hashlib.sha256(f"mfa-tui seed\0{serial}\0{seed}".encode()).hexdigest()[:16]


def _code_hash(serial: str, code: str) -> str:
    return hashlib.sha256(f"{serial}\0{code}".encode()).hexdigest()[:24]


class UsedCodes:
    """The last TOTP step used per device, and recently spent codes (hashed).

    AWS answers a reused code exactly like a wrong one. Claiming a step here before
    sending its code (under the file's lock) means two refreshes, in two threads or two
    processes, never send the same code; knowing spent codes lets a person be told the
    real reason. The file holds no secret and is written 0600, atomically.
    """

    def __init__(self, path: Path | None = None) -> None:
        from mfa_tui.core.state_file import JsonState

        self.path = path or state_file()
        # A damaged state file costs at most one wait, never a failure.
        self._state = JsonState(
            self.path, ("steps", "typed", "refused_seeds"), "the state of spent MFA codes"
        )
        self._read = self._state.read
        self._update = self._state.update

    @staticmethod
    def _last(data: dict[str, Any], serial: str, now_step: int | None) -> int:
        """The stored step, unless it lies beyond the step after AWS's current one: such a
        mark was made on a clock ahead of AWS's, for a code AWS never took."""
        value = data["steps"].get(serial, -1)
        if not isinstance(value, int):
            return -1
        if now_step is not None and value > now_step + 1:
            return -1
        return value

    def last_step(self, serial: str, *, now_step: int | None = None) -> int:
        """The last step used for `serial` (-1: none); `now_step` is AWS's current step."""
        return self._last(self._read(), serial, now_step)

    def claim_step(self, serial: str, step: int, *, now_step: int | None = None) -> bool:
        """Reserve `step` for `serial`; False when it (or a later one) was already used.

        `now_step`, AWS's current step when known, discards a mark left by a clock that
        was ahead of AWS's (see `_last`).
        """

        def change(data: dict[str, Any]) -> bool:
            if step <= self._last(data, serial, now_step):
                return False
            data["steps"][serial] = step
            return True

        return self._update(change)

    def refused_serials(self) -> set[str]:
        """Devices with a refused seed on record (whether still stored or not)."""
        return set(self._read()["refused_seeds"])

    def seed_refused(self, serial: str, seed: str) -> bool:
        """AWS refused codes of exactly this seed for `serial` (see `refuse_seed`)."""
        known = self._read()["refused_seeds"].get(serial)
        return bool(known == _seed_fingerprint(serial, seed))

    def refuse_seed(self, serial: str, seed: str | None) -> None:
        """Remember that AWS keeps refusing this seed's codes, so it is not tried again
        (and no step is spent on it) until another seed is stored. Only a one-way
        fingerprint of the seed is kept."""
        if seed is None:
            return

        def change(data: dict[str, Any]) -> bool:
            data["refused_seeds"][serial] = _seed_fingerprint(serial, seed)
            return True

        self._update(change)

    def forget_refusal(self, serial: str) -> None:
        """A new seed was stored for `serial`: try it."""

        def change(data: dict[str, Any]) -> bool:
            return data["refused_seeds"].pop(serial, None) is not None

        self._update(change)

    def was_spent(self, serial: str, code: str, now: float) -> bool:
        seen = self._read()["typed"].get(_code_hash(serial, code))
        return isinstance(seen, int | float) and 0 <= now - seen < USED_CODE_MEMORY

    def mark(
        self, serial: str, *, step: int | None, code: str, now: float, now_step: int | None = None
    ) -> None:
        """Remember that `code` (of `step`, for a soft token) was sent to AWS.

        With `now_step` (AWS's current step), a step beyond the next one is not kept: the
        code was made on a clock ahead of AWS's, and AWS never took it.
        """

        def change(data: dict[str, Any]) -> bool:
            last = self._last(data, serial, now_step)
            if step is not None and (now_step is None or step <= now_step + 1):
                last = max(step, last)
            if last < 0:
                data["steps"].pop(serial, None)
            else:
                data["steps"][serial] = last
            data["typed"] = {
                k: v
                for k, v in data["typed"].items()
                if isinstance(v, int | float) and 0 <= now - v < USED_CODE_MEMORY
            }
            data["typed"][_code_hash(serial, code)] = now
            return True

        self._update(change)


# --- choosing a code -----------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    """A code and where it came from; `step` is set for soft-token codes."""

    value: str = field(repr=False)
    source: str = "explicit"  # "explicit" | "totp" | "command" | "prompt"
    step: int | None = None


CodePrompt = Callable[[CodeRequest], str | None]
SPENT_CODE = (
    "that code was already used for {serial}, and AWS accepts each code once; wait for "
    "the next code"
)


@dataclass
class CodeSources:
    """Everything that can produce a code, in the order they are tried.

    Args:
        seeds: the keyring.
        used: spent steps and codes.
        command: the code_command (or mfa_process) for this profile, if any.
        command_timeout: seconds the command may take.
        asker: asks a person (the CLI's terminal prompt, the dashboard's prompt broker),
            and is told when mfa-tui waits for the next code (a face says so).
        clock_time: unix time now (the injected clock).
        sleep: waits for the next TOTP step; tests pass one that advances their clock.
        skew: seconds the local clock is ahead of AWS, when an answer's Date told us.
    """

    seeds: SeedStore
    used: UsedCodes
    command: str | None
    command_timeout: float
    asker: Asker | None
    clock_time: Callable[[], float]
    sleep: Callable[[float], None] = time.sleep
    skew: Callable[[], float | None] | None = None

    def usable_seed(self, serial: str) -> str | None:
        """The stored seed for `serial`, unless there is none or AWS refused its codes."""
        seed = self.seeds.lookup(serial)
        if seed is None or self.used.seed_refused(serial, seed):
            return None
        return seed

    def refuse_seed(self, serial: str) -> None:
        self.used.refuse_seed(serial, self.seeds.lookup(serial))

    def silent_source(self, serial: str) -> str | None:
        """The source that needs no person ("totp", "command"), if any."""
        if self.usable_seed(serial) is not None:
            return "totp"
        if self.command:
            return "command"
        return None

    def _now(self) -> float:
        """Time for TOTP steps: corrected to AWS's when our clock is clearly off."""
        now = self.clock_time()
        offset = self.skew() if self.skew is not None else None
        if offset is not None and abs(offset) >= 10:
            now -= offset
        return now

    def _now_step(self) -> int:
        return int(self._now() // TOTP_STEP)

    def _wait(self, seconds: float, cancel: threading.Event | None, why: str) -> None:
        """Wait (at most one step: never longer, whatever a clock says) and say so."""
        seconds = min(seconds, TOTP_STEP + 0.5)
        if seconds <= 0:
            return
        if self.asker is not None:
            self.asker.waiting_for_step(
                self.clock_time() + seconds, f"waiting {seconds:.0f} s for the next code {why}"
            )
        if cancel is not None:
            if cancel.wait(seconds):
                raise Cancelled("stopped while waiting for the next TOTP code")
            return
        self.sleep(seconds)

    def from_seed(
        self,
        serial: str,
        *,
        after_step: int | None = None,
        cancel: threading.Event | None = None,
    ) -> Code | None:
        """The soft token's code for the earliest step not used yet.

        Waits a step at most at a time, and only for the next step or the one after:
        a used step further ahead than that (from a clock ahead of AWS's) is not a step
        AWS ever saw, and is ignored. Returns None when no seed is stored (or no keyring
        is usable), or AWS refused the stored one's codes.
        """
        seed = self.usable_seed(serial)
        if seed is None:
            return None
        floor = after_step + 1 if after_step is not None else None
        for _ in range(4):
            now = self._now()
            step = int(now // TOTP_STEP)
            if floor is not None and floor > step + 2:
                floor = None  # after a code made on a clock ahead of AWS's
            while floor is not None and step < floor:
                self._wait(
                    (step + 1) * TOTP_STEP - now + 0.05,
                    cancel,
                    f"from {serial} (AWS takes each code once, and this one was used)",
                )
                now = self._now()
                # The wait is authoritative: a clock that did not move (tests) still gets
                # the step waited for.
                step = max(int(now // TOTP_STEP), step + 1)
            if self.used.claim_step(serial, step, now_step=step):
                return Code(totp_for_step(seed, step), "totp", step)
            floor = max(self.used.last_step(serial, now_step=step), step) + 1
        raise MfaTuiError(
            f"could not get an unused TOTP code for {serial}: another program keeps "
            "using every step; try again in a minute"
        )

    def obtain(
        self, request: CodeRequest, explicit: str | None, cancel: threading.Event | None = None
    ) -> Code:
        """A code for `request`, from the first source that has one.

        Raises:
            UsageError: the explicit or typed code is not 6 digits, or was just spent.
            NeedsCodeError: no source can give a code without a person.
        """
        if explicit is not None:
            return self._checked(request, Code(normalize_code(explicit), "explicit"))
        seeded = self.from_seed(request.mfa_serial, cancel=cancel)
        if seeded is not None:
            return seeded
        if self.command:
            return self._from_command(request, cancel)
        if self.asker is not None:
            typed = self.ask_person(request, None, cancel)
            if typed is not None:
                return typed
        hint = self.asker.hint if self.asker is not None else ""
        raise NeedsCodeError(
            f"profile '{request.profile}' needs a code from MFA device {request.mfa_serial}. "
            f"Give one with 'mfa-tui refresh {request.profile} --code CODE', store the "
            f"device's seed with 'mfa-tui totp set {request.user}', or set code_command in "
            "mfa-tui's settings" + hint,
            request=request,
        )

    def ask_person(
        self,
        request: CodeRequest,
        rejected: MfaTuiError | None,
        cancel: threading.Event | None,
    ) -> Code | None:
        """A code typed by a person, asked again while what they type cannot be sent.

        Args:
            request: the device and profile.
            rejected: AWS's refusal of the last code, shown to the person.
            cancel: the caller gave up.

        Returns None when there is nobody to ask. When the person cannot be asked again
        (a one-shot prompt), the last problem is the error: AWS's refusal, or a typed
        code that is not six digits or was already spent.
        """
        assert self.asker is not None
        problem: MfaTuiError | None = rejected
        while True:
            typed = self.asker.ask(
                request, problem=problem.message if problem else None, cancel=cancel
            )
            if not typed:
                if problem is not None:
                    raise problem
                return None
            try:
                value = normalize_code(typed)
            except UsageError as exc:
                problem = exc
                continue
            if self.used.was_spent(request.mfa_serial, value, self.clock_time()):
                problem = UsageError(SPENT_CODE.format(serial=request.mfa_serial))
                continue
            return Code(value, "prompt")

    def _from_command(self, request: CodeRequest, cancel: threading.Event | None) -> Code:
        def run() -> str:
            assert self.command is not None
            return run_code_command(
                self.command,
                self.command_timeout,
                profile=request.profile,
                serial=request.mfa_serial,
                cancel=cancel,
            )

        value = run()
        if self.used.was_spent(request.mfa_serial, value, self.clock_time()):
            # A hardware token's code lasts 30 s: the one it just gave was sent already.
            now = self._now()
            self._wait(
                (int(now // TOTP_STEP) + 1) * TOTP_STEP - now + 0.5,
                cancel,
                f"from code_command for '{request.profile}' (the code it printed was used)",
            )
            value = run()
            if self.used.was_spent(request.mfa_serial, value, self.clock_time()):
                raise MfaTuiError(
                    f"code_command for '{request.profile}' keeps printing a code that was "
                    "already used; AWS accepts each code once",
                    title="Code already used",
                )
        return Code(value, "command")

    def _checked(self, request: CodeRequest, code: Code) -> Code:
        if self.used.was_spent(request.mfa_serial, code.value, self.clock_time()):
            raise UsageError(SPENT_CODE.format(serial=request.mfa_serial))
        return code

    def mark_used(self, request: CodeRequest, code: Code) -> None:
        """Remember a code sent to AWS (after its answer, so in AWS's time if it told)."""
        self.used.mark(
            request.mfa_serial,
            step=code.step,
            code=code.value,
            now=self.clock_time(),
            now_step=self._now_step(),
        )
