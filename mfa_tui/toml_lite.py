"""The plain TOML a settings file is made of, read with `str` methods alone.

`tomllib` costs twice Python's own start-up to import (it brings `re`, `typing`,
`datetime`): more than the whole cached `credential-process` answer may take. Settings
files are a few lines of `key = value` under `[profiles."NAME"]` tables, so the cached
paths read that much TOML here and leave everything else to tomllib on the full path.

The promise is one-sided and tested against tomllib (tests/test_toml_lite.py): when
`loads` returns a table, tomllib returns the same table; whenever tomllib would refuse
the text, `loads` returns None. None also means "beyond this subset": escapes,
multi-line strings, arrays, inline tables, dotted keys, dates, hex numbers, exponents,
a table defined after its sub-table. Nothing is guessed.
"""

from __future__ import annotations

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_DIGITS = frozenset("0123456789")
# TOML allows no control character but tab anywhere in a file (outside line breaks).
_CONTROL = frozenset([*map(chr, range(0x20)), "\x7f"]) - {"\t"}
_SPACE = " \t"

# Not `typing.TYPE_CHECKING`: importing typing would cost the cached paths dearly.
TYPE_CHECKING = False
if TYPE_CHECKING:
    Table = dict[str, object]


def _key(line: str, at: int) -> tuple[str, int] | None:
    """One key (bare, "basic" without escapes, or 'literal') at `at`, and where it ends."""
    if at >= len(line):
        return None
    quote = line[at]
    if quote in "\"'":
        end = line.find(quote, at + 1)
        if end < 0:
            return None
        text = line[at + 1 : end]
        if quote == '"' and "\\" in text:
            return None
        return text, end + 1
    end = at
    while end < len(line) and line[end] in _BARE:
        end += 1
    return (line[at:end], end) if end > at else None


def _skip_space(line: str, at: int) -> int:
    while at < len(line) and line[at] in _SPACE:
        at += 1
    return at


def _rest_is_empty(line: str, at: int) -> bool:
    """Whether only blanks and a comment follow `at`."""
    at = _skip_space(line, at)
    return at == len(line) or line[at] == "#"


def _integer(text: str) -> int | None:
    digits = text[1:] if text[:1] in "+-" else text
    if not digits or (digits[0] == "0" and len(digits) > 1):
        return None  # leading zeros are not TOML
    groups = digits.split("_")
    if not all(group and set(group) <= _DIGITS for group in groups):
        return None  # one underscore between two digits only
    return int(text.replace("_", ""))


def _float(text: str) -> float | None:
    whole, dot, fraction = text.partition(".")
    if not dot or _integer(whole) is None or "_" in whole:
        return None
    if not fraction or not set(fraction) <= _DIGITS:
        return None
    return float(text)


def _value(line: str, at: int) -> object | None:
    """The value at `at` if it is one this subset reads and nothing but a comment follows."""
    if at >= len(line):
        return None
    quote = line[at]
    if quote in "\"'":
        if line.startswith(quote * 3, at):
            return None  # multi-line strings
        end = line.find(quote, at + 1)
        if end < 0 or not _rest_is_empty(line, end + 1):
            return None
        text = line[at + 1 : end]
        if quote == '"' and "\\" in text:
            return None
        return text
    word, _, _ = line[at:].partition("#")
    word = word.rstrip(_SPACE)
    if word == "true":
        return True
    if word == "false":
        return False
    if word[:1] in ("+", "-", *_DIGITS):
        return _float(word) if "." in word else _integer(word)
    return None


def _header(line: str, at: int) -> list[str] | None:
    """The keys of a `[table]` header starting at `at` (just after the bracket)."""
    if line.startswith("[", at):
        return None  # an array of tables
    keys: list[str] = []
    while True:
        found = _key(line, _skip_space(line, at))
        if found is None:
            return None
        keys.append(found[0])
        at = _skip_space(line, found[1])
        if line.startswith("]", at):
            return keys if _rest_is_empty(line, at + 1) else None
        if not line.startswith(".", at):
            return None
        at += 1


def _open_table(root: Table, keys: list[str]) -> Table | None:
    """The new table a header names, creating the tables on its way; None if TOML would
    refuse it, or if it redefines a table already there (allowed only sometimes)."""
    table = root
    for key in keys[:-1]:
        inner = table.setdefault(key, {})
        if not isinstance(inner, dict):
            return None
        table = inner
    if keys[-1] in table:
        return None
    new: Table = {}
    table[keys[-1]] = new
    return new


def loads(text: str) -> Table | None:
    """The table `tomllib.loads(text)` gives, or None when the text is not plain TOML."""
    if text.startswith("\ufeff"):
        return None
    root: Table = {}
    table = root
    # CRLF ends a line as LF does; any other carriage return is refused below.
    for line in text.replace("\r\n", "\n").split("\n"):
        if not _CONTROL.isdisjoint(line):
            return None
        at = _skip_space(line, 0)
        if at == len(line) or line[at] == "#":
            continue
        if line[at] == "[":
            keys = _header(line, at + 1)
            opened = None if keys is None else _open_table(root, keys)
            if opened is None:
                return None
            table = opened
            continue
        found = _key(line, at)
        if found is None:
            return None
        key, at = found
        at = _skip_space(line, at)
        if not line.startswith("=", at) or key in table:
            return None  # a dotted key, no `=`, or a key defined twice
        value = _value(line, _skip_space(line, at + 1))
        if value is None:
            return None
        table[key] = value
    return root
