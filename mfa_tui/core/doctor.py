"""`mfa-tui doctor`: what is wrong with the AWS files, this computer and the keys, as data.

doctor only gathers. Each check lives where the rest of mfa-tui uses it, so what doctor
says and what `list`, `refresh` and the dashboard do never disagree: the lines and
values the AWS tools refuse or read otherwise are `ProfileSet.problems` and profile notes
(aws/files.py), session profile names are core/preflight.py's, the keyring core/codes.py's,
whether the keys need MFA and how old they are aws/iam.py's. Here the files' become
`Finding`s (core/findings.py); doctor_local.py has this computer's, doctor_aws.py the
ones that ask AWS, and `gather` runs the ones asked for. commands/doctor.py prints them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from mfa_tui.aws.files import AwsPaths, ProfileSet, botocore_refusal, load_profiles
from mfa_tui.core.doctor_local import keyring_finding, mode_findings
from mfa_tui.core.findings import Area, Finding, Severity, place
from mfa_tui.core.preflight import name_problem, session_names
from mfa_tui.errors import ConfigError
from mfa_tui.settings import Settings, load_settings, settings_path

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
