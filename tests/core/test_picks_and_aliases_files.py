"""The dashboard's state files (pins, aliases): kept by the state files' rules (atomic,
0600, links replaced not followed, folders others could change refused), damage ignored."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mfa_tui.core.account_names import AliasCache
from mfa_tui.core.picks import Picks
from mfa_tui.errors import MfaTuiError


def test_written_atomically_owner_only_and_read_back(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    Picks(pins=["a"]).save(folder)
    AliasCache({"123456789012": ("team-prod", 1000.0)}).save(folder)
    assert Picks.load(folder).pins == ["a"]
    assert AliasCache.load(folder).known() == {"123456789012": "team-prod"}
    path = folder / "picks.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700
    # No temp file left beside them (each has its lock file, as every state file).
    assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock")) == [
        "accounts.json",
        "picks.json",
    ]


def test_a_symlink_in_its_place_is_never_followed(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text('{"pins": ["planted"]}')
    (folder / "picks.json").symlink_to(victim)
    assert Picks.load(folder) == Picks()  # not read through
    # As for codes.json: a link where a state file should be is named, not written.
    with pytest.raises(MfaTuiError, match=r"picks\.json is a link"):
        Picks(pins=["mine"]).save(folder)
    assert victim.read_text() == '{"pins": ["planted"]}'


def test_a_folder_others_may_change_is_refused_and_read_as_empty(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "picks.json").write_text('{"pins": ["planted"]}')
    os.chmod(shared, 0o777)
    assert Picks.load(shared) == Picks()
    with pytest.raises(MfaTuiError, match=r"others|anyone"):
        Picks(pins=["a"]).save(shared)
    assert (shared / "picks.json").read_text() == '{"pins": ["planted"]}'


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
