"""`mfa-tui list`: every profile, its kind, where its session goes and its state."""

from __future__ import annotations

import argparse
import json
import sys

from mfa_tui.clock import SYSTEM_CLOCK
from mfa_tui.commands.common import load_world
from mfa_tui.core.status import ProfileStatus, all_statuses, human_left
from mfa_tui.errors import ExitCode


def _left(status: ProfileStatus, now_ts: float) -> str:
    if status.expires_at is None:
        return "-"
    seconds = int(status.expires_at.timestamp() - now_ts)
    return "expired" if seconds <= 0 else human_left(seconds)


def run(args: argparse.Namespace) -> int:
    profile_set, settings = load_world()
    now = SYSTEM_CLOCK.now()
    statuses = all_statuses(profile_set, settings, now)
    out = sys.stdout
    if args.json:
        # One object a line: readable, and json's C encoder (indent= would use the
        # pure-Python one, the slowest part of a 5,000-profile listing).
        objects = ",\n  ".join(json.dumps(s.to_json()) for s in statuses)
        out.write(f"[\n  {objects}\n]\n" if statuses else "[]\n")
        return int(ExitCode.OK)
    if not statuses:
        out.write(f"no profiles in {profile_set.paths.config} or {profile_set.paths.credentials}\n")
        return int(ExitCode.OK)
    rows = [("PROFILE", "KIND", "MFA", "SESSION PROFILE", "STATE", "LEFT", "NOTE")]
    for s in statuses:
        mfa = s.mfa_serial.rsplit("/", 1)[-1] if s.mfa_serial else "-"
        note = s.reason or ""
        rows.append(
            (
                s.name,
                s.kind.value,
                mfa,
                s.session_profile or "-",
                s.state.value,
                _left(s, now.timestamp()),
                note if not s.managed else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        out.write(("  ".join(cells) + "  " + row[-1]).rstrip() + "\n")
    return int(ExitCode.OK)
