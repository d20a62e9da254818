"""`mfa-tui use PROFILE`: make PROFILE's session the active one, from the command line.

What enter does in the dashboard, through the same door (`SessionService.activate`):
PROFILE's session is got first when it has less than its refresh margin left (silently
where it can be: a role from its user's session, a TOTP seed, a code_command; else the
code is asked for at this terminal, or, with none, by the running dashboard, or given
with `--code`), then mirrored into the active profile (`[mfa-tui]` by default), the one
`AWS_PROFILE=mfa-tui` points every tool at. A running dashboard sees the credentials
file change and shows the switch.
"""

from __future__ import annotations

import argparse

from mfa_tui.commands.common import load_world, require_profile, terminal_or_agent
from mfa_tui.core.codes import normalize_code
from mfa_tui.errors import ExitCode


def run(args: argparse.Namespace) -> int:
    if args.code is not None:
        args.code = normalize_code(args.code)  # a usage error before anything else happens
    profile_set, settings = load_world()
    require_profile(profile_set, args.profile)
    from mfa_tui.core.sessions import SessionService

    service = SessionService(settings=settings, asker=terminal_or_agent(settings, "mfa-tui use"))
    result = service.activate(args.profile, code=args.code)
    print(result.message)
    return int(ExitCode.OK)
