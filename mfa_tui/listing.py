"""`mfa-tui list`'s output, and the cache that lets a repeated `list` skip the parse.

People and scripts run `list` far more often than they edit their AWS files, and on a
5,000-profile setup parsing the two files is most of its time. So the full command
renders every profile into an `Entry` — everything but the state and the time left,
which depend on the clock — and keeps the entries in a small cache keyed by what they
were built from: both AWS files and the settings file (path, device, inode, size,
mtime, ctime, mode), the mfa-tui version and the Python version. The next `list` with the
same key renders from the cache with nothing but the standard library's core: no
argparse, no dataclasses, no INI model (see `cached_listing`, called by `__main__`).

One renderer serves both paths, so their output is the same bytes. The cache holds
what `list` prints and nothing more: no secret is ever in it. It is written only when
every input has been still for `STILL_SECONDS`: a file rewritten twice within one
timestamp tick at the same size would otherwise look unchanged (git's "racy" files).
"""

from __future__ import annotations

import marshal
import os
import sys
import time

from mfa_tui import locations, private_files
from mfa_tui.bounded_read import MAX_FILE_BYTES
from mfa_tui.expiry import EXPIRED, human_left, state_at

# Not `typing.TYPE_CHECKING`: importing typing would cost this path half its time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    # One profile's line of `list`, minus what depends on the clock: (Unix time its
    # session ends or None, seconds before that at which it counts as expiring, its
    # JSON object up to the state's value, the rest of it after the state up to the
    # key's age, the table's cells: name, kind, keys, MFA device, session profile, note;
    # and the Unix time its access key was made, or None).
    Entry = tuple[float | None, float, str, str, tuple[str, str, str, str, str, str], float | None]

# Bumped whenever Entry or the rendering changes, so an old cache is never read.
FORMAT = 3
STILL_SECONDS = 2.0
CACHE_NAME = "list.cache"
# Entries for two AWS files at their size limit, with room for the JSON they render to.
CACHE_LIMIT = 4 * MAX_FILE_BYTES
WARNING = "mfa-tui: warning: {}"
TABLE_HEADER = ("PROFILE", "KIND", "KEYS", "MFA", "SESSION PROFILE", "STATE", "LEFT")
# Where the keys' ages are kept (core/key_ages.py writes it): `list` shows them.
AGES_FILE = "key_ages.json"
# From this many days an access key is due for rotation (core/key_ages.py, which the
# full paths use; this module may import nothing of theirs).
ROTATE_AFTER_DAYS = 90
DAY = 86_400


def key_age(created: float | None, now: float) -> tuple[int | None, bool]:
    """(whole days since the key was made, whether it is due for rotation)."""
    if created is None:
        return None, False
    days = max(0, int((now - created) // DAY))
    return days, days >= ROTATE_AFTER_DAYS


def render(entries: list[Entry], now: float, as_json: bool, empty: str) -> str:
    """What `list` (or `list --json`) prints for these entries at time `now`."""
    if as_json:
        if not entries:
            return "[]\n"
        # One object a line: readable, and no pretty-printer in the way of speed.
        objects = ",\n  ".join(
            f"{head}{state_at(expires, now, margin)}{tail}{_age_json(created, now)}"
            for expires, margin, head, tail, _, created in entries
        )
        return f"[\n  {objects}\n]\n"
    if not entries:
        return empty
    rows: list[tuple[str, ...]] = [TABLE_HEADER]
    notes = ["NOTE"]
    for expires, margin, _, _, cells, created in entries:
        name, kind, keys, mfa, session_profile, note = cells
        state = state_at(expires, now, margin)
        if expires is None:
            left = "-"
        else:
            left = "expired" if state == EXPIRED else human_left(expires - now)
        days, rotate = key_age(created, now)
        if days is not None:
            keys = f"{keys} {days}d rotate" if rotate else f"{keys} {days}d"
        rows.append((name, kind, keys, mfa, session_profile, state, left))
        notes.append(note)
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEADER))]
    lines = [
        ("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + "  " + note).rstrip()
        for row, note in zip(rows, notes, strict=True)
    ]
    return "\n".join(lines) + "\n"


def _age_json(created: float | None, now: float) -> str:
    days, rotate = key_age(created, now)
    return (
        f', "key_age_days": {"null" if days is None else days}, '
        f'"rotate": {"true" if rotate else "false"}}}'
    )


# --- the cache ---------------------------------------------------------------------


Signature = tuple[object, ...]


def _signature(path: str) -> Signature:
    try:
        st = os.stat(path)
    except OSError as exc:
        return (path, exc.errno)
    return (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)


def input_key() -> tuple[object, ...] | None:
    """What a listing is built from, as cheap `stat` facts; None where no cache is kept."""
    settings, cache = locations.settings_file(), locations.cache_dir()
    ages = locations.state_file(AGES_FILE)
    if settings is None or cache is None or ages is None:
        return None
    from mfa_tui import __version__

    config, creds = locations.aws_files()
    return (
        FORMAT,
        __version__,
        sys.hexversion,
        _signature(config),
        _signature(creds),
        _signature(settings),
        _signature(ages),
    )


def _still(key: tuple[object, ...], now_ns: int) -> bool:
    """Whether every input last changed more than STILL_SECONDS ago."""
    for sig in key[3:]:
        if isinstance(sig, tuple) and len(sig) == 7:
            changed = max(v for v in sig[4:6] if isinstance(v, int))
            if now_ns - changed < STILL_SECONDS * 1_000_000_000:
                return False
    return True


def save(
    key: tuple[object, ...] | None, entries: list[Entry], problems: list[str], empty: str
) -> str | None:
    """Keep a listing for the next `list`, if its inputs are still; never fails the command.

    `key` must have been taken before the files were read: if they changed while being
    read, the key no longer matches them and the cache is simply not used. Returns a
    warning when the cache folder is one another user could change (nothing is kept).
    """
    folder = locations.cache_dir()
    if key is None or folder is None or key != input_key() or not _still(key, time.time_ns()):
        return None
    data = marshal.dumps((key, problems, empty, entries))  # type: ignore[arg-type]
    try:
        private_files.write_private(os.path.join(folder, CACHE_NAME), data, durable=False)
    except private_files.UnsafePathError as exc:
        return f"the list cache is not kept (each list parses the files): {exc}"
    except OSError:
        return None  # a read-only or full cache folder only costs speed
    return None


def cached_listing(as_json: bool, now: float | None = None) -> tuple[str, list[str]] | None:
    """(what `list` prints, warnings) from the cache, or None when it must be rebuilt."""
    if os.environ.get("MFA_TUI_NO_FASTPATH"):
        return None
    key, folder = input_key(), locations.cache_dir()
    if key is None or folder is None:
        return None
    try:
        # Only a file we wrote ourselves, that nobody else can change, and not a link.
        raw = private_files.read_private(os.path.join(folder, CACHE_NAME), CACHE_LIMIT)
        if raw is None:
            return None
        # marshal, not json: json's import alone costs more than this whole path.
        # It reads only our own private file (checked above) and runs nothing.
        stored_key, problems, empty, entries = marshal.loads(raw)  # noqa: S302
        if stored_key != key:
            return None
    except (OSError, ValueError, TypeError, EOFError):
        return None  # missing, unreadable or not ours: the full command rebuilds it
    when = time.time() if now is None else now
    return render(entries, when, as_json, empty), list(problems)
