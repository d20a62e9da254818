"""`mfa-tui refresh PROFILE` and `mfa-tui refresh --due`."""

from __future__ import annotations

import argparse
import getpass
import sys

from mfa_tui.commands.common import load_world, require_profile
from mfa_tui.core.codes import CodeRequest, normalize_code
from mfa_tui.errors import ExitCode, NeedsCodeError, UsageError


def prompt_for_code(request: CodeRequest) -> str | None:
    """A no-echo prompt on the terminal; None when there is no terminal to ask on."""
    if not sys.stdin.isatty():
        return None
    return getpass.getpass(f"MFA code for {request.mfa_serial} ({request.profile}): ")


def run(args: argparse.Namespace) -> int:
    if args.due and args.profile:
        raise UsageError("give a profile or --due, not both")
    if args.code is not None:
        normalize_code(args.code)  # a usage error before anything else happens
    profile_set, settings = load_world()
    if not args.due:
        require_profile(profile_set, args.profile)
    from mfa_tui.core.sessions import SessionService

    service = SessionService(settings=settings, code_prompt=prompt_for_code)
    if args.due:
        return _due(service)
    try:
        result = service.refresh(
            args.profile,
            code=args.code,
            duration=args.duration,
            force=args.force,
            save_serial=args.save_serial,
        )
    except NeedsCodeError:
        if sys.stdin.isatty():
            raise
        # No person here: a running dashboard can ask one.
        from mfa_tui.core.agent import request_session

        request_session(
            args.profile,
            min_valid=settings.refresh_margin_for("user") + 60,
            wait=settings.agent_wait,
            caller="mfa-tui refresh",
        )
        service.reload()
        left = service.seconds_left(args.profile) or 0
        print(
            f"{settings.session_profile_for(args.profile)} refreshed by the dashboard "
            f"({int(left) // 60} min left)"
        )
        return int(ExitCode.OK)
    print(result.message)
    return int(ExitCode.OK)


def _due(service: object) -> int:
    from mfa_tui.core.sessions import SessionService

    assert isinstance(service, SessionService)
    report = service.refresh_due()
    for result in report.results:
        print(f"refreshed {result.profile}: {result.message}")
    for name, error in report.failures.items():
        print(f"failed {name}: {error.message}", file=sys.stderr)
    for request in report.needs_code:
        print(
            f"needs a code: {request.profile} (device {request.mfa_serial}); run "
            f"'mfa-tui refresh {request.profile}'"
        )
    if not (report.results or report.failures or report.needs_code):
        print("nothing is due")
    if report.failures:
        return int(max(e.exit_code for e in report.failures.values()))
    return int(ExitCode.NEEDS_CODE if report.needs_code else ExitCode.OK)
