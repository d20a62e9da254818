"""`set_section_keys`: a person's own credentials section edited in place (keys import,
restore and rotate), every other byte kept, under the writer's lock and refusals."""

from __future__ import annotations

import configparser
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfa_tui.aws import ini
from mfa_tui.aws.credentials import OWNER_KEY, set_section_keys
from mfa_tui.errors import FileWriteError

LINE = "credential_process = mfa-tui keys credential-process u"
IMPORT: dict[str, str | None] = {
    "aws_access_key_id": None,
    "aws_secret_access_key": None,
    "credential_process": "mfa-tui keys credential-process u",
}


def botocore_reads(data: bytes) -> dict[str, dict[str, str]] | None:
    """What botocore's configparser reads from a credentials file (None: it refuses it)."""
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(data.decode("utf-8"))
    except (configparser.Error, UnicodeDecodeError):
        return None
    return {s: dict(parser.items(s)) for s in parser.sections()}


# Lines around the user's section, odd ones included (each ends a line).
other_line = st.sampled_from(
    [
        "\n",
        "# a comment\n",
        "; another\n",
        "[default]\n",
        "[other]\r\n",
        "region = eu-west-1\n",
        "aws_access_key_id = AKIAOTHER\n",
        "aws_secret_access_key = other-secret\n",
        "s3 =\n    max_concurrent_requests = 20\n",
        "key: colon style\n",
        "[unclosed\n",
    ]
)
# The user's own section: its keys as people write them, between other lines.
user_line = st.sampled_from(
    [
        "aws_access_key_id = AKIAUSER\n",
        "AWS_ACCESS_KEY_ID=AKIAUSER\r\n",
        "aws_secret_access_key = user-secret\n",
        "aws_secret_access_key:user-secret\n",
        "aws_secret_access_key =\n  continued-secret\n",
        "region = us-east-1\n",
        "# my keys\n",
        "\n",
        "mfa_serial = arn:aws:iam::123456789012:mfa/u\n",
    ]
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    head=st.lists(other_line, max_size=8),
    body=st.lists(user_line, min_size=1, max_size=8),
    tail=st.lists(other_line, max_size=8),
    twice=st.booleans(),
)
def test_import_changes_only_the_key_lines(
    tmp_path: Path, head: list[str], body: list[str], tail: list[str], twice: bool
) -> None:
    path = tmp_path / "credentials"
    text = "".join(head) + "[u]\n" + "".join(body) + "[after]\n" + "".join(tail)
    if twice:  # a second copy of the section: botocore merges them
        text += "[u]\naws_access_key_id = AKIASECOND\nregion = x\n"
    path.write_bytes(text.encode())
    before = ini.read(path)
    set_section_keys(path, "u", IMPORT)
    after_bytes = path.read_bytes()
    after = ini.parse_bytes(after_bytes, path)
    # What every tool reads: the user's keys gone, its line there, the rest unchanged.
    expected = before.values_with_defaults()
    user = expected["u"]
    user.pop("aws_access_key_id", None)
    user.pop("aws_secret_access_key", None)
    user["credential_process"] = IMPORT["credential_process"] or ""
    assert after.values_with_defaults() == expected
    read_before = botocore_reads(text.encode())
    if read_before is not None:
        assert botocore_reads(after_bytes) == {**read_before, "u": after.section_values()["u"]}
    # Byte for byte: the lines removed are the user's key lines and theirs only, and
    # the one line added is the credential_process line.
    removed_ok = {
        index
        for section in before.find("u")
        for key in ("aws_access_key_id", "aws_secret_access_key")
        for first, end in (*section.shadowed.get(key, ()), section.key_spans.get(key, (0, 0)))
        for index in range(first, end)
    }
    added = [i for i, line in enumerate(after.lines) if line.rstrip("\r\n") == LINE]
    assert len(added) == 1
    if removed_ok:  # in place of the first line that went
        assert added[0] == min(removed_ok)
    kept = [line for i, line in enumerate(after.lines) if i != added[0]]
    assert kept == [line for i, line in enumerate(before.lines) if i not in removed_ok]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_import_then_restore_gives_the_same_bytes(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    original = (
        b"# work\r\n[u]\r\nregion = eu-west-1\r\naws_access_key_id = AKIAUSER\r\n"
        b"aws_secret_access_key = user-secret\r\n; after the keys\r\n\r\n[other]\r\n"
        b"aws_access_key_id = AKIAOTHER\r\naws_secret_access_key = other"
    )
    path.write_bytes(original)
    set_section_keys(
        path,
        "u",
        IMPORT,
        expect={"aws_access_key_id": "AKIAUSER", "aws_secret_access_key": "user-secret"},
    )
    assert path.read_bytes() == original.replace(
        b"aws_access_key_id = AKIAUSER\r\naws_secret_access_key = user-secret\r\n",
        LINE.encode() + b"\r\n",
    )
    set_section_keys(
        path,
        "u",
        {
            "credential_process": None,
            "aws_access_key_id": "AKIAUSER",
            "aws_secret_access_key": "user-secret",
        },
    )
    assert path.read_bytes() == original


def test_a_new_value_keeps_the_line_as_it_was_written(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    # The key set twice: the line botocore reads takes the value, the other goes (no
    # old key id is left behind to come back).
    path.write_bytes(b"[u]\nAWS_ACCESS_KEY_ID=AKIAEARLY\naws_secret_access_key :  old\n"
                     b"aws_access_key_id=AKIAOLD\n")  # fmt: skip
    set_section_keys(path, "u", {"aws_access_key_id": "AKIANEW", "aws_secret_access_key": "new"})
    assert path.read_bytes() == b"[u]\naws_secret_access_key :  new\naws_access_key_id=AKIANEW\n"


def test_a_missing_section_is_appended(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_bytes(b"[x]\na = 1")
    set_section_keys(path, "u", {"aws_access_key_id": "A", "aws_secret_access_key": "B"})
    assert (
        path.read_bytes()
        == b"[x]\na = 1\n\n[u]\naws_access_key_id = A\naws_secret_access_key = B\n"
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (f"[u]\n{OWNER_KEY} = x\naws_access_key_id = A\n", "holds a session mfa-tui wrote"),
        ("[DEFAULT]\naws_access_key_id = D\n[u]\nregion = r\n", "[DEFAULT]"),
        ("[u\naws_access_key_id = A\n[u]\naws_access_key_id = B\n", "malformed header"),
        # Indented less than the key: not part of it, but the key's once it is gone.
        ("[u]\n    aws_access_key_id = A\n  junk\n", "indented line"),
    ],
)
def test_refusals_leave_the_file_as_it_was(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "credentials"
    path.write_text(text)
    with pytest.raises(FileWriteError) as info:
        set_section_keys(path, "u", {"aws_access_key_id": None, "aws_secret_access_key": None})
    assert words in info.value.message
    assert path.read_text() == text


def test_keys_that_changed_under_the_lock_are_not_removed(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[u]\naws_access_key_id = AKIANEWER\naws_secret_access_key = s\n")
    with pytest.raises(FileWriteError, match="changed while mfa-tui worked"):
        set_section_keys(path, "u", IMPORT, expect={"aws_access_key_id": "AKIAOLDER"})
    assert "AKIANEWER" in path.read_text()


@pytest.mark.parametrize("name", ["DEFAULT", "a]b", " padded"])
def test_names_and_values_that_cannot_be_written(tmp_path: Path, name: str) -> None:
    path = tmp_path / "credentials"
    path.write_text("[u]\naws_access_key_id = A\n")
    with pytest.raises(FileWriteError):
        set_section_keys(path, name, {"aws_access_key_id": "B"})
    with pytest.raises(FileWriteError):
        set_section_keys(path, "u", {"aws_access_key_id": "B\n[evil]"})
    assert path.read_text() == "[u]\naws_access_key_id = A\n"
