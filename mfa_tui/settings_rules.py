"""The rules a settings file must follow, over plain values: one set for every path.

The full commands read the file with tomllib and build `Settings` (settings.py) from
what `validate` returns. The cached paths (`credential-process`, and any command that
must answer in about Python's start-up time) read it with `toml_lite` (`read_checked`)
and use the same checked values as they are, since dataclasses and typing alone would
cost them more than their whole answer. So a rule written here holds on both paths:

- a rule about one value: its type and range in TOP_KEYS / PROFILE_KEYS, anything more
  in `_problem`;
- a rule about a profile name mfa-tui writes: mfa_tui/section_names.py (the writer
  asks the same);
- a rule across values (say, two profiles sharing one session profile): in `validate`,
  after the loop, over the checked values.

A file that breaks a rule is never served from on a cached path: it goes the long way,
where the full command says what is wrong. Only the standard library's core is
imported here (tests/test_fastpath.py checks what the cached answer imports).
"""

from __future__ import annotations

from mfa_tui import private_files, toml_lite
from mfa_tui.bounded_read import read_file
from mfa_tui.section_names import pattern_problem, session_name_problem

# Not `typing.TYPE_CHECKING`: importing typing would cost the cached paths dearly.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    # (default, the types a value may have, (low, high) or None, what is allowed in words)
    Spec = tuple[Any, tuple[type, ...], tuple[float, float] | None, str]

GET_SESSION_TOKEN_MIN = 900
GET_SESSION_TOKEN_MAX = 129_600
ASSUME_ROLE_MIN = 900
ASSUME_ROLE_MAX = 43_200

DEFAULT_SESSION_PATTERN = "{profile}-mfa"
DEFAULT_ACTIVE_PROFILE = "mfa-tui"

# How the dashboard orders its rows: recently used first (frecency), by name, by
# account, by time left, or as the config file lists them.
SORT_ORDERS = ("recent", "name", "account", "left", "config")
# A theme's name as Textual spells them (lower case, digits, - and _): 1-64 of them.
_THEME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")

_USER_SECONDS = (GET_SESSION_TOKEN_MIN, GET_SESSION_TOKEN_MAX)
_CODE_COMMAND = "a shell command that prints a 6-digit code"

TOP_KEYS: dict[str, Spec] = {
    "session_profile_pattern": (
        DEFAULT_SESSION_PATTERN,
        (str,),
        None,
        "a name containing '{profile}', e.g. '{profile}-mfa'",
    ),
    "active_profile": (
        DEFAULT_ACTIVE_PROFILE,
        (str,),
        None,
        "a credentials profile name, e.g. 'mfa-tui'",
    ),
    "user_duration": (43_200, (int,), _USER_SECONDS, "seconds, {}..{}"),
    "role_duration": (3_600, (int,), (ASSUME_ROLE_MIN, ASSUME_ROLE_MAX), "seconds, {}..{}"),
    "user_refresh_margin": (600, (int,), (0, 86_400), "seconds before expiry, {}..{}"),
    "role_refresh_margin": (300, (int,), (0, 86_400), "seconds before expiry, {}..{}"),
    "auto_refresh": (True, (bool,), None, "true or false"),
    "code_command": (None, (str,), None, _CODE_COMMAND),
    "code_command_timeout": (30.0, (int, float), (1, 600), "seconds, {}..{}"),
    "credential_process_timeout": (60.0, (int, float), (1, 600), "seconds, {}..{}"),
    "agent_wait": (120.0, (int, float), (1, 3_600), "seconds, {}..{}"),
    "desktop_notifications": (True, (bool,), None, "true or false"),
    "theme": (
        None,
        (str,),
        None,
        "a dashboard theme name, e.g. 'nord' (ctrl+p → theme lists them)",
    ),
    "sort_order": ("recent", (str,), None, ", ".join(repr(o) for o in SORT_ORDERS)),
}
# Per-profile overrides ([profiles."NAME"]); their default None means "the global one".
PROFILE_KEYS: dict[str, Spec] = {
    "session_profile": (None, (str,), None, "a credentials profile name"),
    "duration": (None, (int,), _USER_SECONDS, "seconds, {}..{}"),
    "auto_refresh": (None, (bool,), None, "true or false"),
    "code_command": (None, (str,), None, _CODE_COMMAND),
}
DEFAULTS: dict[str, Any] = {key: spec[0] for key, spec in TOP_KEYS.items()}

# A settings file is a few lines; one this big is not one, and goes the long way.
MAX_SETTINGS_BYTES = 256 * 1024


class SettingsProblem(ValueError):
    """What is wrong with a settings file, in words that name the file and the key."""


def _allowed(spec: Spec) -> str:
    _, _, bounds, words = spec
    return words if bounds is None else words.format(*bounds)


def _problem(key: str, value: object, spec: Spec) -> str | None:
    """Why `value` is not valid for `key` ("" for a wrong type or range), None if it is."""
    _, types, bounds, _ = spec
    # bool is an int in Python; a TOML `true` is never a valid number of seconds.
    if isinstance(value, bool) and bool not in types:
        return ""
    if not isinstance(value, types):
        return ""
    if bounds is not None and isinstance(value, int | float):
        low, high = bounds
        return None if low <= value <= high else ""
    if key == "session_profile_pattern" and isinstance(value, str):
        return pattern_problem(value)
    if key in ("active_profile", "session_profile") and isinstance(value, str):
        # Credentials section names, read verbatim by botocore: refused is only what
        # breaks the file, and DEFAULT, whose keys configparser gives every profile.
        return session_name_problem(value)
    if key == "theme" and isinstance(value, str):
        fits = 0 < len(value) <= 64 and value[0] not in "_-"
        return None if fits and set(value) <= _THEME_CHARACTERS else ""
    if key == "sort_order":
        return None if value in SORT_ORDERS else ""
    return None


def _checked(key: str, value: object, spec: Spec, path: str, where: str) -> object:
    why = _problem(key, value, spec)
    if why is not None:
        because = f" ({why})" if why else ""
        raise SettingsProblem(
            f"{path}: {where}{key} = {value!r} is not valid{because}; allowed: {_allowed(spec)}"
        )
    return value


def _check_session_names(checked: dict[str, Any], path: str) -> None:
    """Refuse settings that send two profiles' sessions to one section.

    One section holds one session: a role's would overwrite its user's twelve-hour
    session, and `list` would show the user holding the role's keys.
    """
    active = checked.get("active_profile", DEFAULT_ACTIVE_PROFILE)
    seen: dict[str, str] = {}
    for name, table in checked["profiles"].items():
        session = table.get("session_profile")
        if session is None:
            continue
        where = f'{path}: [profiles."{name}"] session_profile = {session!r}'
        if session == name:
            raise SettingsProblem(
                f"{where} is the profile itself; its session would go over its own keys"
            )
        if session == active:
            raise SettingsProblem(
                f"{where} is the active profile (active_profile), which mirrors whichever "
                "session was switched to last; choose another name"
            )
        if session in seen:
            raise SettingsProblem(
                f'{where} is also the session profile of [profiles."{seen[session]}"]; one '
                "session would overwrite the other, so give each its own"
            )
        seen[session] = name


def validate(data: dict[str, Any], path: str) -> dict[str, Any]:
    """The checked values of a settings file that parsed into `data`.

    Returns the top-level keys the file sets, and 'profiles': each profile's name mapped
    to the keys set for it. Raises SettingsProblem naming `path`, the key and what is
    allowed.
    """
    checked: dict[str, Any] = {}
    profiles: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        if key == "profiles":
            if not isinstance(value, dict):
                raise SettingsProblem(f"{path}: [profiles] must be a table")
            for name, table in value.items():
                if not isinstance(table, dict):
                    raise SettingsProblem(f"{path}: [profiles.{name}] must be a table")
                fields: dict[str, Any] = {}
                for pkey, pvalue in table.items():
                    if pkey not in PROFILE_KEYS:
                        raise SettingsProblem(
                            f"{path}: unknown key '{pkey}' in [profiles.\"{name}\"]; "
                            f"known keys: {', '.join(PROFILE_KEYS)}"
                        )
                    where = f'[profiles."{name}"] '
                    fields[pkey] = _checked(pkey, pvalue, PROFILE_KEYS[pkey], path, where)
                profiles[name] = fields
            continue
        if key not in TOP_KEYS:
            raise SettingsProblem(
                f"{path}: unknown key '{key}'; known keys: {', '.join([*TOP_KEYS, 'profiles'])}"
            )
        checked[key] = _checked(key, value, TOP_KEYS[key], path, "")
    checked["profiles"] = profiles
    _check_session_names(checked, path)
    return checked


def session_profile(pattern: str, override: str | None, name: str) -> str:
    """Where `name`'s temporary credentials go: its own override, else the pattern's."""
    if override:
        return override
    # A valid pattern holds no brace but those of '{profile}', so this is str.format.
    return pattern.replace("{profile}", name)


def session_profile_for(values: dict[str, Any], name: str) -> str:
    """`session_profile` for checked values (as `validate` or `read_checked` give them)."""
    override = values["profiles"].get(name, {}).get("session_profile")
    return session_profile(value(values, "session_profile_pattern"), override, name)


def value(values: dict[str, Any], key: str) -> Any:
    """A top-level setting from checked values: the file's, else its default."""
    return values.get(key, DEFAULTS[key])


def read_checked(path: str) -> dict[str, Any] | None:
    """The checked values of the settings file at `path`, for a cached path.

    No file gives the values of an empty one (every default). None means the cached
    path cannot judge the file and must go the long way: it is not plain TOML (see
    toml_lite), cannot be read, is not a regular file, or breaks a rule, which the full
    command then names.
    """
    try:
        # As the full path reads it: a file someone else could write is not trusted.
        raw = read_file(path, MAX_SETTINGS_BYTES, vet=private_files.check_trusted_file)
    except FileNotFoundError:
        return validate({}, path)
    except OSError:
        return None  # refused (a FIFO, too big, not yours), unreadable: the long way
    try:
        data = toml_lite.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    if data is None:
        return None
    try:
        return validate(data, path)
    except SettingsProblem:
        return None
