"""`mfa-tui refresh PROFILE` and `mfa-tui refresh --due`.

Prints one line per profile. A code is asked for (hidden) only when stdin is a
terminal; otherwise a running dashboard is asked to get one, and without one the
command fails at once with exit code 3 and says how to give a code.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from mfa_tui.commands.common import load_world, require_profile, terminal_or_agent
from mfa_tui.core.codes import normalize_code
from mfa_tui.errors import CodeRequest, ExitCode, MfaTuiError, UsageError

if TYPE_CHECKING:
    from mfa_tui.core.sessions import SessionService

PROMPT_TRIES = 3


def prompt_for_code(request: CodeRequest, *, terminal: bool = False) -> str | None:
    """A no-echo prompt on the terminal; None when there is no terminal to ask on.

    `terminal`: the caller knows the process has a terminal (getpass asks on /dev/tty)
    even when stdin is not it (`mfa-tui exec`, whose program may read a pipe).
    A typo (not 6 digits) is asked again rather than failing the whole command.
    """
    if not terminal and not sys.stdin.isatty():
        return None
    who = (
        request.profile
        if request.profile == request.user
        else (f"{request.profile} via {request.user}")
    )
    for attempt in range(PROMPT_TRIES):
        try:
            typed = getpass.getpass(f"MFA code for {request.mfa_serial} ({who}): ")
        except EOFError:
            return None
        try:
            return normalize_code(typed)
        except UsageError as exc:
            if attempt == PROMPT_TRIES - 1:
                raise
            print(f"mfa-tui: {exc.message}; try again", file=sys.stderr)
    return None


def run(args: argparse.Namespace) -> int:
    if args.due and args.profile:
        raise UsageError("give a profile or --due, not both")
    if args.code is not None:
        args.code = normalize_code(args.code)  # a usage error before anything else happens
    if args.duration is not None and args.due:
        raise UsageError("--duration applies to one profile, not to --due")
    profile_set, settings = load_world()
    if not args.due:
        require_profile(profile_set, args.profile)
    del profile_set  # the engine reads the files itself: a big file is not held twice
    from mfa_tui.core.sessions import SessionService

    service = SessionService(
        settings=settings, asker=terminal_or_agent(settings, "mfa-tui refresh")
    )
    if args.due:
        return _due(service)
    result = service.refresh(
        args.profile,
        code=args.code,
        duration=args.duration,
        force=args.force,
        save_serial=args.save_serial,
    )
    print(result.message)
    _warn_about_clock()
    return int(ExitCode.OK)


def _warn_about_clock() -> None:
    from mfa_tui.aws.sts import clock_warning

    warning = clock_warning()
    if warning is not None:
        print(f"mfa-tui: warning: {warning}", file=sys.stderr)


def _due(service: SessionService) -> int:
    outcomes = service.refresh_due()
    failures: list[MfaTuiError] = []
    waiting = 0
    for outcome in outcomes:
        if outcome.result is not None:
            print(f"refreshed {outcome.profile}: {outcome.result.message}")
        elif outcome.needs_code is not None:
            waiting += 1
            request = outcome.needs_code
            print(
                f"needs a code: {outcome.profile} (device {request.mfa_serial}); run "
                f"'mfa-tui refresh {outcome.profile}'"
            )
        elif outcome.error is not None:
            failures.append(outcome.error)
            print(f"failed {outcome.profile}: {outcome.error.message}", file=sys.stderr)
    if not outcomes:
        print("nothing is due")
    if failures:
        return int(max(e.exit_code for e in failures))
    return int(ExitCode.NEEDS_CODE if waiting else ExitCode.OK)
