"""`mfa-tui export PROFILE`: the stored session as shell exports or JSON.

Variable names and quoting follow `aws configure export-credentials`, so scripts that
`eval` one accept the other.
"""

from __future__ import annotations

import argparse
import json

from mfa_tui.aws.files import format_expiration
from mfa_tui.commands.common import load_world, require_profile
from mfa_tui.core.session_store import stored_session
from mfa_tui.errors import ExitCode, MfaTuiError


def render(creds: dict[str, str], fmt: str) -> str:
    pairs = [
        ("AWS_ACCESS_KEY_ID", creds["AccessKeyId"]),
        ("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"]),
        ("AWS_SESSION_TOKEN", creds["SessionToken"]),
        ("AWS_CREDENTIAL_EXPIRATION", creds["Expiration"]),
    ]
    if fmt == "json":
        return json.dumps(creds, indent=2)
    if fmt == "fish":
        return "\n".join(f"set -gx {k} {v}" for k, v in pairs)
    if fmt == "powershell":
        return "\n".join(f'$Env:{k}="{v}"' for k, v in pairs)
    return "\n".join(f"export {k}={v}" for k, v in pairs)


def run(args: argparse.Namespace) -> int:
    profile_set, settings = load_world()
    require_profile(profile_set, args.profile)
    session = stored_session(profile_set, settings, args.profile)
    if session is None:
        raise MfaTuiError(
            f"'{args.profile}' has no unexpired session; run 'mfa-tui refresh {args.profile}'",
            title="No session",
        )
    creds = dict(session.to_process_json())
    creds["Expiration"] = format_expiration(session.expiration)
    print(render(creds, args.format))
    return int(ExitCode.OK)
