"""The INI reader against botocore itself, and what it does with malformed files.

The agreement test generates whole config and credentials files (every header form,
DEFAULT, nested `s3 =` blocks, multi-line values with blank lines, comments, `:`
delimiters, upper-case keys, CRLF/CR line endings, characters `str.splitlines` would
break on) and compares `load_profiles` with `botocore.session.Session().full_config`.
"""

from __future__ import annotations

import locale
import os
import string
from pathlib import Path
from unittest import mock

import botocore.exceptions
import botocore.session
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mfa_tui.aws import ini
from mfa_tui.aws.files import AwsPaths, load_profiles
from mfa_tui.aws.names import config_profile_name

# botocore reads with the locale's encoding; non-ASCII text only agrees under UTF-8.
UTF8_LOCALE = locale.getpreferredencoding(False).lower().replace("-", "") == "utf8"

# Characters that are line breaks to `str.splitlines` but not to configparser, plus
# the ones that mean something in INI files (comment, delimiters, brackets).
ODD = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\t\x00#;=:[]%$\"' "
NON_ASCII = "é€ß😀"


def _value_chars() -> st.SearchStrategy[str]:
    odd = ODD + (NON_ASCII if UTF8_LOCALE else "")
    return st.one_of(st.sampled_from(odd), st.characters(min_codepoint=0x21, max_codepoint=0x7E))


VALUE = st.text(_value_chars(), max_size=14)
# botocore splits a nested block with str.splitlines, so these characters in a nested
# value make it reject the file; use them there only now and then.
SPLITLINES = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
NESTED_VALUE = st.one_of(
    VALUE.filter(lambda v: not any(c in SPLITLINES for c in v)),
    VALUE.filter(lambda v: not any(c in SPLITLINES for c in v)),
    VALUE.filter(lambda v: not any(c in SPLITLINES for c in v)),
    VALUE,
)
SOLID = st.characters(min_codepoint=0x21, max_codepoint=0x7E).filter(lambda c: c not in "#;")
# A value whose first character is not blank, so a multi-line value is not "nested".
FIRST_VALUE = st.builds(lambda a, b: a + b, SOLID, VALUE)
KEY = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(string.ascii_letters),
    st.text(string.ascii_letters + string.digits + "_-. ", max_size=10),
).map(str.rstrip)
WELL_KNOWN_KEY = st.sampled_from(
    [
        "region",
        "Region",
        "AWS_ACCESS_KEY_ID",
        "aws_secret_access_key",
        "role_arn",
        "source_profile",
        "mfa_serial",
        "s3",
        "sso_session",
        "output",
    ]
)
INDENT = st.sampled_from([" ", "  ", "    ", "\t", " \t", "\x0c "])
DELIM = st.sampled_from(["=", " = ", ": ", " :", "\t=\t", " =  ", ":"])
NAMES = ["a", "b", "dev", "Prod", "default", "x.y", "a b", "ü" if UTF8_LOCALE else "u"]


def _config_headers() -> st.SearchStrategy[str]:
    name = st.sampled_from(NAMES)
    return st.one_of(
        st.sampled_from(
            ["default", "DEFAULT", "profile", 'profile "open', "profile a b c", "preview"]
        ),
        name.map(lambda n: f"profile {n}"),
        name.map(lambda n: f"profile  {n}"),
        name.map(lambda n: f'profile "{n}"'),
        name.map(lambda n: f"profile\t'{n}'"),
        name.map(lambda n: f"profilex {n}"),
        name.map(lambda n: f"sso-session {n}"),
        name.map(lambda n: f"services {n}"),
        name,
    )


def _credentials_headers() -> st.SearchStrategy[str]:
    name = st.sampled_from(NAMES)
    return st.one_of(
        st.sampled_from(["default", "DEFAULT", "a]b", "profile dev"]),
        name,
        name.map(lambda n: f"{n}-mfa"),
    )


@st.composite
def _noise(draw: st.DrawFn) -> list[str]:
    """Comment and blank lines, allowed almost anywhere."""
    out = []
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["comment", "indented comment", "blank", "spaces"]))
        if kind == "comment":
            out.append(draw(st.sampled_from("#;")) + draw(VALUE))
        elif kind == "indented comment":
            out.append(draw(INDENT) + draw(st.sampled_from("#;")) + draw(VALUE))
        elif kind == "blank":
            out.append("")
        else:
            out.append(draw(st.sampled_from([" ", "\t", "  \x0c"])))
    return out


@st.composite
def _item(draw: st.DrawFn, key: str) -> list[str]:
    # Key lines are rarely indented: a deeper line continues the value above it.
    indent = draw(INDENT) if draw(st.integers(0, 9)) == 0 else ""
    head = f"{indent}{key}{draw(DELIM)}"
    kind = draw(st.sampled_from(["plain", "plain", "plain", "empty", "multi", "nested"]))
    if kind == "plain":
        return [head + draw(VALUE)]
    if kind == "empty":
        return [head.rstrip() if draw(st.booleans()) else head]
    deeper = indent + draw(INDENT)
    lines = [head + (draw(FIRST_VALUE) if kind == "multi" else "")]
    for _ in range(draw(st.integers(1, 3))):
        lines.extend(draw(_noise()))
        if kind == "multi":
            lines.append(deeper + draw(FIRST_VALUE))
        else:
            sub = draw(st.sampled_from(["max_concurrent_requests", "Addressing_Style", "x"]))
            delim = draw(st.sampled_from(["=", " = ", "= "]))
            lines.append(f"{deeper}{sub}{delim}{draw(NESTED_VALUE)}")
    return lines


@st.composite
def ini_text(draw: st.DrawFn, headers: st.SearchStrategy[str]) -> str:
    lines: list[str] = draw(_noise())
    for header in draw(st.lists(headers, max_size=6, unique=True)):
        trailer = draw(st.sampled_from(["", "", " ; note", " # note", "  "]))
        lines.append(f"[{header}]{trailer}")
        keys = draw(
            st.lists(
                st.one_of(WELL_KNOWN_KEY, KEY),
                max_size=5,
                unique_by=lambda k: k.strip().lower(),
            )
        )
        for key in keys:
            lines.extend(draw(_noise()))
            lines.extend(draw(_item(key)))
        lines.extend(draw(_noise()))
    style = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    out = []
    for line in lines:
        ending = draw(st.sampled_from(["\n", "\r\n", "\r"])) if style == "mixed" else style
        out.append(line + ending)
    text = "".join(out)
    if text and draw(st.booleans()):
        text = text.rstrip("\r\n")  # no newline at the end of the file
    return text


def botocore_profiles(config: Path, credentials: Path) -> dict[str, dict[str, object]] | None:
    """What botocore sees through the environment; None when it rejects a file."""
    env = {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials)}
    with mock.patch.dict(os.environ, env):
        try:
            profiles: dict[str, dict[str, object]] = botocore.session.Session().full_config[
                "profiles"
            ]
        except botocore.exceptions.ConfigParseError:
            return None
    return profiles


def our_profiles(config: Path, credentials: Path) -> tuple[dict[str, dict[str, object]], list[str]]:
    """load_profiles, found through the same environment, nested values parsed as botocore does."""
    env = {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials)}
    with mock.patch.dict(os.environ, env):
        result = load_profiles()
    assert result.paths == AwsPaths(config, credentials)
    profiles: dict[str, dict[str, object]] = {}
    for name, profile in result.profiles.items():
        profiles[name] = {
            key: (ini.parse_nested(value) if value.startswith("\n") else value)
            for key, value in profile.values.items()
        }
    return profiles, result.problems


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    config=st.one_of(st.none(), ini_text(_config_headers())),
    credentials=st.one_of(st.none(), ini_text(_credentials_headers())),
)
def test_load_profiles_agrees_with_botocore(
    tmp_path: Path, config: str | None, credentials: str | None
) -> None:
    config_path, credentials_path = tmp_path / "config", tmp_path / "credentials"
    for path, text in ((config_path, config), (credentials_path, credentials)):
        path.unlink(missing_ok=True)
        if text is not None:
            path.write_bytes(text.encode("utf-8"))
    theirs = botocore_profiles(config_path, credentials_path)
    ours, problems = our_profiles(config_path, credentials_path)
    if theirs is None:
        # botocore refuses the whole file; we must at least say which line is wrong.
        event("botocore rejected the file")
        assert problems
        return
    assert ours == theirs
    assert list(ours) == list(theirs)  # same order, as `aws configure list-profiles`
    # botocore says nothing about a `[profile ...]` header it drops, about a second
    # header for one profile (it reads only the later), or about `[profile x]` in the
    # credentials file (the profile 'profile x'); we say which line.
    said: list[int] = []
    if config is not None:
        first_header: dict[str, str] = {}
        again: set[str] = set()
        for s in ini.parse_bytes(config_path.read_bytes(), config_path).sections:
            name = config_profile_name(s.name)
            if name is None:
                if s.name.startswith("profile"):
                    said.append(s.start + 1)
            elif first_header.setdefault(name, s.name) != s.name and s.name not in again:
                again.add(s.name)
                said.append(s.start + 1)
    expected = [f"{config_path}:{line}" for line in sorted(said)]
    if credentials is not None:
        expected += [
            f"{credentials_path}:{s.start + 1}"
            for s in ini.parse_bytes(credentials_path.read_bytes(), credentials_path).sections
            if s.name.startswith(("profile ", "profile\t"))
        ]
    assert [p.split(": ", 1)[0] for p in problems] == expected


def _agree(
    tmp_path: Path,
    config: str,
    credentials: str | None = None,
    problems: list[tuple[int, str]] = (),  # type: ignore[assignment]
) -> dict[str, object]:
    config_path, credentials_path = tmp_path / "config", tmp_path / "credentials"
    config_path.write_text(config, newline="")
    if credentials is not None:
        credentials_path.write_text(credentials, newline="")
    theirs = botocore_profiles(config_path, credentials_path)
    ours, said = our_profiles(config_path, credentials_path)
    assert theirs is not None
    assert ours == theirs
    assert len(said) == len(problems), said
    for text, (line, words) in zip(said, problems, strict=True):
        assert text.startswith(f"{config_path}:{line}: {words}")
    return dict(ours)


def test_only_universal_newlines_end_a_line(tmp_path: Path) -> None:
    # `str.splitlines` would break this value at the form feed and at U+2028.
    profiles = _agree(tmp_path, "[default]\nregion = a\x0cb\u2028c\x85d\n[profile x]\rk = v\r")
    assert profiles["default"] == {"region": "a\x0cb\u2028c\x85d"}
    assert profiles["x"] == {"k": "v"}


def test_later_header_for_the_same_profile_wins_whole(tmp_path: Path) -> None:
    # botocore keeps the later section; it does not merge the two. We say so, naming
    # the line of the later one.
    profiles = _agree(
        tmp_path,
        "[default]\nregion = a\noutput = json\n[profile default]\nregion = b\n"
        "[profile  q]\nx = 1\n[profile q]\ny = 2\n",
        "[q]\nz = 3\n",
        problems=[
            (
                4,
                "[profile default] names the profile 'default' again (first as [default] at line 1)",
            ),
            (8, "[profile q] names the profile 'q' again (first as [profile  q] at line 6)"),
        ],
    )
    assert profiles["default"] == {"region": "b"}
    assert profiles["q"] == {"y": "2", "z": "3"}


def test_nested_blocks_multiline_values_and_defaults(tmp_path: Path) -> None:
    profiles = _agree(
        tmp_path,
        "[DEFAULT]\nOutput : json\n"
        "[profile dev]\nS3 =\n  max_concurrent_requests = 20\n\n  # comment\n"
        "  addressing_style=path\nnote = first\n   second\n\n   third\n\n"
        "[sso-session corp]\nsso_region = us-east-1\n[services local]\nsts =\n  x = 1\n",
    )
    assert profiles == {
        "dev": {
            "s3": {"max_concurrent_requests": "20", "addressing_style": "path"},
            "note": "first\nsecond\n\nthird",
            "output": "json",
        }
    }


# ---------------------------------------------------------------------------
# Malformed files: one problem naming the file and the 1-based line; the rest loads.

GOOD_CREDENTIALS = b"[u]\naws_access_key_id = AKIAU\naws_secret_access_key = SECRETU\n"


@pytest.mark.parametrize(
    ("config", "line", "words", "loads"),
    [
        pytest.param(
            b"[profile good]\nregion = x\n[profile bad\nregion = y\n[profile ok]\nk = v\n",
            3,
            "bad section header '[profile bad' (no closing ']')",
            {"good": {"region": "x"}, "ok": {"k": "v"}},
            id="header-without-bracket",
        ),
        pytest.param(
            b"# top\nregion = x\n[profile good]\nk = v\n",
            2,
            "key outside any [section]",
            {"good": {"k": "v"}},
            id="key-outside-section",
        ),
        pytest.param(
            b"[profile good]\nregion = caf\xe9\nk = v\n",
            2,
            "line is not valid UTF-8",
            {"good": {"k": "v"}},
            id="undecodable-value",
        ),
        pytest.param(
            # The keys under an undecodable header must not fall into [profile good].
            b"[profile good]\nk = v\n[profile b\xff]\nrole_arn = arn:x\n[profile ok]\nk = w\n",
            3,
            "line is not valid UTF-8; the section it starts was skipped",
            {"good": {"k": "v"}, "ok": {"k": "w"}},
            id="undecodable-header",
        ),
        pytest.param(
            b"[profile good]\nnote = one\n  caf\xe9\nk = v\n",
            3,
            "line is not valid UTF-8; 'note' in [profile good] was skipped",
            {"good": {"k": "v"}},
            id="undecodable-continuation",
        ),
        pytest.param(
            b"# caf\xe9 comment\n[profile good]\nk = v\n",
            1,
            "line is not valid UTF-8",
            {"good": {"k": "v"}},
            id="undecodable-comment",
        ),
        pytest.param(
            b"[profile good]\nk = v\n\n[profile good]\nj = w\n",
            4,
            "section [profile good] appears again (first at line 1)",
            {"good": {"k": "v", "j": "w"}},
            id="duplicate-section",
        ),
        pytest.param(
            b"[profile good]\nk = v\nK = w\n",
            3,
            "'k' is set twice in [profile good]; the later value is used",
            {"good": {"k": "w"}},
            id="duplicate-key",
        ),
        pytest.param(
            b"[DEFAULT]\nk = v\n[DEFAULT]\nk = w\n[profile good]\n",
            4,
            "'k' is set twice in [DEFAULT]",
            {"good": {"k": "w"}},
            id="duplicate-key-across-default-sections",
        ),
        pytest.param(
            b"[profile good]\nk = v\njust words\n",
            3,
            "expected 'key = value' in [profile good]",
            {"good": {"k": "v"}},
            id="line-without-delimiter",
        ),
        pytest.param(
            b"[profile good]\ns3 =\n  max = 1\n  no equals here\nk = v\n",
            4,
            "'s3' in [profile good] starts a nested block",
            {"good": {"s3": "\nmax = 1\nno equals here", "k": "v"}},
            id="nested-line-without-equals",
        ),
        pytest.param(
            b"\xef\xbb\xbf[profile good]\r\nk = v\r\n",
            1,
            "byte order mark (BOM)",
            {"good": {"k": "v"}},
            id="bom",
        ),
    ],
)
def test_a_malformed_line_costs_only_itself(
    aws_dir: Path, config: bytes, line: int, words: str, loads: dict[str, dict[str, str]]
) -> None:
    config_path = aws_dir / "config"
    config_path.write_bytes(config)
    (aws_dir / "credentials").write_bytes(GOOD_CREDENTIALS)
    result = load_profiles()
    assert len(result.problems) == 1, result.problems
    assert result.problems[0].startswith(f"{config_path}:{line}: ")
    assert words in result.problems[0]
    for name, values in loads.items():
        assert result.profiles[name].values == values
    assert set(result.profiles) == {*loads, "u"}
    # The other file still loads.
    assert result.profiles["u"].has_long_term_keys


def test_malformed_credentials_file_leaves_config_alone(aws_dir: Path) -> None:
    (aws_dir / "config").write_text("[profile r]\nrole_arn = arn:r\nsource_profile = u\n")
    creds = aws_dir / "credentials"
    creds.write_bytes(b"stray = 1\n" + GOOD_CREDENTIALS + b"[broken\nx = 1\n")
    result = load_profiles()
    assert result.problems == [
        f"{creds}:1: key outside any [section]; it was skipped; move it under the [section] "
        "it belongs to, or delete it",
        f"{creds}:5: bad section header '[broken' (no closing ']'); the keys under it were "
        "skipped; add the ']'",
    ]
    assert result.profiles["r"].chain == ["r", "u"]


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_files_read_like_lf_without_problems(aws_dir: Path, newline: str) -> None:
    text = "[profile a]\nregion = x\ns3 =\n  k = 1\n\n[b]\nk = v"
    config = aws_dir / "config"
    config.write_bytes(text.replace("\n", newline).encode())
    crlf = load_profiles()
    config.write_bytes(text.encode())
    lf = load_profiles()
    assert crlf.problems == [] == lf.problems
    assert {n: p.values for n, p in crlf.profiles.items()} == {
        n: p.values for n, p in lf.profiles.items()
    }
    assert crlf.profiles["a"].values == {"region": "x", "s3": "\nk = 1"}


def test_a_directory_in_place_of_a_file_is_one_problem(aws_dir: Path) -> None:
    (aws_dir / "config").mkdir()
    (aws_dir / "credentials").write_bytes(GOOD_CREDENTIALS)
    result = load_profiles()
    assert result.problems == [
        f"{aws_dir / 'config'} is a directory, not a regular file; it was ignored"
    ]
    assert set(result.profiles) == {"u"}


# ---------------------------------------------------------------------------
# The document keeps every byte, and knows where each section and key is.


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_any_bytes_round_trip_exactly(data: bytes) -> None:
    doc = ini.parse_bytes(data, Path("f"))
    assert doc.to_bytes() == data
    for section in doc.sections:
        assert 0 <= section.start < section.end <= len(doc.lines)


def test_sections_and_key_spans() -> None:
    text = "# head\n[a]\nk = 1\n  more\n\n  more2\nj = 2\n\n# gap\n[b]\n  ind = 1\n  ind2 = 2\n"
    doc = ini.parse_bytes(text.encode(), Path("f"))
    a, b = doc.sections
    assert (a.name, a.start, a.end) == ("a", 1, 7)
    assert a.key_spans == {"k": (2, 6), "j": (6, 7)}
    assert a.key_lines == {"k": 3, "j": 7}
    assert a.values == {"k": "1\nmore\n\nmore2", "j": "2"}
    # Indented keys at the same depth are keys, not continuations.
    assert (b.start, b.end) == (9, 12)
    assert b.key_spans == {"ind": (10, 11), "ind2": (11, 12)}
    assert doc.newline == "\n"


def test_parse_nested_is_botocores_one_level() -> None:
    assert ini.parse_nested("\na = 1\n\nb=2 = 3") == {"a": "1", "b": "2 = 3"}
    assert ini.parse_nested("plain") is None
    assert ini.parse_nested("\nno equals") is None
