"""Edits by programs that ignore our lock, and files far larger than anyone's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mfa_tui.aws import credentials, ini
from mfa_tui.aws.credentials import write_section
from mfa_tui.aws.files import AwsPaths, load_profiles
from mfa_tui.errors import FileWriteError

VALUES = {
    "aws_access_key_id": "ASIANEW",
    "aws_secret_access_key": "s",
    "aws_session_token": "t",
    "expiration": "2030-01-01T00:00:00Z",
    "mfa_tui_source": "dev",
}


def test_a_hand_edit_between_our_read_and_replace_is_kept(
    aws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = aws_dir / "credentials"
    path.write_text("[dev]\naws_access_key_id = AKIA\naws_secret_access_key = K\n")
    real = credentials._sections_written
    edits = iter([True])

    def racing(*args: object, **kwargs: object) -> bytes | None:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        if next(edits, False):
            # `aws configure set` (no lock) lands right after we read the file.
            time.sleep(0.01)
            with path.open("a") as fh:
                fh.write("\n[hand]\nregion = eu-north-1\n")
        return result

    monkeypatch.setattr(credentials, "_sections_written", racing)
    write_section(path, "dev-mfa", VALUES)
    values = ini.read(path).section_values()
    assert values["hand"] == {"region": "eu-north-1"}, "the hand edit was overwritten"
    assert values["dev-mfa"] == VALUES


def test_a_hand_edit_while_our_new_file_is_synced_is_kept(
    aws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The window that lost 6 of 10,124 edits of a program rewriting the file every 2 ms
    # during 40 refreshes: after mfa-tui's last look, during the fsync of its new copy,
    # before the rename. The edit lands exactly there, every time.
    path = aws_dir / "credentials"
    path.write_text("[dev]\naws_access_key_id = AKIA\naws_secret_access_key = K\n")
    real_fsync = os.fsync
    edits = iter([True])

    def fsync_with_an_edit(fd: int) -> None:
        real_fsync(fd)
        if next(edits, False):
            with path.open("a") as fh:  # written in place, as `aws configure set` does
                fh.write("\n[hand]\nregion = eu-north-1\n")

    monkeypatch.setattr(os, "fsync", fsync_with_an_edit)
    write_section(path, "dev-mfa", VALUES)
    values = ini.read(path).section_values()
    assert values["hand"] == {"region": "eu-north-1"}, "the hand edit was overwritten"
    assert values["dev-mfa"] == VALUES
    assert not list(aws_dir.glob(".mfa-tui-*")), "the unused new copy was removed"


def test_a_file_that_never_stops_changing_is_left_alone(
    aws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = aws_dir / "credentials"
    path.write_text("[dev]\nx = 1\n")
    real = credentials._sections_written
    count = iter(range(100))

    def racing(*args: object, **kwargs: object) -> bytes | None:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        time.sleep(0.01)
        with path.open("a") as fh:
            fh.write(f"# edit {next(count)}\n")
        return result

    monkeypatch.setattr(credentials, "_sections_written", racing)
    with pytest.raises(FileWriteError, match="kept changing"):
        write_section(path, "dev-mfa", VALUES)
    assert "dev-mfa" not in path.read_text()


@pytest.mark.slow
def test_fifty_thousand_profiles_and_ten_megabytes(aws_dir: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.generate import generate

    config, creds = generate(50_000)
    padding = "# " + "x" * 200 + "\n"
    config += padding * ((10_000_000 - len(config)) // len(padding) + 1)
    (aws_dir / "config").write_text(config)
    (aws_dir / "credentials").write_text(creds)
    assert (aws_dir / "config").stat().st_size >= 10_000_000
    started = time.monotonic()
    result = load_profiles(AwsPaths(aws_dir / "config", aws_dir / "credentials"))
    assert len(result.profiles) >= 49_000 and result.problems == []
    assert time.monotonic() - started < 30
    before = (aws_dir / "credentials").read_bytes()
    write_section(
        aws_dir / "credentials", "user-00007-mfa", {**VALUES, "mfa_tui_source": "user-00007"}
    )
    after = (aws_dir / "credentials").read_bytes()
    assert len(after) - len(before) < 200
    done = subprocess.run(
        [sys.executable, "-m", "mfa_tui", "list", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == len(result.profiles)


def test_planted_symlinks_cannot_redirect_a_write(aws_dir: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    path = aws_dir / "credentials"
    path.write_text("[dev]\nx = 1\n")
    lock = aws_dir / "credentials.lock"
    lock.symlink_to(victim)
    with pytest.raises(FileWriteError, match="cannot lock"):
        write_section(path, "dev-mfa", VALUES)
    assert victim.read_text() == "precious\n"
    assert path.read_text() == "[dev]\nx = 1\n"
    lock.unlink()
    # A symlink planted where a temp file would go is removed, never written through.
    planted = aws_dir / ".mfa-tui-credentials.planted.tmp"
    planted.symlink_to(victim)
    write_section(path, "dev-mfa", VALUES)
    assert victim.read_text() == "precious\n"
    assert not planted.is_symlink()
    assert ini.read(path).section_values()["dev-mfa"] == VALUES
