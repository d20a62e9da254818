"""The dashboard's state files: atomic, 0600, links replaced not followed, damage ignored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mfa_tui.core.account_names import AliasCache
from mfa_tui.core.picks import Picks
from mfa_tui.core.state_files import read_state, write_state
from mfa_tui.errors import FileWriteError


def test_written_atomically_owner_only_and_read_back(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    path = write_state("picks.json", {"pins": ["a"]}, folder)
    assert read_state("picks.json", folder) == {"pins": ["a"]}
    assert path.stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in folder.iterdir()] == ["picks.json"]  # no temp file left


def test_a_symlink_in_its_place_is_replaced_never_written_through(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (folder / "picks.json").symlink_to(victim)
    assert read_state("picks.json", folder) is None  # not followed for reading either
    write_state("picks.json", {"pins": []}, folder)
    assert victim.read_text() == "keep me"
    assert not (folder / "picks.json").is_symlink()


def test_a_folder_that_is_a_symlink_or_open_to_others_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(FileWriteError, match="not a folder"):
        write_state("picks.json", {}, tmp_path / "link")
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(FileWriteError, match="others may write"):
        write_state("picks.json", {}, shared)


def test_damaged_files_read_as_empty(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    (folder / "picks.json").write_text("{not json")
    (folder / "accounts.json").write_text('{"accounts": {"1": "x", "2": {"alias": 3}}}')
    assert Picks.load(folder) == Picks()
    assert AliasCache.load(folder).known() == {}


def test_picks_rank_by_frecency_and_keep_pins_in_order(tmp_path: Path) -> None:
    picks = Picks()
    now = 1_000_000.0
    picks.used("old", now - 30 * 86_400)
    picks.used("old", now - 30 * 86_400)
    picks.used("recent", now - 60)
    assert picks.score("recent", now) > picks.score("old", now) > picks.score("never", now)
    assert picks.toggle_pin("b") and picks.toggle_pin("a")
    assert not picks.toggle_pin("b")
    picks.save(tmp_path)
    again = Picks.load(tmp_path)
    assert again.pins == ["a"] and again.uses == picks.uses
