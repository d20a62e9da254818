"""`mfa-tui credential-process PROFILE`: the JSON botocore's credential_process wants.

This runs before every AWS call of a profile configured with
`credential_process = mfa-tui credential-process NAME`, so its cached answer comes from
mfa_tui/fastpath.py before this module is even imported. Here is the rest: the engine's
door serves a session with more than botocore's 15 minutes left (a running dashboard
gets it for every caller at once and asks its person for a code; else it is refreshed
here without a person, or this fails with exit code 3 and a message on stderr, which
botocore shows).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from mfa_tui.commands.common import load_world, require_profile, say_waits
from mfa_tui.errors import ExitCode

# Served only with more than this left; one definition shared with the cached fast path.
from mfa_tui.fastpath import MIN_SERVE_SECONDS

# Below 10 minutes botocore refuses to go on without a refresh; above it, a stored
# session is still worth serving when no fresh one can be had.
MIN_USABLE_SECONDS = 10 * 60 + 60

__all__ = ["MIN_SERVE_SECONDS", "MIN_USABLE_SECONDS", "run"]


# Where Linux tells a process's name; macOS has no /proc, and `ps` tells it there.
PROC = "/proc"


def _caller() -> str:
    """The program that ran us (terraform, kubectl...), to tell the person who waits."""
    parent = os.getppid()
    try:
        with open(f"{PROC}/{parent}/comm", encoding="utf-8") as fh:
            return fh.read().strip() or "a program"
    except OSError:
        pass
    try:
        done = subprocess.run(
            ["ps", "-o", "comm=", "-p", str(parent)],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "a program"
    # macOS's ps prints the program's path: its name is what a person recognises.
    return os.path.basename(done.stdout.strip()) or "a program"


def run(args: argparse.Namespace) -> int:
    profile_set, settings = load_world()
    require_profile(profile_set, args.profile)
    from mfa_tui.core.asking import AgentAsker
    from mfa_tui.core.sessions import SessionService

    service = SessionService(
        settings=settings, asker=say_waits(AgentAsker(_caller(), settings.agent_wait))
    )
    served = service.serve(args.profile, min_valid=MIN_SERVE_SECONDS, usable=MIN_USABLE_SECONDS)
    if served.note:
        # A session botocore can still use beats a failure: a network blip or a code
        # nobody can type now must not break a tool that has minutes left.
        print(f"mfa-tui: {served.note}", file=sys.stderr)
    json.dump(served.session.to_process_json(), sys.stdout)
    sys.stdout.write("\n")
    return int(ExitCode.OK)
