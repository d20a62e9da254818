"""`mfa-tui export PROFILE`: a session as shell variables or credential_process JSON.

The session comes through the engine's door, as `credential-process` gets it: served
from the file while it has more than botocore's 15 minutes left, else refreshed
silently (a role from its user's session, a TOTP seed, a code_command), else a code is
asked for (at this terminal; with none, by the running dashboard). When no fresh
session can be had, a stored one that has not expired is still printed, with a warning,
and one with less than its refresh margin left always says so.

The variable names, quoting, line endings and the JSON are those of `aws configure
export-credentials` (AWS CLI v2: its env, env-no-export, fish, powershell, windows-cmd
and process formats, byte for byte; tests/test_export.py compares them with what the
CLI printed), so a script that `eval`s one accepts the other. The shell formats add
`AWS_REGION` and `AWS_DEFAULT_REGION` when the profile names a region, in the same
form; `process` is credential_process JSON, which has no place for a region.
"""

from __future__ import annotations

import argparse
import json
import sys

from mfa_tui.commands.common import load_world, require_profile, terminal_or_agent
from mfa_tui.core.store import StoredSession
from mfa_tui.errors import ExitCode
from mfa_tui.expiry import human_left
from mfa_tui.fastpath import MIN_SERVE_SECONDS

# Each shell format's line, as the AWS CLI writes it.
LINE_FORMATS = {
    "env": "export {name}={value}",
    "env-no-export": "{name}={value}",
    "fish": 'set -gx {name} "{value}"',
    "powershell": '$Env:{name}="{value}"',
    "windows-cmd": "set {name}={value}",
}
PROCESS = "process"
# The AWS CLI's names, and `json`, this command's name for `process` before it had one.
FORMATS = (PROCESS, *LINE_FORMATS)
ALIASES = {"json": PROCESS}
# POSIX shells must get "\n" even on Windows, where the AWS CLI forces it too.
LF_ONLY = frozenset({"env", "env-no-export", "fish"})


def render(session: StoredSession, fmt: str, region: str | None = None) -> str:
    """What `export` prints for `session` in `fmt` (a FORMATS name or an alias).

    The expiry is ISO 8601 with +00:00, as the AWS CLI prints botocore's datetime.
    """
    fmt = ALIASES.get(fmt, fmt)
    expiration = session.expiration.isoformat()
    if fmt == PROCESS:
        data = {
            "Version": 1,
            "AccessKeyId": session.access_key_id,
            "SecretAccessKey": session.secret_access_key,
            "SessionToken": session.session_token,
            "Expiration": expiration,
        }
        return json.dumps(data, indent=2, separators=(",", ": ")) + "\n"
    pairs = [
        ("AWS_ACCESS_KEY_ID", session.access_key_id),
        ("AWS_SECRET_ACCESS_KEY", session.secret_access_key),
        ("AWS_SESSION_TOKEN", session.session_token),
        ("AWS_CREDENTIAL_EXPIRATION", expiration),
    ]
    if region:
        pairs += [("AWS_REGION", region), ("AWS_DEFAULT_REGION", region)]
    line = LINE_FORMATS[fmt]
    return "".join(line.format(name=name, value=value) + "\n" for name, value in pairs)


def run(args: argparse.Namespace) -> int:
    profile_set, settings = load_world()
    profile = require_profile(profile_set, args.profile)
    from mfa_tui.core.sessions import SessionService

    service = SessionService(settings=settings, asker=terminal_or_agent(settings, "mfa-tui export"))
    # Any session that has not expired beats none when a fresh one cannot be had; the
    # warning below says how little it has left.
    served = service.serve(args.profile, min_valid=MIN_SERVE_SECONDS, usable=0)
    if served.note:
        print(f"mfa-tui: warning: {served.note}", file=sys.stderr)
    source = profile_set.get(profile.session_of or "") if profile.session_of else profile
    margin = settings.refresh_margin_for((source or profile).kind.value)
    left = served.session.seconds_left(service.clock.now())
    if left <= margin and not served.note:
        print(
            f"mfa-tui: warning: {args.profile}'s session has {human_left(left)} left, less "
            f"than its refresh margin ({margin} s)",
            file=sys.stderr,
        )
    if args.format in LF_ONLY and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(newline="\n")
    region = None if ALIASES.get(args.format, args.format) == PROCESS else profile.region
    sys.stdout.write(render(served.session, args.format, region))
    sys.stdout.flush()
    return int(ExitCode.OK)
