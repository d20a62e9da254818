"""toml_lite never disagrees with tomllib: the same table, or None (the long way)."""

from __future__ import annotations

import tomllib

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from mfa_tui import toml_lite
from mfa_tui.settings import ProfileSettings, Settings, settings_to_dict


def typed(value: object) -> object:
    """`value` with every leaf's type beside it: True == 1 and 1 == 1.0 must not pass."""
    if isinstance(value, dict):
        return {key: typed(inner) for key, inner in value.items()}
    return (type(value).__name__, value)


def agrees(text: str) -> bool:
    """Checks the promise for `text`; returns whether toml_lite read it."""
    lite = toml_lite.loads(text)
    try:
        full = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        assert lite is None, text
        return False
    if lite is not None:
        assert typed(lite) == typed(full), text
    return lite is not None


KEYS = [
    "a", "user_duration", "profiles", "x-y_1", "1", "-", '"a b"', "'lit'", '"a.b"',
    '"esc\\"q"', '""', "''", "a b", "é", '"é"', "a.b", "a . b", "", "[", "=", '"unclosed',
]  # fmt: skip
VALUES = [
    '"text"', '"a # b"', "'lit \\ eral'", '""', "''", '"tab\there"', '"é ☃"', '"esc\\n"',
    '"q\\"q"', '"""ml"""', "'''ml'''", '"unclosed', "'unclosed", '"x" y', '"x"#c', "true",
    "false", "True", "truex", "1", "-1", "+1", "0", "-0", "+0", "00", "01", "1_000", "1__0",
    "_1", "1_", "12", "1.5", "-0.5", "+0.5", "0.0", "1.", ".5", "01.5", "1_0.5", "1.5_0",
    "1e5", "1.5e3", "inf", "nan", "-inf", "0x10", "0o7", "0b1", "[1]", "{a = 1}",
    "1979-05-27", "07:32:00", "", "1 2", "1 # c", "true#c",
]  # fmt: skip
SPACE = st.sampled_from(["", " ", "  ", "\t"])
COMMENT = st.sampled_from(["", "# c", " # note", "#", "# é", "# [x]", "#\x7f", "# \x00"])


@st.composite
def lines(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["pair", "pair", "pair", "header", "comment", "blank", "odd"]))
    lead, gap1, gap2, tail = draw(SPACE), draw(SPACE), draw(SPACE), draw(SPACE)
    if kind == "pair":
        key, value = draw(st.sampled_from(KEYS)), draw(st.sampled_from(VALUES))
        return f"{lead}{key}{gap1}={gap2}{value}{tail}{draw(COMMENT)}"
    if kind == "header":
        parts = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3))
        dot = draw(st.sampled_from([".", " . ", ". "]))
        left, right = draw(st.sampled_from([("[", "]"), ("[[", "]]"), ("[", "]]"), ("[ ", " ]")]))
        return f"{lead}{left}{dot.join(parts)}{right}{tail}{draw(COMMENT)}"
    if kind == "comment":
        return f"{lead}{draw(COMMENT)}"
    if kind == "blank":
        return lead + tail
    return draw(st.sampled_from(["\ufeffa = 1", "a = 1\r", "\x00", "a = \x7f", "\u00a0a = 1"]))


@settings(max_examples=3000, deadline=None)
@given(st.lists(lines(), max_size=8), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_never_a_different_table(body: list[str], newline: str, final: bool) -> None:
    agrees(newline.join(body) + (newline if final else ""))


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_never_a_different_table_for_any_text(text: str) -> None:
    agrees(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n\n",
        # README's example
        'session_profile_pattern = "{profile}-session"\nuser_refresh_margin = 900\n\n'
        '[profiles."my-test-role"]\nduration = 3600\nauto_refresh = false\n',
        "[profiles]\n[profiles.dev]\nauto_refresh = true\n[profiles.'ops.admin']\n",
        'code_command = "ykman oath accounts code -s aws"  # my key\r\nagent_wait = 12.5\r\n',
        "[ profiles . \"a b\" ]\nsession_profile = 'x'\n",
        "user_duration = +7_200\nrole_refresh_margin = -0\n",
    ],
)
def test_plain_settings_files_are_read(text: str) -> None:
    assert agrees(text)


def test_what_mfa_tui_itself_writes_is_read() -> None:
    # The dashboard's `a` key saves settings with tomli_w: the fast path must read them.
    saved = Settings(
        session_profile_pattern="mfa-{profile}",
        active_profile="current",
        user_duration=7_200,
        auto_refresh=False,
        code_command="pass otp aws",
        code_command_timeout=12.5,
        profiles={
            "dev": ProfileSettings(session_profile="dev-s", duration=900, auto_refresh=True),
            "ops.admin": ProfileSettings(code_command="ykman oath accounts code -s ops"),
            "team/dev@x": ProfileSettings(auto_refresh=False),
        },
    )
    assert agrees(tomli_w.dumps(settings_to_dict(saved)))


@pytest.mark.parametrize(
    "text",
    [
        'a = "esc\\u00e9"\n',  # escapes: tomllib's to read
        'a = """\nml"""\n',
        "a = [1, 2]\n",
        "a = {b = 1}\n",
        "a.b = 1\n",  # dotted keys
        "a = 1e3\n",
        "a = 0x1F\n",
        "a = 1979-05-27\n",
        "[a.b]\n[a]\n",  # valid TOML, but a table defined after its sub-table
        "[[a]]\n",
    ],
)
def test_beyond_the_subset_is_the_long_way(text: str) -> None:
    tomllib.loads(text)  # all valid TOML...
    assert toml_lite.loads(text) is None  # ...that the subset leaves to tomllib


@pytest.mark.parametrize(
    "text",
    [
        "a = 1\na = 2\n",
        'a = 1\n"a" = 2\n',
        "[a]\n[a]\n",
        "a = 1\n[a]\n",
        "[a]\nb = 1\n[a.b]\n",
        "a = 01\n",
        "a = 1__0\n",
        "a = 1.\n",
        "a = \n",
        "a = 1 2\n",
        'a = "x" y\n',
        "a = 1\rb = 2\n",
        "a = 1\r",
        "\ufeffa = 1\n",
        "a = True\n",
        "é = 1\n",
    ],
)
def test_what_tomllib_refuses_is_never_read(text: str) -> None:
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)
    assert toml_lite.loads(text) is None
