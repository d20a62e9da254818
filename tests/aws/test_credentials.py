"""The lossless writer: one owned section changes, every other byte stays.

The property tests generate files as people and tools leave them (comments, CRLF and
lone CR, no newline at the end, a BOM, undecodable bytes, other profiles, malformed
lines, our own section somewhere in the middle, even twice) and check the bytes
outside the owned section before and after a write, a rewrite and a removal.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mfa_tui.aws import ini
from mfa_tui.aws.credentials import OWNER_KEY, is_owned, set_profile_keys, write_section
from mfa_tui.errors import FileWriteError

SESSION = "dev-mfa"


def session_values(n: int = 1, source: str = "dev") -> dict[str, str]:
    return {
        "aws_access_key_id": f"ASIA{n:016d}",
        "aws_secret_access_key": f"secret-{n}",
        "aws_session_token": f"token-{n}",
        "expiration": "2030-01-01T00:00:00Z",
        OWNER_KEY: source,
    }


def owned_block(newline: str = "\n", token: str = "old-token") -> bytes:
    return (
        f"[{SESSION}]{newline}aws_access_key_id = ASIAOLD{newline}"
        f"aws_session_token = {token}{newline}{OWNER_KEY} = dev{newline}"
    ).encode()


# Lines as people and tools really leave them. Each is bytes with its own ending (or
# none, for the last line of a file).
ENDING = st.sampled_from([b"\n", b"\r\n", b"\r", b"\n", b"\n"])
LINE_BODY = st.one_of(
    st.sampled_from(
        [
            b"",
            b"# a comment",
            b"; another comment",
            b"   # indented comment",
            b"[default]",
            b"[profile dev]",
            b"[dev]",
            b"[other] ; trailing",
            b"[dev-mfa-not]",
            b"region = eu-west-1",
            b"aws_access_key_id=AKIAKEEPME",
            b"aws_secret_access_key: keep-this-secret",
            b"s3 =",
            b"    max_concurrent_requests = 20",
            b"  indented = value",
            b"Key With Spaces = x",
            b"broken [header",
            b"[unclosed",
            b"just words",
            b"caf\xe9 = latin-1",
            b"[bad\xff]",
            b"\xef\xbb\xbf",
            b"\t",
            b"\x0c",
            b"x = a\xe2\x80\xa8b",
        ]
    ),
    st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")),
)
LINE = st.builds(lambda body, end: body + end, LINE_BODY, ENDING)
CHUNK = st.lists(LINE, max_size=10).map(b"".join)


def split_owned(data: bytes, header: str = SESSION) -> tuple[list[bytes], list[bytes], int]:
    """(lines outside every `[header]`, lines inside, index of the first) of a file."""
    doc = ini.parse_bytes(data, Path("f"))
    lines = [line.encode("utf-8", "surrogateescape") for line in doc.lines]
    if doc.bom:
        lines = [b"\xef\xbb\xbf", *lines]
    offset = 1 if doc.bom else 0
    inside: set[int] = set()
    first = -1
    for section in doc.find(header):
        if first < 0:
            first = section.start + offset
        inside.update(range(section.start + offset, section.end + offset))
    outside = [line for i, line in enumerate(lines) if i not in inside]
    return outside, [lines[i] for i in sorted(inside)], first


def strip_owned(data: bytes, header: str = SESSION) -> bytes:
    return b"".join(split_owned(data, header)[0])


def _indented_line_follows_owned(data: bytes) -> bool:
    """Whether the first line with content after an owned section starts with a blank."""
    doc = ini.parse_bytes(data, Path("x"))
    for section in doc.find(SESSION):
        after = [line for line in doc.lines[section.end :] if line.strip()]
        after = [line for line in after if line.strip()[0] not in "#;"]
        if after and after[0][0].isspace():
            return True
    return False


def test_an_indented_line_after_the_section_is_not_swallowed(aws_dir: Path) -> None:
    # Found by the property test below: junk indented less than the section's last key
    # is not part of the section, but after a rewrite it would continue our last key.
    path = aws_dir / "credentials"
    old = owned_block() + b"\x00\n    max_concurrent_requests = 20\n\t\x00\n[other]\nk = v\n"
    path.write_bytes(old)
    with pytest.raises(FileWriteError) as caught:
        write_section(path, SESSION, session_values(5))
    assert f"{path}:7: this indented line right after [{SESSION}]" in str(caught.value)
    assert path.read_bytes() == old
    config = aws_dir / "config"
    config.write_bytes(old.replace(f"[{SESSION}]".encode(), f"[profile {SESSION}]".encode()))
    with pytest.raises(FileWriteError, match=":7: this indented line"):
        set_profile_keys(config, SESSION, {"region": "eu-west-1"})
    assert config.read_bytes() == old.replace(
        f"[{SESSION}]".encode(), f"[profile {SESSION}]".encode()
    )
    path.write_bytes(old.replace(b"\t\x00\n", b"\x01\n"))  # at the margin: fine
    write_section(path, SESSION, session_values(5))
    assert ini.read(path).section_values()[SESSION] == session_values(5)


def _foreign_or_broken(data: bytes) -> bool:
    doc = ini.parse_bytes(data, Path("f"))
    sections = doc.find(SESSION)
    # Not ours to write: no mark, or a mark naming another profile than "dev" (an
    # indented line after it continues its value).
    foreign = any(s.values.get(OWNER_KEY) != "dev" for s in sections)
    broken = any(s.broken and s.name.lstrip("[").startswith(SESSION) for s in doc.sections)
    return foreign or broken


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=CHUNK,
    after=CHUNK,
    with_section=st.integers(0, 2),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_write_keeps_every_byte_outside_the_owned_section(
    aws_dir: Path, before: bytes, after: bytes, with_section: int, newline: str
) -> None:
    path = aws_dir / "credentials"
    if before and not before.endswith((b"\n", b"\r")):
        before += b"\n"
    # 0: no session yet; 1: one in the middle; 2: one in the middle and a duplicate.
    old = before
    if with_section:
        old += owned_block(newline) + after
    if with_section == 2:
        old += b"\n" + owned_block(newline, token="dup-token")
    if not with_section:
        old += after
    assume(not _foreign_or_broken(old))
    path.write_bytes(old)
    old_outside, _, old_first = split_owned(old)

    if _indented_line_follows_owned(old):
        # It would be read into mfa-tui's last key (and dropped by a later rewrite).
        with pytest.raises(FileWriteError, match=r":\d+: this indented line right after"):
            write_section(path, SESSION, session_values(5))
        assert path.read_bytes() == old
        return
    write_section(path, SESSION, session_values(5))

    new = path.read_bytes()
    new_outside, new_inside, new_first = split_owned(new)
    doc = ini.parse_bytes(new, path)
    (section,) = doc.find(SESSION)
    assert section.values == session_values(5)
    newline = ini.parse_bytes(old, path).newline  # the file's own line ends are used
    expected_block = b"".join(
        f"{line}{newline}".encode()
        for line in [f"[{SESSION}]", *(f"{k} = {v}" for k, v in session_values(5).items())]
    )
    assert b"".join(new_inside) == expected_block
    if with_section:
        # Rewritten in place: the same bytes around it, starting on the same line.
        assert new_outside == old_outside
        assert new_first == old_first
    else:
        # Appended: the old file is a prefix, then at most a line end and a blank line,
        # and no old line merged with what was added.
        assert new.startswith(old)
        assert new.endswith(expected_block)
        gap = new[len(old) : len(new) - len(expected_block)]
        assert gap.strip(b"\r\n") == b"" and len(gap) <= 4
        old_lines = ini.split_lines(old.decode("utf-8", "surrogateescape"))
        new_lines = ini.split_lines(new.decode("utf-8", "surrogateescape"))
        if old_lines:
            assert new_lines[: len(old_lines) - 1] == old_lines[:-1]
            assert new_lines[len(old_lines) - 1].startswith(old_lines[-1])
        blank_lines = len(new_lines) - len(old_lines) - len(session_values(5)) - 1
        assert blank_lines in (0, 1)
        assert doc.problems == ini.parse_bytes(old, path).problems


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before=CHUNK, after=CHUNK)
def test_remove_keeps_every_other_byte(aws_dir: Path, before: bytes, after: bytes) -> None:
    path = aws_dir / "credentials"
    if before and not before.endswith((b"\n", b"\r")):
        before += b"\n"
    old = before + owned_block() + after
    assume(not _foreign_or_broken(old))
    path.write_bytes(old)
    write_section(path, SESSION, None)
    new = path.read_bytes()
    assert new == strip_owned(old)
    assert ini.parse_bytes(new, path).find(SESSION) == []


def test_rewrite_keeps_position_and_neighbours(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    head = "# mine, keep me\n[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = KEEP\n\n"
    tail = "\n; between\n[other]\nregion=x"
    path.write_text(head + owned_block().decode() + tail)
    write_section(path, SESSION, session_values(2))
    write_section(path, SESSION, session_values(3))
    text = path.read_text()
    block = "".join(f"{k} = {v}\n" for k, v in session_values(3).items())
    assert text == f"{head}[{SESSION}]\n{block}{tail}"


def test_a_new_section_goes_at_the_end_in_the_files_line_endings(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    path.write_bytes(b"\xef\xbb\xbf[dev]\r\naws_access_key_id = A\r\n# last, no newline")
    write_section(path, SESSION, session_values())
    data = path.read_bytes()
    assert data.startswith(
        b"\xef\xbb\xbf[dev]\r\naws_access_key_id = A\r\n# last, no newline\r\n\r\n"
    )
    assert data.endswith(f"{OWNER_KEY} = dev\r\n".encode())
    assert b"\n" not in data.replace(b"\r\n", b"")


@pytest.mark.parametrize(
    ("old", "start"),
    [
        (b"[dev]\rk = v\r", b"[dev]\rk = v\r\r[dev-mfa]\n"),
        (b"[dev]\rk = v", b"[dev]\rk = v\n\n[dev-mfa]\n"),
    ],
)
def test_a_new_section_after_lone_cr_line_ends_merges_nothing(
    aws_dir: Path, old: bytes, start: bytes
) -> None:
    # An LF written right after a CR would read as one CRLF: no blank line, one line less.
    path = aws_dir / "credentials"
    path.write_bytes(old)
    write_section(path, SESSION, session_values())
    new = path.read_bytes()
    assert new.startswith(start)
    assert [s.name for s in ini.parse_bytes(new, path).sections] == ["dev", SESSION]


def test_writing_into_a_missing_file_creates_just_the_section(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    write_section(path, SESSION, session_values())
    assert path.read_text() == f"[{SESSION}]\n" + "".join(
        f"{k} = {v}\n" for k, v in session_values().items()
    )


def test_removing_what_is_not_there_touches_nothing(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    write_section(path, SESSION, None)
    assert not path.exists()  # no empty credentials file appears
    path.write_bytes(b"[dev]\nk = v")
    before = path.stat()
    write_section(path, SESSION, None)
    assert path.read_bytes() == b"[dev]\nk = v"
    assert path.stat().st_ino == before.st_ino  # not even rewritten


def test_a_foreign_section_is_refused_by_name_until_deleted(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    original = b"[dev-mfa]\naws_access_key_id = AKIAMINE\naws_secret_access_key = mine\n"
    path.write_bytes(original)
    with pytest.raises(FileWriteError) as info:
        write_section(path, SESSION, session_values())
    assert f"[{SESSION}]" in info.value.message
    assert str(path) in info.value.message and "not written by mfa-tui" in info.value.message
    assert "delete it" in info.value.message
    assert path.read_bytes() == original
    assert not is_owned(path, SESSION)
    # The other way to hand it over: remove it.
    path.write_bytes(b"")
    write_section(path, SESSION, session_values())
    assert ini.read(path).section_values()[SESSION] == session_values()
    assert is_owned(path, SESSION)


def test_a_hand_written_duplicate_of_our_section_is_not_dropped(aws_dir: Path) -> None:
    # Writing removes later copies of our section; a copy without the mark may hold the
    # person's own keys, so the write is refused instead.
    path = aws_dir / "credentials"
    original = owned_block() + b"\n[dev-mfa]\naws_secret_access_key = HANDWRITTEN\n"
    path.write_bytes(original)
    assert not is_owned(path, SESSION)
    with pytest.raises(FileWriteError, match=r"\[dev-mfa\]"):
        write_section(path, SESSION, session_values())
    assert path.read_bytes() == original


def test_a_malformed_header_naming_our_section_blocks_the_write(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    original = b"[dev]\nk = v\n[dev-mfa\naws_session_token = x\n"
    path.write_bytes(original)
    with pytest.raises(FileWriteError) as info:
        write_section(path, SESSION, session_values())
    assert f"{path}:3:" in info.value.message
    assert path.read_bytes() == original


def test_a_malformed_header_for_another_name_does_not_block(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    path.write_bytes(b"[dev-mfa-old\nx = 1\n")  # starts with our name, but is another one
    write_section(path, SESSION, session_values())
    write_section(path, "d", {OWNER_KEY: "x"})  # a substring of every header in the file
    assert set(ini.read(path).section_values()) == {SESSION, "d"}


@pytest.mark.parametrize(
    "name",
    ["a]b", "a\nb", "dev\n", " dev", "dev\t", "#x", ";x", "", "a=b\n[evil]", "x\r", "DEFAULT"],
)
def test_names_that_would_break_the_file_are_refused_and_the_file_untouched(
    aws_dir: Path, name: str
) -> None:
    path = aws_dir / "credentials"
    path.write_bytes(b"[keep]\nx = 1\n")
    with pytest.raises(FileWriteError, match="refusing to write section"):
        write_section(path, name, session_values())
    with pytest.raises(FileWriteError, match="refusing to write section"):
        write_section(path, name, None)
    assert path.read_bytes() == b"[keep]\nx = 1\n"


@pytest.mark.parametrize("name", ["has space-mfa", "開発 role-mfa", "[x", 'it\'s "q"', "é", "-a"])
def test_any_other_name_is_written_verbatim_and_botocore_reads_it(aws_dir: Path, name: str) -> None:
    import botocore.configloader

    path = aws_dir / "credentials"
    path.write_bytes(b"[keep]\nx = 1\n")
    write_section(path, name, session_values())
    assert path.read_bytes().startswith(b"[keep]\nx = 1\n\n")
    assert botocore.configloader.raw_config_parse(str(path))[name] == session_values()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("aws_session_token", "tok\n[default]\naws_access_key_id = EVIL"),
        ("aws_session_token", "tok\rx"),
        ("aws_session_token", " padded"),
        ("bad key]", "x"),
        ("a=b", "x"),
    ],
)
def test_values_that_would_break_the_file_are_refused(aws_dir: Path, key: str, value: str) -> None:
    path = aws_dir / "credentials"
    path.write_bytes(b"[keep]\n")
    with pytest.raises(FileWriteError):
        write_section(path, SESSION, {**session_values(), key: value})
    assert path.read_bytes() == b"[keep]\n"


def test_a_section_without_the_mark_is_never_written(aws_dir: Path) -> None:
    with pytest.raises(FileWriteError, match=OWNER_KEY):
        write_section(aws_dir / "credentials", SESSION, {"aws_access_key_id": "x"})
    assert not (aws_dir / "credentials").exists()


def test_edits_made_since_our_last_read_are_kept(aws_dir: Path) -> None:
    from mfa_tui.aws.files import load_profiles

    path = aws_dir / "credentials"
    path.write_text("[dev]\naws_access_key_id = A\n")
    stale = load_profiles()  # what a dashboard would have in memory
    with path.open("a") as f:  # `aws configure set` a moment later
        f.write("[added-by-hand]\nregion = x\n")
    write_section(path, SESSION, session_values())
    assert "added-by-hand" not in stale.profiles
    assert set(ini.read(path).section_values()) == {"dev", "added-by-hand", SESSION}
