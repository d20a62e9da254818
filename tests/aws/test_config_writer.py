"""The config-file writer (`set_profile_keys`): a profile found by the name botocore gives
it, edited in place, and read back by botocore as intended.

The AWS CLI's own writer cases (aws/aws-cli, tests/unit/customizations/configure/
test_writer.py, Apache-2.0) are run through mfa-tui's writer: the bytes outside the
edited section stay as they were, and botocore reads the same profiles from our result
as from the AWS CLI's. Sections that are not profiles there ([a], [b], [new-section])
are profiles here, since mfa-tui edits profiles only.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import botocore.configloader
import botocore.exceptions
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mfa_tui.aws import ini
from mfa_tui.aws.credentials import set_profile_keys
from mfa_tui.aws.files import AwsPaths, load_profiles
from mfa_tui.aws.names import config_profile_name, is_safe_profile_name
from mfa_tui.errors import FileWriteError


def botocore_reads(path: Path) -> dict[str, Any] | None:
    """botocore's profiles of a config file; None when it refuses the whole file."""
    try:
        profiles: dict[str, Any] = botocore.configloader.load_config(str(path))["profiles"]
    except botocore.exceptions.ConfigParseError:
        return None
    return profiles


def around(data: bytes, profile: str) -> tuple[bytes, bytes]:
    """The bytes before and after the section botocore reads for `profile`."""
    doc = ini.parse_bytes(data, Path("config"))
    section = [s for s in doc.sections if config_profile_name(s.name) == profile][-1]
    lines = [line.encode("utf-8", "surrogateescape") for line in doc.lines]
    return b"".join(lines[: section.start]), b"".join(lines[section.end :])


# (case, original, profile, values, what the AWS CLI writes). Cases that add a section
# are marked "new"; the others edit a profile that exists.
AWS_CLI_CASES: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("update_single_existing_value", "[default]\nfoo = 1\nbar = 1", "default",
     {"foo": "newvalue"}, "[default]\nfoo = newvalue\nbar = 1"),
    ("update_value_with_square_brackets", "[default]\nfoo = old[value]\nbar = 1", "default",
     {"foo": "new[value]"}, "[default]\nfoo = new[value]\nbar = 1"),
    ("update_single_existing_value_no_spaces", "[default]\nfoo=1\nbar=1", "default",
     {"foo": "newvalue"}, "[default]\nfoo = newvalue\nbar=1"),
    ("update_single_new_values", "[default]\nfoo = 1\nbar = 2", "default",
     {"baz": "newvalue"}, "[default]\nfoo = 1\nbar = 2\nbaz = newvalue\n"),
    ("handles_no_spaces", "[default]\nfoo=1\nbar=2", "default",
     {"baz": "newvalue"}, "[default]\nfoo=1\nbar=2\nbaz = newvalue\n"),
    ("insert_values_in_middle_section",
     "[profile a]\nfoo = bar\nbaz = bar\n\n[profile b]\n\nfoo = bar\n[profile c]\nfoo = bar\n"
     "baz = bar\n", "b", {"foo": "newvalue"},
     "[profile a]\nfoo = bar\nbaz = bar\n\n[profile b]\n\nfoo = newvalue\n[profile c]\n"
     "foo = bar\nbaz = bar\n"),
    ("insert_new_value_in_middle_section",
     "[profile a]\nfoo = bar\n\n[profile b]\n\nfoo = bar\n\n[profile c]\nfoo = bar\n", "b",
     {"newvalue": "newvalue"},
     "[profile a]\nfoo = bar\n\n[profile b]\n\nfoo = bar\nnewvalue = newvalue\n\n[profile c]\n"
     "foo = bar\n"),
    ("update_config_with_comments", "[default]\n#foo = 1\nbar = 1\n", "default",
     {"foo": "newvalue"}, "[default]\n#foo = 1\nbar = 1\nfoo = newvalue\n"),
    ("update_config_with_commented_section", "#[default]\n[default]\n#foo = 1\nbar = 1\n",
     "default", {"foo": "newvalue"}, "#[default]\n[default]\n#foo = 1\nbar = 1\nfoo = newvalue\n"),
    ("spaces_around_key_names", "[default]\nfoo = 1\nbar = 1\n", "default",
     {"foo": "newvalue"}, "[default]\nfoo = newvalue\nbar = 1\n"),
    ("unquoted_profile_name", "[profile foobar]\nfoo = 1\nbar = 1\n", "foobar",
     {"foo": "newvalue"}, "[profile foobar]\nfoo = newvalue\nbar = 1\n"),
    ("double_quoted_profile_name", '[profile "foobar"]\nfoo = 1\nbar = 1\n', "foobar",
     {"foo": "newvalue"}, '[profile "foobar"]\nfoo = newvalue\nbar = 1\n'),
    ("profile_with_multiple_spaces", '[profile "two  spaces"]\nfoo = 1\nbar = 1\n',
     "two  spaces", {"foo": "newvalue"}, '[profile "two  spaces"]\nfoo = newvalue\nbar = 1\n'),
    ("add_to_nested_with_nested_in_the_middle",
     "[default]\ns3 =\n    other = foo\nec2 = bar\n", "default",
     {"s3": {"signature_version": "newval"}},
     "[default]\ns3 =\n    other = foo\n    signature_version = newval\nec2 = bar\n"),
    ("add_to_nested_with_nested_in_the_end", "[default]\ns3 =\n    other = foo\n", "default",
     {"s3": {"signature_version": "newval"}},
     "[default]\ns3 =\n    other = foo\n    signature_version = newval\n"),
    ("update_nested_attribute", "[default]\ns3 =\n    signature_version = originalval\n",
     "default", {"s3": {"signature_version": "newval"}},
     "[default]\ns3 =\n    signature_version = newval\n"),
    ("updated_nested_attribute_new_section",
     "[default]\ns3 =\n    other = foo\n[profile foo]\nfoo = bar\n", "default",
     {"s3": {"signature_version": "newval"}},
     "[default]\ns3 =\n    other = foo\n    signature_version = newval\n[profile foo]\n"
     "foo = bar\n"),
    ("update_nested_attr_no_prior_nesting", "[default]\nfoo = bar\n[profile foo]\nfoo = bar\n",
     "default", {"s3": {"signature_version": "newval"}},
     "[default]\nfoo = bar\ns3 =\n    signature_version = newval\n[profile foo]\nfoo = bar\n"),
    ("can_handle_empty_section", "[default]\n[preview]\ncloudfront = true\n", "default",
     {"region": "us-west-2"}, "[default]\nregion = us-west-2\n[preview]\ncloudfront = true\n"),
    # New sections: the AWS CLI puts them right after the last line, mfa-tui after a
    # blank line, as it does for sessions in the credentials file.
    ("new: new_config_file", "\n", "default", {"foo": "value"}, "\n[default]\nfoo = value\n"),
    ("new: section_does_not_exist",
     '[notdefault]\nfoo = bar\nbaz = bar\n\n\n\n[other "section"]\n\nfoo = bar\n', "default",
     {"foo": "value"},
     '[notdefault]\nfoo = bar\nbaz = bar\n\n\n\n[other "section"]\n\nfoo = bar\n'
     "[default]\nfoo = value\n"),
    ("new: nested_attributes_new_file", "", "default", {"s3": {"signature_version": "s3v4"}},
     "[default]\ns3 =\n    signature_version = s3v4\n"),
    ("new: appends_newline_on_new_section", "[preview]\ncloudfront = true", "new-section",
     {"region": "us-west-2"},
     "[preview]\ncloudfront = true\n[profile new-section]\nregion = us-west-2\n"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("original", "profile", "values", "theirs"),
    [case[1:] for case in AWS_CLI_CASES],
    ids=[case[0] for case in AWS_CLI_CASES],
)
def test_the_aws_cli_writer_cases_give_the_same_result(
    aws_dir: Path, original: str, profile: str, values: dict[str, Any], theirs: str
) -> None:
    path, cli = aws_dir / "config", aws_dir / "by-the-aws-cli"
    path.write_text(original)
    cli.write_text(theirs)
    set_profile_keys(path, profile, values)
    ours = path.read_bytes()
    # botocore reads every profile of our file as it reads the AWS CLI's.
    assert botocore_reads(path) == botocore_reads(cli)
    if original.strip() and any(config_profile_name(s) == profile for s in _headers(original)):
        # An edit: every byte outside the profile's section as it was.
        assert around(ours, profile) == around(original.encode(), profile)
        assert ours == theirs.encode()
    else:
        # A new section: the old file is all there, first.
        assert ours.startswith(original.encode())
        assert ours.rstrip(b"\n").endswith(theirs.encode().split(b"\n[")[-1].rstrip(b"\n"))


def _headers(text: str) -> list[str]:
    return [s.name for s in ini.parse_bytes(text.encode(), Path("c")).sections if not s.broken]


@pytest.mark.parametrize(
    ("values", "profile"),
    [
        ({"foo": "bad\nvalue"}, "default"),
        ({"foo": "bad\rvalue"}, "default"),
        ({"bad\nkey": "value"}, "default"),
        ({"foo": "value"}, "bad\nsection"),
        ({"s3": {"key": "bad\nvalue"}}, "default"),
    ],
    ids=["newline_in_value", "carriage_return", "newline_in_key", "newline_in_name", "nested"],
)
def test_the_aws_cli_refusals_are_refusals_here_too(
    aws_dir: Path, values: dict[str, Any], profile: str
) -> None:
    path = aws_dir / "config"
    path.write_text("[default]\nfoo = bar\n")
    with pytest.raises(FileWriteError):
        set_profile_keys(path, profile, values)
    assert path.read_text() == "[default]\nfoo = bar\n"


def test_a_new_config_file_is_0600(aws_dir: Path) -> None:
    path = aws_dir / "config"
    set_profile_keys(path, "default", {"foo": "value"})
    assert path.read_text() == "[default]\nfoo = value\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# ---------------------------------------------------------------------------
# Keys edited where they stand.


def _changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return a[start : len(a) - end], b[start : len(b) - end]


def test_set_profile_keys_replaces_exactly_one_line_at_its_indent(aws_dir: Path) -> None:
    # At the margin, the new line would take the indented `role_arn` below it in as
    # its continuation (the old set_key did exactly that).
    path = aws_dir / "config"
    old = (
        "# mine\n[profile u]\n  region = eu-west-1\n  mfa_serial = arn:old\n"
        "  role_arn = keep-me\n\n# next\n[profile v]\nmfa_serial = other\n"
    )
    path.write_text(old)
    set_profile_keys(path, "u", {"mfa_serial": "arn:aws:iam::1:mfa/u"})
    removed, added = _changed_lines(old, path.read_text())
    assert removed == ["  mfa_serial = arn:old\n"]
    assert added == ["  mfa_serial = arn:aws:iam::1:mfa/u\n"]
    assert (botocore_reads(path) or {})["u"] == {
        "region": "eu-west-1",
        "mfa_serial": "arn:aws:iam::1:mfa/u",
        "role_arn": "keep-me",
    }


def test_set_profile_keys_replaces_a_multi_line_value_whole(aws_dir: Path) -> None:
    path = aws_dir / "config"
    old = "[profile u]\nmfa_serial =\n  old\n\n  older\nregion = x\n"
    path.write_text(old)
    set_profile_keys(path, "u", {"mfa_serial": "arn:new"})
    assert path.read_text() == "[profile u]\nmfa_serial = arn:new\nregion = x\n"


def test_set_profile_keys_adds_one_line_after_the_last_key(aws_dir: Path) -> None:
    path = aws_dir / "config"
    old = "[profile u]\r\nregion = x\r\n\r\n# about v\r\n[profile v]\r\nk = 1"
    path.write_bytes(old.encode())
    set_profile_keys(path, "u", {"mfa_serial": "arn:u"})
    set_profile_keys(path, "v", {"mfa_serial": "arn:v"})
    assert path.read_bytes() == (
        b"[profile u]\r\nregion = x\r\nmfa_serial = arn:u\r\n\r\n# about v\r\n"
        b"[profile v]\r\nk = 1\r\nmfa_serial = arn:v\r\n"
    )


def test_set_profile_keys_gives_a_missing_profile_a_section(aws_dir: Path) -> None:
    path = aws_dir / "config"
    path.write_text("[profile u]\nregion = x")
    set_profile_keys(path, "my team", {"mfa_serial": "arn:t"})
    set_profile_keys(path, "default", {"region": "eu-west-1"})
    assert path.read_text() == (
        '[profile u]\nregion = x\n\n[profile "my team"]\nmfa_serial = arn:t\n'
        "\n[default]\nregion = eu-west-1\n"
    )
    assert (botocore_reads(path) or {})["my team"] == {"mfa_serial": "arn:t"}


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"mfa_serial": "x\n[evil]"}, "line breaks"),
        ({"mfa_serial": " padded"}, "line breaks or padding"),
        ({"#key": "x"}, "not a plain INI key"),
        ({"s3": {"a=b": "x"}}, "not a plain INI key"),
    ],
)
def test_set_profile_keys_refuses_what_would_not_read_back(
    aws_dir: Path, values: dict[str, str], words: str
) -> None:
    path = aws_dir / "config"
    path.write_text("[profile u]\n")
    with pytest.raises(FileWriteError, match=words):
        set_profile_keys(path, "u", values)
    assert path.read_text() == "[profile u]\n"


# ---------------------------------------------------------------------------
# Found by the name botocore gives it.


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('profile "test-user"', "test-user"),
        ("profile 'a b'", "a b"),
        ('profile "開発 role"', "開発 role"),
        ("profile  spaced ", "spaced"),
        ('profile "it\'s"', "it's"),
    ],
)
def test_a_quoted_profile_is_edited_where_it_is(aws_dir: Path, header: str, name: str) -> None:
    path = aws_dir / "config"
    original = f"# mine\n[{header}]\nregion = eu-west-1\noutput = json\n\n[profile z]\nk = v\n"
    path.write_text(original)
    set_profile_keys(path, name, {"mfa_serial": "arn:aws:iam::123456789012:mfa/me"})
    assert path.read_text() == original.replace(
        "output = json\n", "output = json\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n"
    )
    assert botocore_reads(path) == {
        name: {
            "region": "eu-west-1",
            "output": "json",
            "mfa_serial": "arn:aws:iam::123456789012:mfa/me",
        },
        "z": {"k": "v"},
    }


def test_the_section_botocore_reads_is_the_one_edited(aws_dir: Path) -> None:
    # Two headers name one profile: botocore keeps the later whole, so that one changes.
    path = aws_dir / "config"
    original = '[profile x]\nregion = a\n\n[profile "x"]\nregion = b\n'
    path.write_text(original)
    set_profile_keys(path, "x", {"region": "c"})
    assert path.read_text() == '[profile x]\nregion = a\n\n[profile "x"]\nregion = c\n'
    assert botocore_reads(path) == {"x": {"region": "c"}}


def test_a_dropped_header_is_not_taken_for_the_profile(aws_dir: Path) -> None:
    # `[profile team dev]` is no profile for botocore: the quoted one is written anew.
    path = aws_dir / "config"
    path.write_text("[profile team dev]\nregion = x\n")
    set_profile_keys(path, "team dev", {"region": "y"})
    assert (
        path.read_text() == '[profile team dev]\nregion = x\n\n[profile "team dev"]\nregion = y\n'
    )
    assert botocore_reads(path) == {"team dev": {"region": "y"}}


def test_a_nested_block_with_a_comment_gets_its_new_key_at_the_keys_indent(
    aws_dir: Path,
) -> None:
    path = aws_dir / "config"
    path.write_text("[profile u]\ns3 =\n# why\n    a = b\n")
    set_profile_keys(path, "u", {"s3": {"c": "d"}})
    assert path.read_text() == "[profile u]\ns3 =\n# why\n    a = b\n    c = d\n"
    assert botocore_reads(path) == {"u": {"s3": {"a": "b", "c": "d"}}}


def test_a_result_botocore_would_read_otherwise_is_not_written(
    aws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The last check, read back before the replace, catches an edit gone wrong: here
    # one that loses the profile's other key.
    from mfa_tui.aws import credentials

    def lossy(doc: ini.IniDocument, section: ini.Section, values: object) -> list[str]:
        return [doc.lines[section.start], "mfa_serial = new\n"]

    monkeypatch.setattr(credentials, "_edited_block", lossy)
    path = aws_dir / "config"
    original = "# mine\n[profile u]\nregion = eu-west-1\nmfa_serial = old\n"
    path.write_text(original)
    with pytest.raises(FileWriteError) as caught:
        set_profile_keys(path, "u", {"mfa_serial": "new"})
    assert caught.value.message.startswith(f"{path}:2: the AWS tools would not read")
    assert path.read_text() == original


def test_a_malformed_header_naming_the_profile_blocks_the_edit(aws_dir: Path) -> None:
    path = aws_dir / "config"
    original = '[profile "my profile"\nregion = x\n'
    path.write_text(original)
    with pytest.raises(FileWriteError, match=f"{path}:1: a malformed header"):
        set_profile_keys(path, "my profile", {"region": "y"})
    assert path.read_text() == original


@pytest.mark.parametrize("name", ["a]b", "x\ny", " lead", "trail ", "#c", ";c", ""])
def test_a_name_that_cannot_be_a_header_is_refused(aws_dir: Path, name: str) -> None:
    path = aws_dir / "config"
    path.write_text("[profile u]\n")
    with pytest.raises(FileWriteError, match="cannot write profile"):
        set_profile_keys(path, name, {"region": "x"})
    assert path.read_text() == "[profile u]\n"


# ---------------------------------------------------------------------------
# Lossless, for any name: quoted, spaced, non-ASCII.

NAMES = st.one_of(
    st.sampled_from(["test-user", "my profile", "開発 role", "it's", 'say "hi"', "a\\b", "x#y"]),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12
    ).filter(is_safe_profile_name),
)
LINES = st.sampled_from(
    [
        "\n",
        "# a comment\n",
        "; another\n",
        "[default]\n",
        "region = eu-west-1\n",
        "[profile other]\n",
        '[profile "other two"]\n',
        "key: colon style\n",
        "s3 =\n    max_concurrent_requests = 20\n",
        "[sso-session corp]\n",
        "sso_start_url = https://x\n",
        "junk without equals\n",
        "[unclosed\n",
        "\r\n",
    ]
)


def _header_forms(name: str) -> list[str]:
    forms = [f'profile "{name}"'] if '"' not in name and "\\" not in name else []
    if "'" not in name:
        forms.append(f"profile '{name}'")
    if not any(c in name for c in " \t\"'\\"):
        forms.append(f"profile {name}")
    return forms


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=NAMES,
    form=st.integers(0, 2),
    head=st.lists(LINES, max_size=8),
    body=st.lists(st.sampled_from(["region = x\n", "output = json\n", "mfa_serial = old\n"])),
    tail=st.lists(LINES, max_size=8),
)
def test_an_edit_keeps_every_byte_outside_the_section(
    tmp_path: Path, name: str, form: int, head: list[str], body: list[str], tail: list[str]
) -> None:
    forms = _header_forms(name)
    assume(forms)
    header = forms[form % len(forms)]
    tail_text = "".join(tail)
    assume(not tail_text[:1].isspace() or tail_text[:1] in "\r\n")
    original = ("".join(head) + f"[{header}]\n" + "".join(body) + tail_text).encode()
    path = tmp_path / "config"
    path.write_bytes(original)
    before = load_profiles(AwsPaths(path, tmp_path / "none")).profiles
    values = {"mfa_serial": "arn:aws:iam::123456789012:mfa/new", "region": "eu-central-1"}
    try:
        set_profile_keys(path, name, values)
    except FileWriteError:
        assert path.read_bytes() == original
        return
    after_bytes = path.read_bytes()
    assert around(after_bytes, name) == around(original, name)
    after = load_profiles(AwsPaths(path, tmp_path / "none")).profiles
    assert after[name].values == {**(before[name].values if name in before else {}), **values}
    assert {n: p.values for n, p in after.items() if n != name} == {
        n: p.values for n, p in before.items() if n != name
    }
    theirs = botocore_reads(path)
    if theirs is not None:  # botocore, where it reads the file at all, agrees
        assert {k: v for k, v in theirs[name].items() if k in values} == values
