"""doctor's checks of this computer: who may read or change the AWS files, and which
keyring TOTP seeds go to (core/codes.py's choice). The clock is judged against STS's
answers, with the AWS checks (doctor_aws.py).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from mfa_tui.aws.atomic import resolve_target
from mfa_tui.aws.files import SECRET_KEYS, ProfileSet
from mfa_tui.core.findings import Area, Finding, Severity
from mfa_tui.errors import KeyringError


def mode_findings(profile_set: ProfileSet) -> list[Finding]:
    """Who else may read or change the AWS files and their folder.

    The credentials file holds long-term keys: 0600, the owner's own. A config file
    others may change can make the AWS tools run any program as you (credential_process),
    and one holding keys is as secret as the credentials file. The folder: 0700, as
    mfa-tui creates it.
    """
    if not hasattr(os, "getuid"):  # Windows: no owners and modes of this kind
        return [
            Finding(
                "file-mode",
                Area.COMPUTER,
                Severity.INFO,
                "file modes are not checked on Windows (its folders' ACLs protect ~/.aws)",
            )
        ]
    paths = profile_set.paths
    keys_in_config = any(
        not SECRET_KEYS.isdisjoint(section.values) for section in profile_set.config_doc.sections
    )
    findings: list[Finding] = []
    folders: list[Path] = []
    for path, secret in ((paths.credentials, True), (paths.config, keys_in_config)):
        target = resolve_target(path)
        try:
            st = target.stat()
        except OSError:
            continue  # missing or unreadable: the file checks say so
        if not stat.S_ISREG(st.st_mode):
            continue
        if target.parent not in folders:
            folders.append(target.parent)
        findings.extend(_file_mode(target, st, secret))
    for folder in folders:
        findings.extend(_folder_mode(folder))
    if not any(f.severity.needs_attention for f in findings):
        checked = ", ".join(str(f) for f in (*folders,)) or "none"
        findings.append(
            Finding(
                "file-mode",
                Area.COMPUTER,
                Severity.OK,
                f"only you can read and change the AWS files (folders: {checked})",
            )
        )
    return findings


def _mode(st: os.stat_result) -> str:
    return f"{stat.S_IMODE(st.st_mode):04o}"


def _file_mode(target: Path, st: os.stat_result, secret: bool) -> list[Finding]:
    found: list[Finding] = []

    def add(severity: Severity, message: str, fix: str) -> None:
        found.append(Finding("file-mode", Area.COMPUTER, severity, message, fix, file=str(target)))

    if st.st_uid != os.getuid():
        add(
            Severity.PROBLEM,
            f"{target} belongs to user id {st.st_uid}, not to you: they can change it",
            f"make it yours: 'sudo chown {os.getuid()} {target}'",
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        add(
            Severity.PROBLEM,
            f"{target} is mode {_mode(st)}: others on this computer can change it, and so "
            "make the AWS tools use their keys or run their program as you",
            f"chmod 600 {target}",
        )
    elif secret and mode & 0o044:
        add(
            Severity.PROBLEM,
            f"{target} holds access keys and is mode {_mode(st)}: others on this computer "
            "can read them",
            f"chmod 600 {target}",
        )
    if secret and not mode & stat.S_IWUSR:
        add(
            Severity.WARNING,
            f"{target} is read-only (mode {_mode(st)}): mfa-tui cannot store sessions there",
            f"chmod 600 {target}",
        )
    return found


def _folder_mode(folder: Path) -> list[Finding]:
    try:
        st = folder.stat()
    except OSError:
        return []
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022 and not mode & stat.S_ISVTX:
        return [
            Finding(
                "file-mode",
                Area.COMPUTER,
                Severity.PROBLEM,
                f"{folder} is mode {_mode(st)}: others on this computer can replace the AWS "
                "files in it with their own",
                f"chmod 700 {folder}",
                file=str(folder),
            )
        ]
    if mode & 0o077 and folder != Path(folder.anchor):
        return [
            Finding(
                "file-mode",
                Area.COMPUTER,
                Severity.WARNING,
                f"{folder} is mode {_mode(st)}, not 0700: others on this computer can see "
                "which files are in it, and read any that is not 0600",
                f"chmod 700 {folder}",
                file=str(folder),
            )
        ]
    return []


def keyring_finding(backend: Any = None) -> Finding:
    """The keyring TOTP seeds go to, or why there is none (not a problem on its own: codes
    can be typed or come from a code_command)."""
    from mfa_tui.core.codes import describe_keyring, resolve_keyring

    try:
        ring = resolve_keyring(backend)
    except KeyringError as exc:
        return Finding(
            "keyring",
            Area.COMPUTER,
            Severity.INFO,
            f"no keyring for TOTP seeds: {exc.message}",
            fix="none needed while codes are typed or come from a code_command",
        )
    name, plain_file = describe_keyring(ring)
    if plain_file is not None:
        return Finding(
            "keyring",
            Area.COMPUTER,
            Severity.WARNING,
            f"TOTP seeds go to {name}, which keeps them unencrypted in {plain_file}",
            fix="use your desktop's keyring, or keyrings.alt.file.EncryptedKeyring",
        )
    return Finding("keyring", Area.COMPUTER, Severity.OK, f"TOTP seeds go to {name}")
