"""The rules for mfa-tui's own folders and files (mfa_tui/private_files.py).

The end-to-end attacks are in tests/reliability/test_local_attacker.py; these pin the
rules one by one. Tests run as root here: "another user" is a chown to a spare uid.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mfa_tui import private_files
from mfa_tui.private_files import UnsafePathError
from mfa_tui.settings import Settings, load_settings, save_settings

STRANGER = 4242
root_only = pytest.mark.skipif(os.getuid() != 0, reason="chown to another uid needs root")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_folders_are_made_0700_parents_too_whatever_the_umask(tmp_path: Path) -> None:
    before = os.umask(0)
    try:
        private_files.private_folder(str(tmp_path / "a" / "b" / "c"))
    finally:
        os.umask(before)
    assert [mode(tmp_path / p) for p in ("a", "a/b", "a/b/c")] == [0o700] * 3


def test_a_folder_others_can_write_on_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "open").mkdir()
    (tmp_path / "open").chmod(0o777)
    with pytest.raises(UnsafePathError, match=r"open can be changed by other users \(mode 777\)"):
        private_files.private_folder(str(tmp_path / "open" / "mine"))


def test_a_sticky_folder_on_the_way_is_fine_but_never_as_the_folder_itself(
    tmp_path: Path,
) -> None:
    sticky = tmp_path / "tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)
    private_files.private_folder(str(sticky / "mine"))
    assert mode(sticky / "mine") == 0o700
    with pytest.raises(UnsafePathError, match="can be changed by other users"):
        private_files.check_folder(str(sticky))


@root_only
def test_another_users_folder_or_link_on_the_way_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, STRANGER, STRANGER)
    with pytest.raises(UnsafePathError, match=f"theirs belongs to another user.*uid {STRANGER}"):
        private_files.check_folder(str(theirs))
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(mine)
    os.lchown(link, STRANGER, STRANGER)
    with pytest.raises(UnsafePathError, match="link is a link that belongs to another user"):
        private_files.check_folder(str(link / "sub"))


def test_a_link_of_ours_on_the_way_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "alias").symlink_to("real")
    private_files.private_folder(str(tmp_path / "alias" / "cache"))
    assert mode(tmp_path / "real" / "cache") == 0o700


@root_only
def test_group_write_is_fine_only_for_a_private_group(tmp_path: Path) -> None:
    # root's own group has nobody else in it, as a user private group has.
    folder = tmp_path / "upg"
    folder.mkdir(mode=0o770)
    folder.chmod(0o770)
    private_files.check_folder(str(folder))
    os.chown(folder, 0, STRANGER)
    with pytest.raises(UnsafePathError, match="can be changed by other users"):
        private_files.check_folder(str(folder))


def test_writes_replace_a_planted_link_and_leave_its_target_alone(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep")
    folder = private_files.private_folder(str(tmp_path / "own"))
    link = Path(folder) / "state.json"
    link.symlink_to(target)
    private_files.write_private(str(link), b"{}")
    assert target.read_text() == "keep"
    assert not link.is_symlink() and link.read_bytes() == b"{}" and mode(link) == 0o600
    assert [p.name for p in Path(folder).iterdir()] == ["state.json"], "no temp file left"


def test_reads_refuse_a_link_or_a_file_others_can_write(tmp_path: Path) -> None:
    folder = Path(private_files.private_folder(str(tmp_path / "own")))
    (tmp_path / "elsewhere").write_text("{}")
    (folder / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePathError, match="is a link"):
        private_files.read_private(str(folder / "link"), 100)
    (folder / "open").write_text("{}")
    (folder / "open").chmod(0o666)
    with pytest.raises(UnsafePathError, match="can be changed by other users"):
        private_files.read_private(str(folder / "open"), 100)
    assert private_files.read_private(str(folder / "missing"), 100) is None


def test_appending_never_follows_a_link(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep")
    folder = Path(private_files.private_folder(str(tmp_path / "log")))
    (folder / "daemon.log").symlink_to(target)
    with pytest.raises(UnsafePathError, match="is a link"):
        private_files.open_private_append(str(folder / "daemon.log"))
    assert target.read_text() == "keep"


def test_a_settings_file_kept_as_a_link_of_ours_is_written_where_it_points(
    isolated_env: Path,
) -> None:
    dotfiles = isolated_env / "dotfiles"
    dotfiles.mkdir(mode=0o700)
    real = dotfiles / "mfa-tui.toml"
    real.write_text("user_duration = 3600\n")
    link = isolated_env / ".config" / "mfa-tui" / "config.toml"
    link.parent.mkdir(parents=True, mode=0o700)
    link.symlink_to(real)
    save_settings(Settings(user_duration=7200), link)
    assert link.is_symlink() and "user_duration = 7200" in real.read_text()
    assert load_settings(link).user_duration == 7200
