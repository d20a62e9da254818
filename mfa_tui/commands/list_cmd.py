"""`mfa-tui list`: every profile, its kind, where its session goes and its state."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from mfa_tui import listing
from mfa_tui.clock import SYSTEM_CLOCK
from mfa_tui.commands.common import load_world
from mfa_tui.core.status import ProfileStatus, all_statuses
from mfa_tui.errors import ExitCode

if TYPE_CHECKING:
    from mfa_tui.listing import Entry

# The two JSON parts around the state, which the renderer fills in at print time.
_HEAD_KEYS = (
    *("name", "kind", "managed", "mfa_serial", "source_profile", "role_arn"),
    *("session_profile", "expires_at"),
)


def entry_of(status: ProfileStatus) -> Entry:
    """A status as `list` prints it, minus what depends on the clock."""
    fields = status.to_json()
    head = {k: fields.pop(k) for k in _HEAD_KEYS}
    del fields["state"]
    mfa = status.mfa_serial.rsplit("/", 1)[-1] if status.mfa_serial else "-"
    note = "" if status.managed else (status.reason or "")
    return (
        status.expires_at.timestamp() if status.expires_at else None,
        status.refresh_margin,
        json.dumps(head)[:-1] + ', "state": "',
        '", ' + json.dumps(fields)[1:],
        (status.name, status.kind.value, mfa, status.session_profile or "-", note),
    )


def run(args: argparse.Namespace) -> int:
    # Taken before the files are read: a change while reading makes it stale, not wrong.
    key = listing.input_key()
    profile_set, settings = load_world()
    now = SYSTEM_CLOCK.now()
    entries = [entry_of(s) for s in all_statuses(profile_set, settings, now)]
    empty = f"no profiles in {profile_set.paths.config} or {profile_set.paths.credentials}\n"
    sys.stdout.write(listing.render(entries, now.timestamp(), args.json, empty))
    listing.save(key, entries, profile_set.problems, empty)
    return int(ExitCode.OK)
