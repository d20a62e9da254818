"""Account aliases for the dashboard: looked up with sessions that exist, and cached.

For each account the files name, an alias is asked of IAM (aws/accounts.py) with a
session mfa-tui already holds for a profile in that account, in a background worker,
never with long-term keys and never at the cost of a code. Answers are kept in the
state folder (`accounts.json`: IDs, aliases and when they were asked; no credentials):
an alias for a week, "no alias" or "not allowed" for a day; a network failure is not
kept, and stops the round (the next look-up tries again).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mfa_tui.aws.files import Kind, ProfileSet
from mfa_tui.clock import Clock
from mfa_tui.core.state_file import JsonState, state_path
from mfa_tui.core.status import ProfileStatus
from mfa_tui.core.store import stored_session
from mfa_tui.errors import MfaTuiError, NetworkError
from mfa_tui.settings import Settings

ACCOUNTS_FILE = "accounts.json"
ALIAS_KEEP = 7 * 86_400.0
NO_ALIAS_KEEP = 86_400.0
# A session with less than this left is not used to ask (it may end mid-call).
MIN_LEFT = 60.0


@dataclass
class AliasCache:
    """Account ID -> (alias or None, unix time asked)."""

    entries: dict[str, tuple[str | None, float]] = field(default_factory=dict)

    @staticmethod
    def _file(folder: Path | None) -> JsonState:
        return JsonState(state_path(ACCOUNTS_FILE, folder), ("accounts",), "account aliases")

    @classmethod
    def load(cls, folder: Path | None = None) -> AliasCache:
        cache = cls()
        for account_id, entry in cls._file(folder).read_convenience()["accounts"].items():
            if not (isinstance(account_id, str) and isinstance(entry, dict)):
                continue
            alias, asked = entry.get("alias"), entry.get("asked")
            if isinstance(asked, int | float) and (alias is None or isinstance(alias, str)):
                cache.entries[account_id] = (alias, float(asked))
        return cache

    def save(self, folder: Path | None = None) -> None:
        data: dict[str, Any] = {
            "version": 1,
            "accounts": {
                account_id: {"alias": alias, "asked": asked}
                for account_id, (alias, asked) in sorted(self.entries.items())
            },
        }
        self._file(folder).replace(data)

    def known(self) -> dict[str, str]:
        return {account_id: alias for account_id, (alias, _) in self.entries.items() if alias}

    def fresh(self, account_id: str, now: float) -> bool:
        """An answer recent enough not to ask again."""
        entry = self.entries.get(account_id)
        if entry is None:
            return False
        alias, asked = entry
        return 0 <= now - asked < (ALIAS_KEEP if alias else NO_ALIAS_KEEP)


def session_for_account(
    account_id: str,
    statuses: Iterable[ProfileStatus],
    profile_set: ProfileSet,
    settings: Settings,
    now: datetime,
) -> tuple[str, Any] | None:
    """(profile, its stored session as sts.Credentials) acting in `account_id`, roles
    before users, the one with most time left; None when no session exists there."""

    best: tuple[float, int, str, Any] | None = None
    for status in statuses:
        if status.account_id != account_id or not status.managed:
            continue
        stored = stored_session(profile_set, settings, status.name, now)
        if stored is None:
            continue
        left = stored.seconds_left(now)
        if left <= MIN_LEFT:
            continue
        rank = (left, 1 if status.kind is Kind.ROLE else 0, status.name, stored)
        if best is None or rank[:2] > best[:2]:
            best = rank
    if best is None:
        return None
    _, _, name, stored = best
    return name, stored.signing()


def look_up_aliases(
    statuses: list[ProfileStatus],
    account_ids: set[str],
    profile_set: ProfileSet,
    settings: Settings,
    clock: Clock,
    folder: Path | None = None,
) -> dict[str, str]:
    """Ask IAM for the alias of each account in `account_ids` that the cache has no
    recent answer for and that a session exists in; returns every alias known."""
    from mfa_tui.aws.accounts import AliasesDeniedError, list_account_aliases
    from mfa_tui.aws.connection import connection_for

    cache = AliasCache.load(folder)
    now = clock.now()
    asked_any = False
    for account_id in sorted(account_ids):
        if cache.fresh(account_id, now.timestamp()):
            continue
        found = session_for_account(account_id, statuses, profile_set, settings, now)
        if found is None:
            continue
        name, creds = found
        try:
            aliases = list_account_aliases(name, creds, connection_for(profile_set, name))
        except AliasesDeniedError:
            aliases = []
        except NetworkError:
            break  # no network: the next look-up tries again
        except MfaTuiError:
            continue  # this session is refused (revoked, expired early): try another time
        cache.entries[account_id] = (aliases[0] if aliases else None, now.timestamp())
        asked_any = True
    if asked_any:
        cache.save(folder)
    return cache.known()
