"""doctor's questions to AWS, one user at a time: are its keys valid, how old are they and
when were they last used, do they work without MFA, and is this computer's clock right.

For each user profile with long-term keys, in this order:

1. With the user's MFA session, if one is at hand (a valid session mfa-tui stored):
   GetAccessKeyLastUsed for the key in the files (which also names its user), then
   ListAccessKeys for the key's age and the user's other keys. This comes first and
   never uses the long-term keys: a call made with a key is its last use.
2. GetCallerIdentity with the long-term keys: are they valid, whose are they, and STS's
   `Date` against this computer's clock (AWS refuses requests signed more than 15
   minutes off; codes made from a seed here need the right time too).
3. `iam.keys_need_mfa`: one harmless call with the keys alone that a policy requiring
   MFA denies. If it works: "these keys work without MFA".

Users are asked in parallel (a few seconds each at worst, bounded by aws/sts.py's call
policy); findings come back in the order of the files. Nothing here asks for an MFA
code or changes anything.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from mfa_tui.aws import iam
from mfa_tui.aws.connection import Connection, connection_for
from mfa_tui.aws.files import Kind, Profile, ProfileSet, mfa_serial_of, user_of
from mfa_tui.aws.sts import SKEW_WARN_SECONDS, Credentials, ServerClock
from mfa_tui.core.findings import Area, Finding, Severity
from mfa_tui.core.key_ages import ROTATE_AFTER_DAYS, rotate_due
from mfa_tui.core.store import stored_session
from mfa_tui.errors import MfaTuiError, NetworkError, UsageError
from mfa_tui.settings import Settings

# Keys unused this long should be removed (Security Hub IAM.22).
KEY_UNUSED_DAYS = 45
# Signed requests are valid within 15 minutes of AWS's time; warn well before.
CLOCK_WARN_SECONDS = 5 * 60
CLOCK_REJECTED_SECONDS = 15 * 60
MAX_PARALLEL_USERS = 8


@dataclass
class _UserReport:
    findings: list[Finding] = field(default_factory=list)
    skew: float | None = None


def aws_findings(
    profile_set: ProfileSet, settings: Settings, names: list[str] | None, now: datetime
) -> list[Finding]:
    """Findings for the users of `names` (None: every user with keys), then the clock."""
    users = _users(profile_set, names)
    if not users:
        return [
            Finding(
                "aws",
                Area.AWS,
                Severity.INFO,
                "no profile with long-term access keys, so nothing to ask AWS about (and the "
                "clock was not checked)",
            )
        ]
    with ThreadPoolExecutor(min(MAX_PARALLEL_USERS, len(users)), "doctor") as pool:
        reports = list(pool.map(lambda user: _check_user(profile_set, settings, user, now), users))
    findings = [f for report in reports for f in report.findings]
    skews = [(r.skew, u.name) for r, u in zip(reports, users, strict=True) if r.skew is not None]
    findings.append(clock_finding(max(skews, key=lambda s: abs(s[0])) if skews else None))
    return findings


def _users(profile_set: ProfileSet, names: list[str] | None) -> list[Profile]:
    profiles = profile_set.profiles
    if names is None:
        return [p for p in profiles.values() if p.kind is Kind.USER and p.has_long_term_keys]
    users: list[Profile] = []
    for name in names:
        profile = profiles.get(name)
        if profile is None:
            raise UsageError(
                f"unknown profile '{name}' in {profile_set.paths.config} or "
                f"{profile_set.paths.credentials}"
            )
        user = user_of(profiles, profile)
        if user is None or not user.has_long_term_keys:
            raise UsageError(
                f"profile '{name}' is a {profile.kind.value} profile whose chain ends at no "
                "user with long-term keys: doctor asks AWS about users' keys"
            )
        if user not in users:
            users.append(user)
    return users


def _check_user(
    profile_set: ProfileSet, settings: Settings, user: Profile, now: datetime
) -> _UserReport:
    report = _UserReport()
    name = user.name
    # The files doctor has read, for every call: not a parse of them per call.
    connection = connection_for(profile_set, name)
    keys = Credentials(user.values["aws_access_key_id"], user.values["aws_secret_access_key"])
    stored = stored_session(profile_set, settings, name, now)
    session = stored.signing() if stored is not None else None
    if session is None:
        report.findings.append(
            Finding(
                "key-age",
                Area.AWS,
                Severity.INFO,
                "the age and last use of its access key were not checked: that needs an MFA "
                "session, and none is at hand",
                fix=f"mfa-tui refresh {name}, then run doctor again",
                profile=name,
            )
        )
    else:
        report.findings.extend(_key_findings(profile_set, connection, name, keys, session, now))
    clock = ServerClock()
    try:
        iam.caller(name, keys, clock, connection=connection)
    except MfaTuiError as exc:
        report.skew = clock.skew_seconds()
        report.findings.append(_refused(name, exc))
        return report
    report.skew = clock.skew_seconds()
    report.findings.append(_enforcement(profile_set, connection, user, keys, session))
    return report


def _refused(name: str, exc: MfaTuiError) -> Finding:
    """GetCallerIdentity failed: the keys are not valid or belong to no IAM user, the
    clock is too far off (the clock finding says by how much), or AWS is out of reach."""
    if isinstance(exc, NetworkError):
        return Finding(
            "aws",
            Area.AWS,
            Severity.WARNING,
            f"could not ask AWS: {exc.message}",
            fix="check the network, or leave AWS out: 'mfa-tui doctor --offline'",
            profile=name,
        )
    return Finding("access-key", Area.AWS, Severity.PROBLEM, exc.message, profile=name)


def _enforcement(
    profile_set: ProfileSet,
    connection: Connection,
    user: Profile,
    keys: Credentials,
    session: Credentials | None,
) -> Finding:
    name = user.name
    try:
        check = iam.keys_need_mfa(name, keys, session, connection=connection)
    except MfaTuiError as exc:
        return Finding(
            "mfa-enforced",
            Area.AWS,
            Severity.WARNING,
            f"could not ask whether its keys need MFA: {exc.message}",
            profile=name,
        )
    if check.state is iam.Enforcement.NOT_ENFORCED:
        fix = f"'mfa-tui setup {name} --enforce user-policy' (or '--enforce role NAME') shows "
        fix += "how to require MFA"
        if mfa_serial_of(profile_set, user) is None:
            fix = f"'mfa-tui setup {name}' gives it an MFA device first; then {fix}"
        return Finding(
            "mfa-enforced", Area.AWS, Severity.PROBLEM, check.sentence, fix, profile=name
        )
    severity = Severity.OK if check.state is iam.Enforcement.ENFORCED else Severity.INFO
    return Finding("mfa-enforced", Area.AWS, severity, check.sentence, profile=name)


def _key_findings(
    profile_set: ProfileSet,
    connection: Connection,
    name: str,
    keys: Credentials,
    session: Credentials,
    now: datetime,
) -> list[Finding]:
    """The key's age and last use, and the user's other active keys, asked with the MFA
    session (never with the key itself, whose last use that call would become)."""
    key_id = keys.access_key_id
    try:
        use = iam.key_last_used(name, session, key_id, connection=connection)
        all_keys = iam.access_keys(name, session, use.user, connection=connection)
    except MfaTuiError as exc:
        return [
            Finding(
                "key-age",
                Area.AWS,
                Severity.WARNING,
                f"could not read the age of its access key: {exc.message}",
                profile=name,
            )
        ]
    findings: list[Finding] = []
    mine = next((k for k in all_keys if k.key_id == key_id), None)
    age = _days(mine.created, now) if mine is not None and mine.created else None
    used = _used(use, now)
    facts = f"its access key {key_id} (IAM user {use.user})"
    # Due from the same day as in `list` and the dashboard (AWS's IAM.3: every 90 days).
    if mine is not None and mine.created and rotate_due(mine.created, now):
        findings.append(
            Finding(
                "key-age",
                Area.AWS,
                Severity.WARNING,
                f"{facts} is {age} days old ({used}); AWS advises a new one every "
                f"{ROTATE_AFTER_DAYS} days",
                fix=(
                    f"rotate it: create a new key for {use.user} in IAM, put it in place of "
                    f"the old one in the credentials file, then deactivate and delete the old one"
                ),
                profile=name,
            )
        )
    else:
        old = f"{age} days old" if age is not None else "of unknown age"
        findings.append(
            Finding("key-age", Area.AWS, Severity.OK, f"{facts} is {old} ({used})", profile=name)
        )
    in_files = {p.values.get("aws_access_key_id") for p in profile_set.profiles.values()} - {None}
    for other in all_keys:
        if other.key_id in in_files or not other.active:
            continue
        findings.append(_other_key(name, connection, session, use.user, other, now))
    return findings


def _other_key(
    name: str,
    connection: Connection,
    session: Credentials,
    user: str,
    key: iam.AccessKey,
    now: datetime,
) -> Finding:
    """An active key of the user that no profile holds: in use elsewhere, or forgotten.
    AWS advises one active key a user (CIS 1.13); one unused for KEY_UNUSED_DAYS should go."""
    try:
        use: iam.KeyUse | None = iam.key_last_used(name, session, key.key_id, connection=connection)
    except MfaTuiError:
        use = None
    used = _used(use, now) if use is not None else "its last use unknown"
    age = f"{_days(key.created, now)} days old" if key.created else "of unknown age"
    idle = use is not None and (use.when is None or _days(use.when, now) >= KEY_UNUSED_DAYS)
    if idle:
        fix = "nothing has used it for a long time: deactivate it in IAM, then delete it"
    else:
        fix = (
            "if it is not in use elsewhere (another computer, a CI job), deactivate it in IAM, "
            "then delete it; AWS advises one active key a user"
        )
    return Finding(
        "other-key",
        Area.AWS,
        Severity.WARNING,
        f"IAM user {user} has another active access key, {key.key_id} ({age}, {used}), "
        "that no profile here holds",
        fix=fix,
        profile=name,
    )


def _days(when: datetime, now: datetime) -> int:
    return max(0, int((now - when).total_seconds() // 86400))


def _used(use: iam.KeyUse, now: datetime) -> str:
    if use.when is None:
        return "never used"
    where = " in ".join(x for x in (use.service, use.region) if x)
    ago = span((now - use.when).total_seconds())
    return f"last used {ago} ago" + (f" by {where}" if where else "")


def span(seconds: float) -> str:
    """A length of time as people say it: `40 s`, `7 minutes`, `5 hours`, `12 days`."""
    seconds = max(0.0, seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= 1.5 * size:
            count = round(seconds / size)
            return f"{count} {unit}s"
    return f"{round(seconds)} s"


def clock_finding(skew_of: tuple[float, str] | None) -> Finding:
    """This computer's clock against STS's `Date` (the largest difference seen)."""
    if skew_of is None:
        return Finding(
            "clock",
            Area.COMPUTER,
            Severity.WARNING,
            "this computer's clock was not checked: STS gave no answer",
        )
    skew, profile = skew_of
    off = abs(skew)
    direction = "ahead of" if skew > 0 else "behind"
    said = (
        f"this computer's clock is {span(off)} {direction} AWS's (STS's answer about '{profile}')"
    )
    sync = "sync the clock (e.g. 'timedatectl set-ntp true', or the system's date settings)"
    if off > CLOCK_REJECTED_SECONDS:
        return Finding(
            "clock",
            Area.COMPUTER,
            Severity.PROBLEM,
            f"{said}: AWS refuses every request signed more than 15 minutes off",
            sync,
        )
    if off > CLOCK_WARN_SECONDS:
        return Finding(
            "clock",
            Area.COMPUTER,
            Severity.WARNING,
            f"{said}: AWS refuses requests signed more than 15 minutes off",
            sync,
        )
    if off >= SKEW_WARN_SECONDS:
        return Finding(
            "clock",
            Area.COMPUTER,
            Severity.INFO,
            f"{said}: mfa-tui corrects the codes it makes from a seed once STS has "
            "answered, but its countdowns are off by as much",
            sync,
        )
    return Finding(
        "clock",
        Area.COMPUTER,
        Severity.OK,
        f"this computer's clock agrees with AWS's ({span(off)} apart in STS's answer about "
        f"'{profile}')",
    )
