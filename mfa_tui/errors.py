"""The errors a face (CLI, dashboard, daemon) shows, and the exit codes they map to.

Everything below `mfa_tui.aws` and `mfa_tui.core` catches library errors at its edge
and raises one of these instead, so a person always reads what happened and what to
do, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in `mfa-tui --help`."""

    OK = 0
    ERROR = 1
    USAGE = 2
    NEEDS_CODE = 3
    AWS_REFUSED = 4
    NETWORK = 5


class MfaTuiError(Exception):
    """An error with a short title and a message a person can act on."""

    exit_code: ExitCode = ExitCode.ERROR
    title: str = "Error"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class UsageError(MfaTuiError):
    """Bad arguments or an unknown profile: exit 2."""

    exit_code = ExitCode.USAGE
    title = "Usage"


class ConfigError(MfaTuiError):
    """A malformed AWS file or settings file; names the file and line."""

    title = "Configuration"


class FileWriteError(MfaTuiError):
    """A write to an AWS file was refused or failed; the file is unchanged."""

    title = "Write refused"


@dataclass(frozen=True)
class CodeRequest:
    """What a person is asked for: a code from this MFA device, for this profile of
    this user. Travels inside the NeedsCodeError of a refresh that needs one."""

    profile: str
    mfa_serial: str
    user: str


class NeedsCodeError(MfaTuiError):
    """An MFA code is needed and no non-interactive source can give one: exit 3.

    `request` says which device, when the engine knows (a face can ask a person with it).
    """

    exit_code = ExitCode.NEEDS_CODE
    title = "MFA code needed"

    def __init__(
        self, message: str, *, request: CodeRequest | None = None, title: str | None = None
    ) -> None:
        super().__init__(message, title=title)
        self.request = request


class AwsRefusedError(MfaTuiError):
    """AWS answered and said no (bad code, bad key, access denied): exit 4."""

    exit_code = ExitCode.AWS_REFUSED
    title = "AWS refused"

    def __init__(self, message: str, *, code: str = "", title: str | None = None) -> None:
        super().__init__(message, title=title)
        self.code = code


class InvalidMfaCodeError(AwsRefusedError):
    """STS rejected the one-time code: wrong, or already used."""

    title = "Wrong MFA code"


class SeedRefusedError(InvalidMfaCodeError):
    """AWS refused two codes in a row from a device's stored TOTP seed: the seed (or the
    clock) is wrong, and asking it again would only spend more steps."""

    title = "TOTP seed refused"

    def __init__(self, message: str, *, mfa_serial: str, code: str = "") -> None:
        super().__init__(message, code=code)
        self.mfa_serial = mfa_serial


class NetworkError(MfaTuiError):
    """STS could not be reached or answered garbage: exit 5."""

    exit_code = ExitCode.NETWORK
    title = "Network"


class KeyringError(MfaTuiError):
    """No usable OS keyring, or it refused the operation."""

    title = "Keyring"
