"""The credentials writer: lossless, owned sections only, atomic, 0600, locked."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfa_tui.aws import ini
from mfa_tui.aws.credentials import OWNER_KEY, set_profile_keys, write_section
from mfa_tui.aws.names import is_safe_profile_name
from mfa_tui.errors import FileWriteError


def session(n: int = 1, source: str = "test-user") -> dict[str, str]:
    return {
        "aws_access_key_id": f"ASIA{n:016d}",
        "aws_secret_access_key": f"secret{n}",
        "aws_session_token": f"token{n}",
        "expiration": "2030-01-01T00:00:00Z",
        OWNER_KEY: source,
    }


def owned_span(data: bytes, path: Path, name: str) -> tuple[bytes, bytes]:
    """The bytes before and after the (single) section `name`."""
    doc = ini.parse_bytes(data, path)
    sections = doc.find(name)
    assert len(sections) == 1
    s = sections[0]
    prefix = ("\ufeff" if doc.bom else "") + "".join(doc.lines[: s.start])
    suffix = "".join(doc.lines[s.end :])
    return (
        prefix.encode("utf-8", "surrogateescape"),
        suffix.encode("utf-8", "surrogateescape"),
    )


# Lines people (and tools) really put in these files, odd ones included.
line = st.one_of(
    st.just("\n"),
    st.just("# a comment\n"),
    st.just("; another\n"),
    st.just("[default]\n"),
    st.just("[profile dev]\n"),
    st.just("[other]\r\n"),
    st.just("region = eu-west-1\n"),
    st.just("aws_access_key_id=AKIAOLD\n"),
    st.just("s3 =\n    max_concurrent_requests = 20\n"),
    st.just("  indented = value\n"),
    st.just("key: colon style\n"),
    st.just("broken [header\n"),
    st.just("[unclosed\n"),
    st.just("no newline at end"),
    st.binary(min_size=1, max_size=6).map(lambda b: b.decode("latin-1") + "\n"),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20).map(
        lambda t: t.replace("\r", "").replace("\n", "") + "\n"
    ),
)


# Session profile names as botocore reads them from the credentials file, verbatim:
# spaces, quotes and non-ASCII included (`<profile>-mfa` of any profile name).
session_name = st.one_of(
    st.sampled_from(
        ["test-user-mfa", "my profile-mfa", "開発 role-mfa", 'it\'s "quoted"-mfa', "[x-mfa"]
    ),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=16
    ).filter(is_safe_profile_name),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(head=st.lists(line, max_size=12), bom=st.booleans(), name=session_name)
def test_new_section_keeps_every_other_byte(
    tmp_path: Path, head: list[str], bom: bool, name: str
) -> None:
    path = tmp_path / "credentials"
    text = "".join(head)
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8", "surrogateescape")
    if f"[{name}".encode() in raw:
        return
    path.write_bytes(raw)
    write_section(path, name, session())
    after = path.read_bytes()
    before_part, after_part = owned_span(after, path, name)
    assert after_part == b""
    # The old file is all there; at most a newline and one blank line were added.
    assert before_part.startswith(raw)
    assert set(before_part[len(raw) :].replace(b"\r", b"")) <= {ord("\n")}
    assert len(before_part) - len(raw) <= 4


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(head=st.lists(line, max_size=8), tail=st.lists(line, max_size=8), name=session_name)
def test_rewrite_keeps_place_and_every_other_byte(
    tmp_path: Path, head: list[str], tail: list[str], name: str
) -> None:
    path = tmp_path / "credentials"
    head_text = "".join(head)
    if head_text and not head_text.endswith("\n"):
        head_text += "\n"
    tail_text = "".join(tail)
    # A tail whose first line with content is indented (comments are transparent)
    # would continue our section's last value.
    content = [t for t in tail_text.splitlines() if t.strip() and t.strip()[0] not in "#;"]
    if (content and content[0][:1] in (" ", "\t")) or f"[{name}" in head_text + tail_text:
        return
    if tail_text and not tail_text.lstrip("\n").startswith(("[", "#", ";")) and tail_text.strip():
        tail_text = "[after]\n" + tail_text
    old_section = (
        f"[{name}]\naws_access_key_id = ASIAOLD\nexpiration = 2020-01-01T00:00:00Z\n"
        f"{OWNER_KEY} = test-user\n"
    )
    original = (head_text + old_section + tail_text).encode("utf-8", "surrogateescape")
    path.write_bytes(original)
    before_prefix, before_suffix = owned_span(original, path, name)
    write_section(path, name, session(7))
    after = path.read_bytes()
    after_prefix, after_suffix = owned_span(after, path, name)
    assert (after_prefix, after_suffix) == (before_prefix, before_suffix)
    values = ini.parse_bytes(after, path).section_values()[name]
    assert values["aws_session_token"] == "token7"


def test_foreign_section_is_refused_until_marked_as_ours(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    original = b"[test-user-mfa]\naws_access_key_id = AKIAMINE\naws_secret_access_key = x\n"
    path.write_bytes(original)
    with pytest.raises(FileWriteError) as info:
        write_section(path, "test-user-mfa", session())
    assert "[test-user-mfa]" in info.value.message
    assert "not written by mfa-tui" in info.value.message
    assert f"add the line '{OWNER_KEY} = test-user' to it" in info.value.message
    assert path.read_bytes() == original
    # The person looked, and hands it over with the one line the message names.
    path.write_bytes(original + f"{OWNER_KEY} = test-user\n".encode())
    write_section(path, "test-user-mfa", session())
    assert ini.read(path).section_values()["test-user-mfa"][OWNER_KEY] == "test-user"


def test_result_is_0600_and_folder_0700(isolated_env: Path) -> None:
    path = isolated_env / "fresh" / "credentials"
    write_section(path, "a-mfa", session())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)
    write_section(path, "a-mfa", session(2))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_symlink_stays_a_symlink(aws_dir: Path, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "credentials"
    real.parent.mkdir()
    real.write_text("[test-user]\naws_access_key_id = AKIA\n")
    link = aws_dir / "credentials"
    link.symlink_to(real)
    write_section(link, "test-user-mfa", session())
    assert link.is_symlink()
    assert "test-user-mfa" in ini.read(real).section_values()


@pytest.mark.parametrize("name", ["a]b", "a\nb", " lead", "#comment", "", "a=b\n[evil]"])
def test_unsafe_names_are_refused(aws_dir: Path, name: str) -> None:
    path = aws_dir / "credentials"
    path.write_text("[keep]\nx = 1\n")
    with pytest.raises(FileWriteError, match="refusing to write section"):
        write_section(path, name, session())
    assert path.read_text() == "[keep]\nx = 1\n"


def test_values_with_newlines_are_refused(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    bad = {**session(), "aws_session_token": "tok\n[default]\naws_access_key_id = EVIL"}
    with pytest.raises(FileWriteError):
        write_section(path, "a-mfa", bad)
    assert not path.exists()


def test_directory_and_read_only_targets_are_refused(aws_dir: Path) -> None:
    folder = aws_dir / "credentials"
    folder.mkdir()
    with pytest.raises(FileWriteError, match="is a directory"):
        write_section(folder, "a-mfa", session())
    ro = aws_dir / "ro-credentials"
    ro.write_text("[x]\n")
    ro.chmod(0o400)
    with pytest.raises(FileWriteError, match="read-only"):
        write_section(ro, "a-mfa", session())
    assert ro.read_text() == "[x]\n"


def test_stale_temp_file_from_a_crash_is_cleaned(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    path.write_text("[x]\ny = 1\n")
    stale = aws_dir / ".mfa-tui-credentials.abc123.tmp"
    stale.write_text("half a file")
    (aws_dir / "credentials.lock").write_text("")  # left by a killed writer, not held
    write_section(path, "a-mfa", session())
    assert not stale.exists()
    assert "a-mfa" in ini.read(path).section_values()


def test_set_profile_keys_changes_one_line(aws_dir: Path) -> None:
    path = aws_dir / "config"
    original = "# mine\n[profile u]\nregion = eu-west-1\n\n# next\n[profile v]\nregion = x\n"
    path.write_text(original)
    set_profile_keys(path, "u", {"mfa_serial": "arn:aws:iam::1:mfa/u"})
    assert path.read_text() == original.replace(
        "region = eu-west-1\n", "region = eu-west-1\nmfa_serial = arn:aws:iam::1:mfa/u\n"
    )
    set_profile_keys(path, "u", {"region": "us-east-2"})
    assert path.read_text().count("region = us-east-2") == 1


def _writer(path: str, worker: int, count: int) -> None:
    for i in range(count):
        write_section(Path(path), f"w{worker}-mfa", session(i, source=f"w{worker}"))


@pytest.mark.slow
def test_concurrent_writers_lose_nothing(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    path.write_text("# hand written\n[test-user]\naws_access_key_id = AKIA\n")
    workers, count = 4, 40
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), w, count)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    doc = ini.read(path)
    assert doc.problems == []
    names = [s.name for s in doc.sections]
    assert names[0] == "test-user"
    for w in range(workers):
        assert names.count(f"w{w}-mfa") == 1
        assert doc.section_values()[f"w{w}-mfa"]["aws_session_token"] == f"token{count - 1}"
    assert path.read_text().startswith("# hand written\n[test-user]\n")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
