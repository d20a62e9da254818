"""Crash-safe, locked replacement: 0600, 0700 folders, symlinks, refusals, concurrency."""

from __future__ import annotations

import multiprocessing
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from mfa_tui.aws import ini
from mfa_tui.aws.atomic import atomic_write_bytes, locked, replace_locked
from mfa_tui.aws.credentials import OWNER_KEY, write_section
from mfa_tui.errors import FileWriteError


def session_values(n: int = 1, source: str = "dev") -> dict[str, str]:
    return {
        "aws_access_key_id": f"ASIA{n:016d}",
        "aws_secret_access_key": f"secret-{n}",
        "aws_session_token": f"token-{n}",
        "expiration": "2030-01-01T00:00:00Z",
        OWNER_KEY: source,
    }


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_result_is_0600_whatever_the_file_had(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    path.write_text("[dev]\nk = v\n")
    path.chmod(0o644)
    write_section(path, "dev-mfa", session_values())
    assert mode(path) == 0o600
    path.chmod(0o664)
    atomic_write_bytes(path, b"x")
    assert mode(path) == 0o600


def test_missing_folders_are_created_0700(isolated_env: Path) -> None:
    path = isolated_env / "new" / ".aws" / "credentials"
    old_umask = os.umask(0o002)  # a permissive umask must not leak into ~/.aws
    try:
        write_section(path, "dev-mfa", session_values())
    finally:
        os.umask(old_umask)
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600
    assert mode(path.parent / "credentials.lock") == 0o600


def test_an_existing_folder_keeps_its_mode(isolated_env: Path) -> None:
    folder = isolated_env / ".aws"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    write_section(folder / "credentials", "dev-mfa", session_values())
    assert mode(folder) == 0o755


def test_a_symlink_stays_and_its_target_is_replaced(aws_dir: Path, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "aws-credentials"
    real.parent.mkdir()
    real.write_text("[dev]\naws_access_key_id = AKIA\n")
    real.chmod(0o644)
    inode = real.stat().st_ino
    link = aws_dir / "credentials"
    link.symlink_to(os.path.relpath(real, aws_dir))  # relative, as dotfile managers make them
    link_text = os.readlink(link)

    write_section(link, "dev-mfa", session_values())

    assert link.is_symlink() and os.readlink(link) == link_text
    assert real.stat().st_ino != inode  # replaced by a rename, not written in place
    assert mode(real) == 0o600
    assert set(ini.read(real).section_values()) == {"dev", "dev-mfa"}
    # The lock and temp files live beside the real file, so every path to it shares them.
    assert (real.parent / "aws-credentials.lock").exists()
    assert not (aws_dir / "credentials.lock").exists()


def test_a_chain_of_symlinks_replaces_the_final_file(aws_dir: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.write_text("[dev]\n")
    middle = tmp_path / "middle"
    middle.symlink_to(real)
    (aws_dir / "credentials").symlink_to(middle)
    write_section(aws_dir / "credentials", "dev-mfa", session_values())
    assert middle.is_symlink() and (aws_dir / "credentials").is_symlink()
    assert "dev-mfa" in ini.read(real).section_values()


def test_a_directory_is_refused(aws_dir: Path) -> None:
    (aws_dir / "credentials").mkdir()
    with pytest.raises(FileWriteError, match="is a directory"):
        write_section(aws_dir / "credentials", "dev-mfa", session_values())
    assert list((aws_dir / "credentials").iterdir()) == []


def test_a_read_only_file_is_refused_and_untouched(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    path.write_text("[dev]\n")
    path.chmod(0o444)
    with pytest.raises(FileWriteError, match="read-only") as info:
        write_section(path, "dev-mfa", session_values())
    assert "chmod u+w" in info.value.message
    assert path.read_text() == "[dev]\n" and mode(path) == 0o444


def test_a_file_where_the_folder_should_be_is_refused(isolated_env: Path) -> None:
    (isolated_env / ".aws").write_text("not a folder")
    with pytest.raises(FileWriteError):
        write_section(isolated_env / ".aws" / "credentials", "dev-mfa", session_values())
    assert (isolated_env / ".aws").read_text() == "not a folder"


def test_no_temp_file_can_be_made_is_a_write_error(
    aws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a read-only folder does (root ignores folder modes, so it is simulated).
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    path = aws_dir / "credentials"
    path.write_text("[dev]\n")
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(FileWriteError, match="Permission denied"):
        write_section(path, "dev-mfa", session_values())
    assert path.read_text() == "[dev]\n"


def test_a_failed_rename_leaves_the_old_file_and_no_temp(
    aws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    path = aws_dir / "credentials"
    path.write_text("[dev]\n")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(FileWriteError, match="No space left on device"):
        write_section(path, "dev-mfa", session_values())
    assert path.read_text() == "[dev]\n"
    assert sorted(p.name for p in aws_dir.iterdir()) == ["credentials", "credentials.lock"]


def test_stale_temp_files_from_a_crash_are_removed_and_do_not_block(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    path.write_text("[dev]\n")
    stale = [aws_dir / ".mfa-tui-credentials.abc123.tmp", aws_dir / ".mfa-tui-credentials.x.tmp"]
    for temp in stale:
        temp.write_text("half a file")
    (aws_dir / ".mfa-tui-credentials.dangling.tmp").symlink_to(aws_dir / "nowhere")
    unrelated = [aws_dir / ".mfa-tui-config.abc.tmp", aws_dir / "credentials.bak"]
    for other in unrelated:
        other.write_text("not ours to remove")
    (aws_dir / "credentials.lock").write_text("")  # left by a killed writer, not held
    write_section(path, "dev-mfa", session_values())
    assert not any(p.exists() or p.is_symlink() for p in stale)
    assert not (aws_dir / ".mfa-tui-credentials.dangling.tmp").is_symlink()
    assert all(p.read_text() == "not ours to remove" for p in unrelated)
    assert "dev-mfa" in ini.read(path).section_values()


def test_a_held_lock_times_out_with_a_message(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    path.write_text("[dev]\n")
    holder = FileLock(str(path) + ".lock")
    with (
        holder,
        pytest.raises(FileWriteError, match="locked by another mfa-tui process"),
        locked(path, timeout=0.1),
    ):
        pytest.fail("got a lock another writer holds")
    with locked(path, timeout=0.1) as target:  # released again
        assert target == path


def test_the_lock_is_released_when_the_write_fails(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    path.write_text("[dev]\n")
    path.chmod(0o400)
    with pytest.raises(FileWriteError):
        write_section(path, "dev-mfa", session_values())
    with locked(path, timeout=0.1):
        pass


# ---------------------------------------------------------------------------
# Concurrency: separate processes, the same file.


def _write_many(path: str, worker: int, count: int, start: Any) -> None:
    start.wait()
    for i in range(count):
        write_section(Path(path), f"w{worker}-mfa", session_values(i, source=f"w{worker}"))


def _hand_edits(path: str, count: int, start: Any) -> None:
    """Another writer honouring the same lock: appends whole sections by hand."""
    start.wait()
    for i in range(count):
        with locked(Path(path)) as target:
            data = target.read_bytes()
            replace_locked(
                target, data + f"\n# added by hand\n[hand-{i}]\nregion = r{i}\n".encode()
            )


@pytest.mark.slow
def test_concurrent_writers_lose_nothing(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    head = "# hand written, keep\n[dev]\naws_access_key_id = AKIADEV\n"
    path.write_text(head)
    workers, writes, hand = 4, 50, 25
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [
        ctx.Process(target=_write_many, args=(str(path), w, writes, start)) for w in range(workers)
    ]
    procs.append(ctx.Process(target=_hand_edits, args=(str(path), hand, start)))
    for proc in procs:
        proc.start()
    start.set()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0

    doc = ini.read(path)
    assert doc.problems == []
    assert path.read_text().startswith(head)
    names = [s.name for s in doc.sections]
    values = doc.section_values()
    for w in range(workers):
        assert names.count(f"w{w}-mfa") == 1
        assert values[f"w{w}-mfa"] == session_values(writes - 1, source=f"w{w}")
    assert sorted(n for n in names if n.startswith("hand-")) == sorted(
        f"hand-{i}" for i in range(hand)
    )
    assert len(names) == 1 + workers + hand
    assert mode(path) == 0o600
    assert [p.name for p in aws_dir.iterdir() if p.name.endswith(".tmp")] == []
