"""`mfa-tui console PROFILE [--print] [--destination URL]`: the AWS web console, signed
in as a role's session (see mfa_tui/core/console.py for AWS's rules it follows)."""

from __future__ import annotations

import argparse
import sys

from mfa_tui.commands.common import load_world, require_profile, terminal_or_agent
from mfa_tui.errors import ExitCode


def run(args: argparse.Namespace) -> int:
    profile_set, settings = load_world()
    require_profile(profile_set, args.profile)
    from mfa_tui.core.console import check_destination, console_link, open_in_browser
    from mfa_tui.core.sessions import SessionService

    if args.destination is not None:
        check_destination(args.destination)  # a usage error before a code is asked
    service = SessionService(settings=settings)
    link = console_link(
        service,
        args.profile,
        asker=terminal_or_agent(settings, "mfa-tui console"),
        destination=args.destination,
    )
    if args.print:
        print(link.url)
        return int(ExitCode.OK)
    if open_in_browser(link.url):
        print(f"opened the AWS console as {args.profile} in your browser ({link.destination})")
        return int(ExitCode.OK)
    print(
        "mfa-tui: no browser could be started (or none opened the page); open this "
        "sign-in URL yourself (it is valid for 15 minutes, keep it to yourself):",
        file=sys.stderr,
    )
    print(link.url)
    return int(ExitCode.OK)
