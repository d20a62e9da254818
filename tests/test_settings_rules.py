"""One set of settings rules: the cached paths judge every file as the full path does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfa_tui import settings_rules, toml_lite
from mfa_tui.errors import ConfigError
from mfa_tui.settings import Settings, load_settings
from mfa_tui.settings_rules import TOP_KEYS

# Good and bad values for every key, as a person might write them.
TOP_VALUES: dict[str, list[Any]] = {
    "session_profile_pattern": ["{profile}-s", "s-{profile}", "fixed", "{profile} x", "a]{profile}", "{profile}-{x}", 3],
    "active_profile": ["mfa-tui", "current", "a b", "", "DEFAULT", " a", "開発", 1],
    "user_duration": [900, 899, 129_600, 129_601, True, "3600", 3600.0],
    "role_duration": [900, 43_200, 43_201, -5],
    "user_refresh_margin": [0, -1, 86_400, 86_401],
    "role_refresh_margin": [60, 1.5],
    "auto_refresh": [True, False, 1, "yes"],
    "code_command": ["ykman oath accounts code -s aws", "", 7],
    "code_command_timeout": [1, 0.5, 600, 600.5, 12.5, True],
    "credential_process_timeout": [60, 0, 600.5, 2.5],
    "agent_wait": [1, 3_600, 3_601, 30.25],
    "colour": ["blue"],
}  # fmt: skip
PROFILE_VALUES: dict[str, list[Any]] = {
    "session_profile": ["dev-s", "a]b", "", "dev", "mfa-tui", "a b", 3],
    "duration": [900, 100, 129_600, False],
    "auto_refresh": [True, "no"],
    "code_command": ["pass otp aws", 0],
    "what": [1],
}
NAMES = ["dev", "ops.admin", "a b", "x"]


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(TOP_VALUES)), max_size=4, unique=True))
    data: dict[str, Any] = {key: draw(st.sampled_from(TOP_VALUES[key])) for key in keys}
    shape = draw(st.sampled_from(["none", "tables", "tables", "not a table", "a value"]))
    if shape == "tables":
        profiles = {}
        for name in draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True)):
            pkeys = draw(st.lists(st.sampled_from(sorted(PROFILE_VALUES)), max_size=3, unique=True))
            profiles[name] = {k: draw(st.sampled_from(PROFILE_VALUES[k])) for k in pkeys}
        data["profiles"] = profiles
    elif shape == "not a table":
        data["profiles"] = 3
    elif shape == "a value":
        data["profiles"] = {"dev": "x"}
    return data


def full_and_fast(path: Path) -> tuple[Settings | None, dict[str, Any] | None]:
    try:
        full: Settings | None = load_settings(path)
    except ConfigError:
        full = None
    return full, settings_rules.read_checked(str(path))


@settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(documents())
def test_the_fast_path_judges_every_file_as_the_full_path(
    tmp_path: Path, data: dict[str, Any]
) -> None:
    path = tmp_path / "config.toml"
    text = tomli_w.dumps(data)
    path.write_text(text, encoding="utf-8")
    full, fast = full_and_fast(path)
    if toml_lite.loads(text) is None:
        assert fast is None  # beyond plain TOML: the long way, whatever the file says
        return
    assert (fast is None) == (full is None), text
    if full is None or fast is None:
        return
    for key in TOP_KEYS:
        assert settings_rules.value(fast, key) == getattr(full, key), key
    for name in [*NAMES, "other"]:
        assert settings_rules.session_profile_for(fast, name) == full.session_profile_for(name)


def test_no_file_is_every_default(tmp_path: Path) -> None:
    full, fast = full_and_fast(tmp_path / "missing.toml")
    assert full == Settings(path=tmp_path / "missing.toml")
    assert fast == {"profiles": {}}
    for key in TOP_KEYS:
        assert settings_rules.value(fast, key) == getattr(full, key)


@pytest.mark.parametrize("kind", ["folder", "fifo", "undecodable", "huge"])
def test_a_file_the_fast_path_cannot_read_goes_the_long_way(tmp_path: Path, kind: str) -> None:
    import os

    path = tmp_path / "config.toml"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)  # opened without waiting for a writer
    elif kind == "undecodable":
        path.write_bytes(b"code_command = '\xff'\n")
    else:
        path.write_text("# padding\n" * (settings_rules.MAX_SETTINGS_BYTES // 10 + 1))
    assert settings_rules.read_checked(str(path)) is None


@given(st.text(alphabet=st.sampled_from("aZ09_.@+=,:/- ]#;\n\t\u00e9\u958b"), max_size=40))
def test_the_fast_path_refuses_the_session_names_the_writer_refuses(name: str) -> None:
    from mfa_tui.section_names import session_name_problem

    writable = session_name_problem(name) is None
    for data in ({"active_profile": name}, {"profiles": {"dev": {"session_profile": name}}}):
        try:
            settings_rules.validate(data, "config.toml")
        except settings_rules.SettingsProblem:
            accepted = False
        else:
            accepted = True
        assert accepted == writable or (accepted is False and name == "dev"), (name, data)
