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

# configparser's default section: its keys are given to every section of the file.
DEFAULT_SECTION = "DEFAULT"

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


# Names that need no closer look (nearly all of them): asked first, for speed.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.@+=,:/-][A-Za-z0-9_.@+=,:/ -]*[A-Za-z0-9_.@+=,:/-]|\w")


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a section header mfa-tui writes, or None when it can.

    Refused is only what would break the file or read back as another name: `]`, line
    breaks, a leading `#` or `;` (a comment to many INI readers), blanks at either end
    (stripped by readers), an empty name. Spaces inside, quotes, non-ASCII are fine.
    """
    if _PLAIN_NAME.fullmatch(name):
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
