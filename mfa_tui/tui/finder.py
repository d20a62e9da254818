"""Finding a profile by what a person remembers of it: words, fuzzy, best match first.

Each row is known by its profile name, account ID, account alias, role name and source
user. A query is words; a row matches when every word is found in one of those, as a
substring or (fuzzily) as letters in order within one of them: `ml prod admin`,
`2727`, `1234-5678-9012` (the console's way to write an account ID) all find theirs.
Rows are ranked by how well each word matched (a whole word, the start of a word, a
substring, letters in order), ties kept in the order given.

It has to answer within a keystroke for 5,000 rows: the haystack of each row is built
once, a longer query searches only the rows the shorter one found, and recent answers
are kept for backspace.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Fields are joined with a separator no query word contains, so no match spans two.
SEP = "\x00"
_ACCOUNT_WITH_DASHES = re.compile(r"^\d{4}-\d{4}-\d{4}$")
_WORD_BOUNDARY = f"{SEP}-_/.:@+= "
WHOLE, START, INSIDE, SCATTERED = 8, 4, 2, 1
_MEMORY = 64


@dataclass(frozen=True)
class Searchable:
    """What a row can be found by (empty strings for what it does not have)."""

    name: str
    account_id: str = ""
    alias: str = ""
    role: str = ""
    source_user: str = ""

    def haystack(self) -> str:
        fields = (self.name, self.account_id, self.alias, self.role, self.source_user)
        return SEP + SEP.join(f.casefold() for f in fields) + SEP


def words_of(query: str) -> tuple[str, ...]:
    words = []
    for word in query.casefold().split():
        if _ACCOUNT_WITH_DASHES.fullmatch(word):
            word = word.replace("-", "")
        words.append(word)
    return tuple(words)


def _scattered(word: str) -> re.Pattern[str]:
    """Letters of `word` in order, within one field."""
    gap = f"[^{SEP}]*?"
    return re.compile(gap.join(re.escape(c) for c in word))


def _score(word: str, pattern: re.Pattern[str], hay: str) -> int:
    """How well `word` (whose scattered `pattern` is given) matches one row (0: not at
    all)."""
    at = hay.find(word)
    if at < 0:
        return SCATTERED if pattern.search(hay) else 0
    best = INSIDE
    while at >= 0:
        starts = hay[at - 1] in _WORD_BOUNDARY
        if starts:
            ends = hay[at + len(word)] in _WORD_BOUNDARY
            best = max(best, WHOLE if ends else START)
            if best == WHOLE:
                break
        at = hay.find(word, at + 1)
    return best


class Finder:
    """Matches queries against a fixed list of rows (rebuild it when the rows change)."""

    def __init__(self, rows: Sequence[Searchable]) -> None:
        self._hay = [row.haystack() for row in rows]
        self._memory: dict[tuple[str, ...], list[int]] = {}

    def __len__(self) -> int:
        return len(self._hay)

    def find(self, query: str) -> list[int]:
        """Indexes of the rows matching `query`, best first (all rows, in order, for an
        empty query)."""
        words = words_of(query)
        if not words:
            return list(range(len(self._hay)))
        found = self._memory.get(words)
        if found is not None:
            return found
        candidates = self._candidates(words)
        patterns = [(word, _scattered(word)) for word in words]
        scored = []
        for index in candidates:
            hay = self._hay[index]
            total = 0
            for word, pattern in patterns:
                score = _score(word, pattern, hay)
                if not score:
                    break
                total += score
            else:
                scored.append((-total, index))
        scored.sort()
        found = [index for _, index in scored]
        if len(self._memory) >= _MEMORY:
            self._memory.pop(next(iter(self._memory)))
        self._memory[words] = found
        return found

    def _candidates(self, words: tuple[str, ...]) -> Sequence[int]:
        """Rows worth scoring: those a query these words extend matched already (a row
        that misses `ab` cannot match `abc`), else every row that has each word's
        letters somewhere, found by C-speed substring and regex scans."""
        for known, rows in reversed(self._memory.items()):
            if _extends(words, known):
                return rows
        found: Sequence[int] = range(len(self._hay))
        for word in words:
            plain = [i for i in found if word in self._hay[i]]
            if len(plain) < len(found):
                pattern = _scattered(word)
                plain_set = set(plain)
                found = [i for i in found if i in plain_set or pattern.search(self._hay[i])]
        return found


def _extends(words: tuple[str, ...], known: tuple[str, ...]) -> bool:
    """True when every row matching `words` also matches `known`: each known word is
    one of `words` or is contained in the word at its place."""
    if len(known) > len(words):
        return False
    return all(old in new for old, new in zip(known, words, strict=False))
