"""`mfa-tui list`: every profile, its kind, where its session goes and its state."""

from __future__ import annotations

import sys

try:  # the C function json.encoder uses, without importing the json package
    from _json import encode_basestring_ascii
except ImportError:  # pragma: no cover - not CPython
    from json.encoder import encode_basestring_ascii

from mfa_tui import listing
from mfa_tui.aws.files import format_expiration
from mfa_tui.clock import SYSTEM_CLOCK
from mfa_tui.commands.common import load_world
from mfa_tui.core.gc_pause import gc_paused
from mfa_tui.core.key_ages import read_key_ages
from mfa_tui.core.status import ProfileStatus, all_statuses
from mfa_tui.errors import ExitCode

# Not typing.TYPE_CHECKING: importing typing costs this command more than it is worth.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

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
    kind = str(status.kind)  # a StrEnum's str is its value, without the enum machinery
    notes = status.notes
    if status.managed:
        note = "; ".join(notes) if notes else ""
    else:
        note = "; ".join(dict.fromkeys(n for n in (status.reason or "", *notes) if n))
    head = (
        f'{{"name": {encode_basestring_ascii(status.name)}, "kind": "{kind}", '
        f'"managed": {"true" if status.managed else "false"}, '
        f'"mfa_serial": {_js(status.mfa_serial)}, '
        f'"source_profile": {_js(status.source_profile)}, "role_arn": {_js(status.role_arn)}, '
        f'"session_profile": {_js(status.session_profile)}, '
        f'"expires_at": {_js(format_expiration(expires) if expires else None)}, "state": "'
    )
    keys = status.key_source
    created = status.key_created
    tail = (
        f'", "chain": [{", ".join(map(encode_basestring_ascii, status.chain))}], '
        f'"region": {_js(status.region)}, "reason": {_js(status.reason)}, '
        f'"active": {"true" if status.active else "false"}, '
        f'"notes": [{", ".join(map(encode_basestring_ascii, notes))}], '
        f'"keys": {_js(str(keys) if keys else None)}, '
        f'"key_created": {_js(format_expiration(created) if created else None)}'
    )
    mfa = status.mfa_serial.rsplit("/", 1)[-1] if status.mfa_serial else "-"
    return (
        expires.timestamp() if expires else None,
        status.refresh_margin,
        head,
        tail,
        (status.name, kind, str(keys) if keys else "-", mfa, status.session_profile or "-", note),
        created.timestamp() if created else None,
    )


def run(args: argparse.Namespace) -> int:
    # Taken before the files are read: a change while reading makes it stale, not wrong.
    key = listing.input_key()
    with gc_paused():  # tens of thousands of objects, all kept, none in a cycle
        profile_set, settings = load_world()
        now = SYSTEM_CLOCK.now()
        ages = read_key_ages()
        entries = [entry_of(s) for s in all_statuses(profile_set, settings, now, ages)]
    empty = f"no profiles in {profile_set.paths.config} or {profile_set.paths.credentials}\n"
    sys.stdout.write(listing.render(entries, now.timestamp(), args.json, empty))
    if not profile_set.depends_on_system:
        # A note about this computer (a credential_process program not installed) must
        # be looked at again next time, not served while only the files stay the same.
        not_kept = listing.save(key, entries, profile_set.problems, empty)
        if not_kept is not None:
            print(listing.WARNING.format(not_kept), file=sys.stderr)
    return int(ExitCode.OK)
