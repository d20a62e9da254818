"""`mfa-tui list`: every profile, its kind, where its session goes and its state."""

from __future__ import annotations

import argparse
import sys
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING

from mfa_tui import listing
from mfa_tui.aws.files import format_expiration
from mfa_tui.clock import SYSTEM_CLOCK
from mfa_tui.commands.common import load_world
from mfa_tui.core.gc_pause import gc_paused
from mfa_tui.core.status import ProfileStatus, all_statuses
from mfa_tui.errors import ExitCode

if TYPE_CHECKING:
    from mfa_tui.listing import Entry


def _js(value: str | None) -> str:
    return "null" if value is None else encode_basestring_ascii(value)


def entry_of(status: ProfileStatus) -> Entry:
    """A status as `list` prints it, minus what depends on the clock.

    The JSON object is written out here rather than by json.dumps on a dict: this is
    the `list --json` shape (no secret in it by construction), and at 5,000 profiles a
    dict and an encoder call each cost more than the parse of their lines.
    """
    expires = status.expires_at
    head = (
        f'{{"name": {_js(status.name)}, "kind": "{status.kind.value}", '
        f'"managed": {"true" if status.managed else "false"}, '
        f'"mfa_serial": {_js(status.mfa_serial)}, '
        f'"source_profile": {_js(status.source_profile)}, "role_arn": {_js(status.role_arn)}, '
        f'"session_profile": {_js(status.session_profile)}, '
        f'"expires_at": {_js(format_expiration(expires) if expires else None)}, "state": "'
    )
    tail = (
        f'", "chain": [{", ".join(map(encode_basestring_ascii, status.chain))}], '
        f'"region": {_js(status.region)}, "reason": {_js(status.reason)}, '
        f'"active": {"true" if status.active else "false"}}}'
    )
    mfa = status.mfa_serial.rsplit("/", 1)[-1] if status.mfa_serial else "-"
    note = "" if status.managed else (status.reason or "")
    return (
        expires.timestamp() if expires else None,
        status.refresh_margin,
        head,
        tail,
        (status.name, status.kind.value, mfa, status.session_profile or "-", note),
    )


def run(args: argparse.Namespace) -> int:
    # Taken before the files are read: a change while reading makes it stale, not wrong.
    key = listing.input_key()
    with gc_paused():  # tens of thousands of objects, all kept, none in a cycle
        profile_set, settings = load_world()
        now = SYSTEM_CLOCK.now()
        entries = [entry_of(s) for s in all_statuses(profile_set, settings, now)]
    empty = f"no profiles in {profile_set.paths.config} or {profile_set.paths.credentials}\n"
    sys.stdout.write(listing.render(entries, now.timestamp(), args.json, empty))
    listing.save(key, entries, profile_set.problems, empty)
    return int(ExitCode.OK)
