"""`mfa-tui totp set|remove|code PROFILE`: the soft-token seed in the OS keyring.

The seed is read from stdin or a hidden prompt, never from argv, where any user on the
machine could read it in the process list (and the shell keeps it in its history). It
is stored under the profile's MFA serial, so every profile of that user shares it.
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
        raise UsageError("no seed on stdin; pipe it in, or run in a terminal to be prompted")
    return seed


def run(args: argparse.Namespace) -> int:
    if getattr(args, "seed_in_argv", None):
        raise UsageError(
            "never put the seed on the command line: other users can see it in the process "
            "list and your shell keeps it in its history (clear it from there). Nothing was "
            f"stored; pipe it in instead: mfa-tui totp set {args.profile} < seed.txt, or run "
            "without it to be asked"
        )
    profile_set, settings = load_world()
    require_profile(profile_set, args.profile)
    from mfa_tui.core.sessions import SessionService

    service = SessionService(settings=settings)
    if args.totp_command == "set":
        seed = _read_seed()
        serial, code = service.devices.store_seed(args.profile, seed)
        print(
            f"seed for {serial} stored in the OS keyring; current code {code}: check that "
            "your device shows the same"
        )
        return int(ExitCode.OK)
    if args.totp_command == "remove":
        serial, removed = service.devices.remove_seed(args.profile)
        print(f"seed for {serial} {'removed from the keyring' if removed else 'was not stored'}")
        return int(ExitCode.OK)
    _serial, code, left = service.devices.current_code(args.profile)
    print(f"{code}  ({left}s left)" if sys.stdout.isatty() else code)
    return int(ExitCode.OK)
