"""The order of the table's rows: pinned first, then by the chosen sort order.

`recent` puts the profiles switched to most and most lately first (frecency), the rest
as a tree (each user, then the roles assumed from it); `name`, `account` (alias, else
ID) and `left` (least time first) sort; `config` keeps the files' own order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from mfa_tui.core.picks import Picks
from mfa_tui.tui.model import RowState, tree_key

SORT_LABELS = {
    "recent": "recently used",
    "name": "name",
    "account": "account",
    "left": "time left",
    "config": "config order",
}
NEXT_SORT = dict(zip(SORT_LABELS, [*list(SORT_LABELS)[1:], "recent"], strict=True))


def ordered(rows: Sequence[RowState], sort: str, picks: Picks, now: datetime) -> list[RowState]:
    """`rows` (given in the files' order) in the order the table shows them."""
    unix = now.timestamp()
    pins = {name: i for i, name in enumerate(picks.pins)}
    position = {row.name: i for i, row in enumerate(rows)}

    def key(row: RowState) -> tuple[object, ...]:
        status = row.status
        pinned = (0, pins[row.name]) if row.name in pins else (1, 0)
        if sort == "name":
            rest: tuple[object, ...] = (status.name.casefold(),)
        elif sort == "account":
            account = (row.alias or status.account_id or "\uffff").casefold()
            rest = (account, status.name.casefold())
        elif sort == "left":
            left = status.expires_at.timestamp() - unix if status.expires_at else float("inf")
            rest = (0 if status.managed else 1, left, status.name.casefold())
        elif sort == "config":
            rest = (position[row.name],)
        else:
            rest = (-picks.score(row.name, unix), tree_key(status))
        return (*pinned, *rest)

    return sorted(rows, key=key)
