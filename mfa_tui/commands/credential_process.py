"""`mfa-tui credential-process PROFILE`: the JSON botocore's credential_process wants.

This runs before every AWS call of a profile configured with
`credential_process = mfa-tui credential-process NAME`, so its cached path reads the
credentials file and prints, importing neither boto3 nor keyring nor Textual (a test
measures it). botocore runs it again when the Expiration is under 15 minutes away, so
only a session with more than that left is served; otherwise it is refreshed without a
person when possible (a role from its user's session, a TOTP seed, a code_command), or
a running dashboard is asked to get the code, else it fails with exit code 3 and a
message on stderr (botocore shows it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from mfa_tui.commands.common import load_world, require_profile, say
from mfa_tui.core.session_store import stored_session
from mfa_tui.errors import ExitCode, MfaTuiError, NeedsCodeError

# Served only with more than this left; one definition shared with the cached fast path.
from mfa_tui.fastpath import MIN_SERVE_SECONDS
from mfa_tui.settings import Settings

# Below 10 minutes botocore refuses to go on without a refresh; above it, a stored
# session is still worth serving when no fresh one can be had.
MIN_USABLE_SECONDS = 10 * 60 + 60


def _caller() -> str:
    """The program that ran us (terraform, kubectl...), to tell the person who waits."""
    try:
        with open(f"/proc/{os.getppid()}/comm", encoding="utf-8") as fh:
            return fh.read().strip() or "a program"
    except OSError:
        return "a program"


def run(args: argparse.Namespace) -> int:
    profile_set, settings = load_world()
    require_profile(profile_set, args.profile)
    stored = stored_session(profile_set, settings, args.profile)
    if stored is not None and stored.seconds_left() > MIN_SERVE_SECONDS:
        creds = stored.to_process_json()
    else:
        try:
            creds = _fresh(args.profile, settings)
        except MfaTuiError as exc:
            # A session botocore can still use beats a failure: a network blip or a
            # code nobody can type now must not break a tool that has minutes left.
            if stored is None or stored.seconds_left() <= MIN_USABLE_SECONDS:
                raise
            left = int(stored.seconds_left()) // 60
            print(
                f"mfa-tui: serving the stored session ({left} min left): {exc.message}",
                file=sys.stderr,
            )
            creds = stored.to_process_json()
    json.dump(creds, sys.stdout)
    sys.stdout.write("\n")
    return int(ExitCode.OK)


def _fresh(name: str, settings: Settings) -> dict[str, Any]:
    """A session refreshed without a person here: by the agent, or silently by us."""
    from mfa_tui.core import agent

    if agent.ping() is not None:
        # The agent refreshes once for every caller and can ask the person for a code.
        answer = agent.request_session(
            name, min_valid=MIN_SERVE_SECONDS, wait=settings.agent_wait, caller=_caller()
        )
        return {"Version": 1, **answer}
    from mfa_tui.core.sessions import SessionService

    service = SessionService(settings=settings, announce=say)
    request = service.needs_code(name)
    if request is not None:
        raise NeedsCodeError(
            f"profile '{name}' needs an MFA code from {request.mfa_serial} and no mfa-tui "
            "dashboard is running to ask for it. Open 'mfa-tui' in a terminal (it asks "
            f"when a tool needs a code), run 'mfa-tui refresh {name}', or store the "
            f"device's seed with 'mfa-tui totp set {request.user}'"
        )
    service.refresh(name, min_valid=MIN_SERVE_SECONDS)
    fresh = service.credentials(name)
    if fresh is None:
        raise NeedsCodeError(f"no session could be had for '{name}'")
    return fresh.to_process_json()
