"""Which names mfa-tui can write as a section header: one rule for every path.

botocore takes a credentials-file section name verbatim as a profile's name (`[my
profile]` is the profile `my profile`, `[開発 role]` is `開発 role`), so any name that
reads back as itself can be written; only what would break the file is refused. The
settings (on the full and on the cached paths alike) and the writer ask the same
functions. Standard library core only, without `re` (the cached paths import this).
"""

from __future__ import annotations

# configparser's default section: its keys are given to every section of the file.
DEFAULT_SECTION = "DEFAULT"

# Names that need no closer look (nearly all of them): asked first, for speed.
_PLAIN_EDGE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@+=,:/-")
_PLAIN_INSIDE = _PLAIN_EDGE | {" "}


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a section header mfa-tui writes, or None when it can.

    Refused is only what would break the file or read back as another name: `]`, line
    breaks, a leading `#` or `;` (a comment to many INI readers), blanks at either end
    (stripped by readers), an empty name. Spaces inside, quotes, non-ASCII are fine.
    """
    plain = name and name[0] in _PLAIN_EDGE and name[-1] in _PLAIN_EDGE
    if plain and _PLAIN_INSIDE.issuperset(name):
        return None
    if not name:
        return "it is empty"
    if "]" in name:
        return "it has a ']', which ends a section header"
    if len(f"a{name}b".splitlines()) > 1:
        return "it has a line break"
    if name != name.strip():
        return "it starts or ends with a blank, which the AWS tools strip"
    if name[0] in "#;":
        return f"it starts with '{name[0]}', which starts a comment"
    return None


def session_name_problem(name: str) -> str | None:
    """Why `name` cannot be a credentials section mfa-tui writes a session into.

    `name_problem`, and `DEFAULT`: configparser gives that section's keys to every
    profile of the file, so a session there would be attached to all of them.
    """
    if name == DEFAULT_SECTION:
        return "[DEFAULT] is special to the AWS tools: its keys go into every profile of the file"
    return name_problem(name)


def is_safe_profile_name(name: str) -> bool:
    """True when `name` can be written as a session section header (see above)."""
    return session_name_problem(name) is None


def pattern_problem(pattern: str) -> str | None:
    """Why `session_profile_pattern` cannot name session profiles, or None."""
    if "{profile}" not in pattern:
        return "it has no '{profile}', so every profile would share one session profile"
    rest = pattern.replace("{profile}", "")
    if "{" in rest or "}" in rest:
        return "'{profile}' is the only place holder it may have"
    if pattern == "{profile}":
        return "the session profile would be the profile itself, with its own keys"
    return session_name_problem(pattern.replace("{profile}", "p"))
