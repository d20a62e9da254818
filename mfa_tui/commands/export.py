"""`mfa-tui export PROFILE`: the stored session as shell exports or JSON.

Variable names, quoting and the expiry format follow `aws configure
export-credentials` (its env, fish, powershell and process formats), so scripts that
`eval` one accept the other. Reads the credentials file only: no boto3, no STS call.
"""

from __future__ import annotations

import argparse
import json
import sys

from mfa_tui.commands.common import load_world, require_profile
from mfa_tui.core.store import StoredSession, stored_session
from mfa_tui.errors import ExitCode, MfaTuiError

_LINE = {
    "env": "export {name}={value}",
    "fish": 'set -gx {name} "{value}"',
    "powershell": '$Env:{name}="{value}"',
}


def render(session: StoredSession, fmt: str) -> str:
    """The session in one of the formats; the expiry as ISO 8601 with +00:00, like awscli."""
    expiration = session.expiration.isoformat()
    if fmt == "json":
        data = {
            "Version": 1,
            "AccessKeyId": session.access_key_id,
            "SecretAccessKey": session.secret_access_key,
            "SessionToken": session.session_token,
            "Expiration": expiration,
        }
        return json.dumps(data, indent=2, separators=(",", ": "))
    pairs = [
        ("AWS_ACCESS_KEY_ID", session.access_key_id),
        ("AWS_SECRET_ACCESS_KEY", session.secret_access_key),
        ("AWS_SESSION_TOKEN", session.session_token),
        ("AWS_CREDENTIAL_EXPIRATION", expiration),
    ]
    line = _LINE[fmt]
    return "\n".join(line.format(name=name, value=value) for name, value in pairs)


def run(args: argparse.Namespace) -> int:
    profile_set, settings = load_world()
    require_profile(profile_set, args.profile)
    session = stored_session(profile_set, settings, args.profile)
    if session is None:
        raise MfaTuiError(
            f"'{args.profile}' has no unexpired session; run 'mfa-tui refresh {args.profile}'",
            title="No session",
        )
    # POSIX shells must get "\n" even on Windows, as awscli ensures.
    if args.format in ("env", "fish") and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(newline="\n")
    print(render(session, args.format))
    return int(ExitCode.OK)
