"""`mfa-tui totp set|remove|code PROFILE`: the soft-token seed in the OS keyring.

The seed is read from stdin or a hidden prompt, never from argv, where any user on the
machine could read it in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from mfa_tui.commands.common import load_world, require_profile
from mfa_tui.errors import ExitCode, UsageError


def _read_seed() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Base32 seed (the 'secret key' of the virtual MFA device): ")
    seed = sys.stdin.readline().strip()
    if not seed:
        raise UsageError("no seed on stdin; pipe it in or run in a terminal to be prompted")
    return seed


def run(args: argparse.Namespace) -> int:
    profile_set, settings = load_world()
    require_profile(profile_set, args.profile)
    from mfa_tui.core.codes import totp_at
    from mfa_tui.core.sessions import SessionService

    service = SessionService(settings=settings)
    profile = service.profile(args.profile)
    if args.totp_command == "set":
        serial, code = service.store_seed(args.profile, _read_seed())
        print(
            f"seed for {serial} stored in the OS keyring; current code {code} — check it "
            "matches your device"
        )
        return int(ExitCode.OK)
    found = service.mfa_serial_for(profile)
    if found is None:
        raise UsageError(
            f"profile '{args.profile}' has no mfa_serial (run 'mfa-tui refresh "
            f"{args.profile} --save-serial' once to find it)"
        )
    serial = found
    if args.totp_command == "remove":
        removed = service.seeds.remove(serial)
        print(f"seed for {serial} {'removed' if removed else 'was not stored'}")
        return int(ExitCode.OK)
    seed = service.seeds.get(serial)
    if seed is None:
        raise UsageError(f"no seed stored for {serial}; run 'mfa-tui totp set {args.profile}'")
    code, _step = totp_at(seed, service.clock.time())
    left = 30 - int(service.clock.time()) % 30
    print(f"{code}  ({left}s left)" if sys.stdout.isatty() else code)
    return int(ExitCode.OK)
