"""`mfa-tui doctor`: what is wrong with the AWS files, this computer and the keys, as data.

This module only gathers. Each check lives where the rest of mfa-tui uses it, so what
doctor says and what `list`, `refresh` and the dashboard do never disagree: the lines
and values the AWS tools refuse or read otherwise are `ProfileSet.problems` and profile
notes (aws/files.py), session profile names are core/preflight.py's, the keyring
core/codes.py's, and the AWS checks (core/doctor_aws.py) aws/iam.py's. Here they become
`Finding`s: a severity, the file and line where one applies, the profile, and what to
do. commands/doctor.py prints them, or `--json`.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from mfa_tui.aws.atomic import resolve_target
from mfa_tui.aws.files import SECRET_KEYS, AwsPaths, ProfileSet, botocore_refusal, load_profiles
from mfa_tui.core.preflight import name_problem, session_names
from mfa_tui.errors import ConfigError, KeyringError
from mfa_tui.settings import Settings, load_settings, settings_path


class Severity(StrEnum):
    """How much a finding matters; a problem or a warning needs attention (exit 1)."""

    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    PROBLEM = "problem"

    @property
    def needs_attention(self) -> bool:
        return self is Severity.WARNING or self is Severity.PROBLEM


class Area(StrEnum):
    """Where a finding belongs, in the order doctor prints them."""

    FILES = "AWS files"
    PROFILES = "Profiles"
    COMPUTER = "This computer"
    AWS = "AWS"


@dataclass(frozen=True)
class Finding:
    """One thing doctor found. `check` is a stable name for scripts (`--json`)."""

    check: str
    area: Area
    severity: Severity
    message: str
    fix: str | None = None
    profile: str | None = None
    file: str | None = None
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["area"], data["severity"] = self.area.name.lower(), self.severity.value
        return data


def needs_attention(findings: Sequence[Finding]) -> bool:
    return any(f.severity.needs_attention for f in findings)


def place(text: str, paths: Sequence[Path]) -> tuple[str | None, int | None]:
    """The first `file:line` of one of `paths` that `text` names, as (file, line)."""
    for path in paths:
        found = re.search(re.escape(str(path)) + r":(\d+)", text)
        if found:
            return str(path), int(found.group(1))
    return None, None


# --- the AWS files ---------------------------------------------------------------------


def file_findings(profile_set: ProfileSet, settings: Settings) -> list[Finding]:
    """Every line the AWS tools refuse or read otherwise, file by file, then every value
    and session profile name of a profile that they (or mfa-tui) cannot use."""
    paths = profile_set.paths
    findings: list[Finding] = []
    for path, exists in (
        (paths.config, profile_set.config_doc.exists),
        (paths.credentials, profile_set.credentials_doc.exists),
    ):
        findings.extend(_one_file(path, exists, profile_set.problems))
    findings.extend(_profile_findings(profile_set, settings, (paths.config, paths.credentials)))
    return findings


def _one_file(path: Path, exists: bool, problems: list[str]) -> list[Finding]:
    at_line = f"{path}:"
    lines: list[Finding] = []
    whole: list[Finding] = []
    for problem in problems:
        if not problem.startswith((at_line, f"{path} ")):
            continue  # the other file's (its path may start with this one's)
        head, _, message = problem[len(at_line) :].partition(": ")
        if head.isdigit():
            lines.append(
                Finding(
                    "file-line",
                    Area.FILES,
                    Severity.PROBLEM,
                    message,
                    file=str(path),
                    line=int(head),
                )
            )
        else:  # the file itself: a folder, or unreadable
            whole.append(Finding("file", Area.FILES, Severity.PROBLEM, problem, file=str(path)))
    lines.sort(key=lambda f: f.line or 0)  # mfa-tui's reader's, then the name checks
    refusal = botocore_refusal(path) if lines else None
    if refusal is not None:
        whole.append(
            Finding(
                "file",
                Area.FILES,
                Severity.PROBLEM,
                f"the AWS CLI and SDKs cannot read {path} at all ({refusal}): every profile "
                "in it fails with them, while mfa-tui reads past the lines below",
                fix="fix the lines below",
                file=str(path),
            )
        )
    if whole or lines:
        return whole + lines
    if not exists:
        return [
            Finding("file", Area.FILES, Severity.INFO, f"{path} does not exist", file=str(path))
        ]
    return [
        Finding(
            "file",
            Area.FILES,
            Severity.OK,
            f"{path}: the AWS tools read every line of it as mfa-tui does",
            file=str(path),
        )
    ]


def _profile_findings(
    profile_set: ProfileSet, settings: Settings, paths: tuple[Path, ...]
) -> list[Finding]:
    """Profile notes (values the AWS tools cannot use, chains they refuse) and session
    profile names mfa-tui would refuse to write: each profile's own, once."""
    findings: list[Finding] = []
    names = session_names(profile_set, settings)

    def add(check: str, text: str, profile: str | None) -> None:
        file, line = place(text, paths)
        findings.append(
            Finding(check, Area.PROFILES, Severity.PROBLEM, text, None, profile, file, line)
        )

    for profile in profile_set.profiles.values():
        for note in profile.notes:
            add("profile", note, profile.name)
        if profile.managed:
            session = names.session_of(settings, profile.name)
            problem = name_problem(profile_set, settings, profile.name, session, names)
            if problem is not None:
                add("session-profile", problem, profile.name)
    problem = name_problem(profile_set, settings, None, settings.active_profile, names)
    if problem is not None:
        add("session-profile", problem, None)
    if not findings:
        findings.append(
            Finding(
                "profile",
                Area.PROFILES,
                Severity.OK,
                f"the AWS tools can use every value of the {len(profile_set.profiles)} "
                "profiles, and mfa-tui can write every session profile",
            )
        )
    return findings


# --- this computer ---------------------------------------------------------------------


def mode_findings(profile_set: ProfileSet) -> list[Finding]:
    """Who else may read or change the AWS files and their folder.

    The credentials file holds long-term keys: 0600, the owner's own. A config file
    others may change can make the AWS tools run any program as you (credential_process),
    and one holding keys is as secret as the credentials file. The folder: 0700, as
    `aws configure` and mfa-tui create it.
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


# --- all of it ---------------------------------------------------------------------------


def gather(
    *,
    now: datetime,
    local: bool = True,
    ask_aws: bool = False,
    profiles: list[str] | None = None,
    paths: AwsPaths | None = None,
    keyring_backend: Any = None,
) -> list[Finding]:
    """Every finding, in the order doctor prints them.

    Args:
        now: what key ages are measured against.
        local: also this computer: file modes, the keyring (which takes a moment to ask).
        ask_aws: also the checks that call AWS (core/doctor_aws.py).
        profiles: ask AWS about these profiles' users only (None: every user with keys).

    Raises:
        UsageError: `profiles` names a profile that does not exist or has no user.
    """
    findings: list[Finding] = []
    try:
        settings = load_settings()
    except ConfigError as exc:
        settings = Settings()
        findings.append(
            Finding(
                "settings",
                Area.FILES,
                Severity.PROBLEM,
                f"{exc.message}; until it is fixed every mfa-tui command stops on it (doctor "
                "goes on with the defaults)",
                file=str(settings_path()),
            )
        )
    profile_set = load_profiles(paths)
    findings.extend(file_findings(profile_set, settings))
    if local:
        findings.extend(mode_findings(profile_set))
        findings.append(keyring_finding(keyring_backend))
    if ask_aws:
        from mfa_tui.core.doctor_aws import aws_findings  # it imports this module

        findings.extend(aws_findings(profile_set, settings, profiles, now))
    order = list(Area)
    return sorted(findings, key=lambda f: order.index(f.area))
