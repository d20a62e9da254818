"""mfa-tui on macOS: its folders, the cached `list` there, and README's launchd agent."""

from __future__ import annotations

import os
import plistlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mfa_tui import locations
from mfa_tui.commands import daemon
from mfa_tui.core import codes
from mfa_tui.settings import load_settings, settings_path

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def macos(monkeypatch: pytest.MonkeyPatch, isolated_env: Path) -> dict[str, str]:
    """macOS as it comes (no XDG variables); returns the environment for child processes."""
    monkeypatch.setattr(locations, "SYSTEM", locations.MACOS)
    for name in list(os.environ):
        if name.startswith("XDG_"):
            monkeypatch.delenv(name)
    return dict(os.environ)


def test_every_file_is_in_its_macos_folder(macos: dict[str, str], isolated_env: Path) -> None:
    support = isolated_env / "Library" / "Application Support" / "mfa-tui"
    assert settings_path() == support / "config.toml"
    assert codes.state_file() == support / "codes.json"
    assert daemon.log_path() == isolated_env / "Library" / "Logs" / "mfa-tui" / "daemon.log"
    support.mkdir(parents=True)
    (support / "config.toml").write_text("user_refresh_margin = 1200\n")
    assert load_settings().user_refresh_margin == 1200


LIST_PROBE = """
import os
import sys
from mfa_tui import listing, locations
os._exit = sys.exit  # the full `list` leaves at once; here it must come back to say what it imported
locations.SYSTEM = "macos"
listing.STILL_SECONDS = 0.0  # files written by the test count as settled
sys.argv = ["mfa-tui", "list", "--json"]
from mfa_tui.__main__ import main
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
print("MODULES", sorted(sys.modules), file=sys.stderr)
"""


def test_the_cached_list_on_macos(macos: dict[str, str], aws_dir: Path, isolated_env: Path) -> None:
    (aws_dir / "config").write_text(
        "[profile base]\nmfa_serial = arn:aws:iam::111122223333:mfa/base\n"
    )
    (aws_dir / "credentials").write_text(
        "[base]\naws_access_key_id = AKIA\naws_secret_access_key = S\n"
    )
    support = isolated_env / "Library" / "Application Support" / "mfa-tui"
    support.mkdir(parents=True)
    (support / "config.toml").write_text('[profiles.base]\nsession_profile = "base-s"\n')

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", LIST_PROBE],
            capture_output=True,
            text=True,
            env=macos,
            timeout=60,
            check=False,
        )

    full, cached = run(), run()
    assert full.returncode == 0, full.stderr
    assert '"session_profile": "base-s"' in full.stdout  # the macOS settings file counts
    assert (isolated_env / "Library" / "Caches" / "mfa-tui" / "list.cache").is_file()
    assert cached.stdout == full.stdout
    modules = set(re.search(r"MODULES (.*)", cached.stderr).group(1).strip("[]").split(", "))  # type: ignore[union-attr]
    for heavy in ("'argparse'", "'dataclasses'", "'json'", "'platformdirs'", "'mfa_tui.cli'"):
        assert heavy not in modules, heavy
    assert "'mfa_tui.aws.ini'" in full.stderr  # the first one did parse


def readme_plist() -> bytes:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^( *)```xml\n(.*?)^\1```$", text, re.S | re.M)
    assert found, "README shows the launchd agent as a plist"
    return textwrap.dedent(found.group(2)).encode()


def test_the_launchd_agent_in_readme_parses() -> None:
    agent = plistlib.loads(readme_plist())
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    # The file README tells to write is named for the agent's Label, as launchctl expects.
    assert f"~/Library/LaunchAgents/{agent['Label']}.plist" in text
    program, *args = agent["ProgramArguments"]
    assert program.startswith("/") and program.endswith("/mfa-tui")  # launchd expands no ~
    assert args == ["daemon"]
    assert agent["RunAtLoad"] is True and agent["KeepAlive"] is True
    # launchd's PATH is /usr/bin:/bin:/usr/sbin:/sbin: a code_command from Homebrew
    # (ykman) is found only through the agent's own.
    assert "/opt/homebrew/bin" in agent["EnvironmentVariables"]["PATH"].split(":")
