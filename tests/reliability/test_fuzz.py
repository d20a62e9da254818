"""Fuzzing the parser and the writer with arbitrary bytes: only our error type escapes,
and a write never changes a byte outside the section it owns."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfa_tui.aws import ini
from mfa_tui.aws.credentials import write_section
from mfa_tui.aws.files import AwsPaths, load_profiles
from mfa_tui.errors import MfaTuiError

NAME = "fuzz-mfa"
VALUES = {
    "aws_access_key_id": "ASIAFUZZ",
    "aws_secret_access_key": "s",
    "aws_session_token": "t",
    "expiration": "2030-01-01T00:00:00Z",
    "mfa_tui_source": "fuzz",
}

# Bytes with plenty of INI structure in them, and plenty without.
chunks = st.one_of(
    st.binary(max_size=40),
    st.sampled_from(
        [
            b"[",
            b"]",
            b"\n",
            b"\r\n",
            b"\r",
            b"=",
            b":",
            b" ",
            b"\t",
            b"#",
            b";",
            b"[profile x]\n",
            b"[fuzz-mfa]\n",
            b"key = v\n",
            b"  nested = 1\n",
            b"\xef\xbb\xbf",
            b"\xff",
            b"mfa_tui_source = fuzz\n",
            b"[DEFAULT]\n",
        ]
    ),
)
files = st.lists(chunks, max_size=30).map(b"".join)
fuzz_settings = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@fuzz_settings
@given(data=files)
def test_parser_never_raises_and_round_trips(tmp_path: Path, data: bytes) -> None:
    doc = ini.parse_bytes(data, tmp_path / "f")
    assert doc.to_bytes() == data
    for problem in doc.problems:
        assert problem.line >= 1


@fuzz_settings
@given(config=files, creds=files)
def test_loading_never_raises(tmp_path: Path, config: bytes, creds: bytes) -> None:
    (tmp_path / "c").write_bytes(config)
    (tmp_path / "k").write_bytes(creds)
    load_profiles(AwsPaths(tmp_path / "c", tmp_path / "k"))


@fuzz_settings
@given(data=files)
def test_writer_only_raises_our_error_and_keeps_foreign_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "credentials"
    path.write_bytes(data)
    before = ini.parse_bytes(data, path)
    owned = before.find(NAME)
    try:
        write_section(path, NAME, VALUES)
    except MfaTuiError:
        assert path.read_bytes() == data
        return
    after = ini.read(path)
    assert after.section_values()[NAME] == VALUES
    new = after.find(NAME)
    assert len(new) == 1
    if owned:
        # Everything before the first owned section and after it is unchanged.
        first = owned[0]
        assert after.lines[: new[0].start] == before.lines[: first.start]
        kept_after = [
            line
            for i, line in enumerate(before.lines[first.end :], start=first.end)
            if not any(s.start <= i < s.end for s in owned[1:])
        ]
        assert after.lines[new[0].end :] == kept_after
    else:
        assert path.read_bytes().startswith(data)
