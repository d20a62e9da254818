"""Profile names the way the AWS tools read them, and which ones mfa-tui can write.

botocore takes a credentials-file section name verbatim as a profile's name: `[my
profile]` is the profile `my profile`, `[開発 role]` is `開発 role`. A config-file header
is shell-split (`shlex.split`) into `profile` and one name: `[profile "my profile"]` and
`[profile 'my profile']` are the profile `my profile`, while `[profile team dev]` is
no profile at all, dropped without a word. So mfa-tui finds config sections by the
name botocore gives them, quotes a name when it writes a header, and writes any name
that reads back as itself; only what would break the file is refused.
"""

from __future__ import annotations

import re
import shlex

from mfa_tui.section_names import (
    DEFAULT_SECTION,
    is_safe_profile_name,
    name_problem,
    session_name_problem,
)

__all__ = [
    "DEFAULT_SECTION",
    "config_header_for",
    "config_profile_name",
    "is_safe_profile_name",
    "name_problem",
    "section_name",
    "session_name_problem",
    "why_not_a_profile",
]

_SHLEX_SPACE = re.compile(r"[ \t\r\n]+")  # shlex's whitespace, not str.split()'s
# What makes shlex do more than split on whitespace (escapes, quotes).
_SHLEX_SPECIAL = frozenset("\"'\\")
_NEEDS_QUOTES = frozenset(" \t\r\n\"'\\")
_ONE_WORD = re.compile(r"[^ \t\r\n\"'\\]+")


def config_profile_name(header: str) -> str | None:
    """The profile a config-file header names, as botocore reads it; None if none.

    `default`, and `profile NAME` (any header that starts with `profile`, as botocore
    checks, shell-split into exactly two words).
    """
    if header == "default":
        return "default"
    return section_name(header, "profile")


def section_name(header: str, prefix: str) -> str | None:
    """The NAME of a `[prefix NAME]` header (`profile`, `sso-session`, `services`) as
    botocore reads it: shell-split into exactly two words; None otherwise."""
    if not header.startswith(prefix):
        return None
    head, _, name = header.partition(" ")
    if head == prefix and _ONE_WORD.fullmatch(name):
        return name  # `profile NAME`, one space, nothing to unquote: the common case
    if _SHLEX_SPECIAL.isdisjoint(header):
        # No quoting or escaping: shlex would split on whitespace, only slower (it
        # dominates a 5,000-profile parse otherwise).
        parts = [p for p in _SHLEX_SPACE.split(header) if p]
        return parts[1] if len(parts) == 2 else None
    try:
        parts = shlex.split(header)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 else None


def why_not_a_profile(header: str) -> str | None:
    """For a `[profile ...]` header botocore drops, what is wrong and how to fix it."""
    if not header.startswith("profile") or config_profile_name(header) is not None:
        return None
    try:
        parts = shlex.split(header)
    except ValueError:
        return f"[{header}] has a quote that is not closed, so it is no profile for the AWS tools"
    if len(parts) < 2:
        return f"[{header}] names no profile; write [profile NAME]"
    name = " ".join(parts[1:])
    return (
        f"[{header}] is no profile for the AWS tools, which drop it without a word (a "
        f"name with a space must be quoted): write [{config_header_for(name)}] to make it "
        "a profile"
    )


def config_header_for(name: str) -> str:
    """The config-file header for profile `name`, quoted only when it must be.

    `[default]` for the default profile; `[profile NAME]`, with `"NAME"` when the name
    has blanks or quotes (as people write it, and the AWS CLI reads), else shell
    quoting; botocore reads every one of them back as `name`.
    """
    if name == "default":
        return "default"
    if _NEEDS_QUOTES.isdisjoint(name):
        return f"profile {name}"
    if '"' not in name and "\\" not in name:
        return f'profile "{name}"'
    return f"profile {shlex.quote(name)}"
