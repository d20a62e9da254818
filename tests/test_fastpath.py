"""The cached credential-process answer: the same bytes as the full command, or none."""

from __future__ import annotations

import calendar
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mfa_tui.commands import credential_process
from mfa_tui.fastpath import MIN_SERVE_SECONDS, _epoch, cached_answer


def stamp(seconds_from_now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds_from_now))


def session(name: str, source: str, left: float, token: str = "tok/en+==") -> str:
    return (
        f"[{name}]\naws_access_key_id = ASIAFAST\naws_secret_access_key = se/cr+et=\n"
        f"aws_session_token = {token}\nexpiration = {stamp(left)}\n"
        f"mfa_tui_source = {source}\n\n"
    )


@pytest.fixture
def files(aws_dir: Path) -> Path:
    (aws_dir / "config").write_text("[profile test-user]\nregion = eu-west-1\n")
    creds = aws_dir / "credentials"
    creds.write_text(
        "# mine\n[test-user]\naws_access_key_id = AKIA\naws_secret_access_key = K\n\n"
        + session("test-user-mfa", "test-user", 3600)
        + session("mfa-tui", "test-user", 3600)
    )
    return creds


def run(name: str, fast: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if not fast:
        env["MFA_TUI_NO_FASTPATH"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "mfa_tui", "credential-process", name],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("name", ["test-user", "mfa-tui", "test-user-mfa"])
def test_same_answer_as_the_full_command(files: Path, name: str) -> None:
    assert cached_answer(name) is not None
    fast, full = run(name, True), run(name, False)
    assert full.returncode == 0, full.stderr
    assert fast.returncode == 0
    assert fast.stdout == full.stdout


def test_fast_path_imports_no_cli(files: Path) -> None:
    probe = (
        "import sys\n"
        "sys.argv = ['mfa-tui', 'credential-process', 'test-user']\n"
        "from mfa_tui.__main__ import main\n"
        "main()\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('argparse', 'dataclasses', 'json', 'platformdirs', 'boto3', 'textual', 'keyring')"
        " or m in ('mfa_tui.cli', 'mfa_tui.aws.ini'))\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert "HEAVY []" in done.stderr, done.stderr
    assert '"AccessKeyId": "ASIAFAST"' in done.stdout


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace("[test-user-mfa]", "\ufeff[test-user-mfa]", 1),  # odd bytes
        lambda t: t + session("test-user-mfa", "test-user", 3600),  # duplicated
        lambda t: t.replace(
            "aws_session_token = tok/en+==", "aws_session_token = tok\n  continued"
        ),  # continuation
        lambda t: t.replace("tok/en+==", 'to"ken'),  # needs JSON escaping
        lambda t: t.replace("mfa_tui_source = test-user\n\n[mfa-tui]", "\n[mfa-tui]"),
        lambda t: t.replace("expiration = ", "expiration = 2030-01-01 00:00:00+00:00 #"),
    ],
)
def test_anything_unusual_goes_the_long_way(files: Path, change: object) -> None:
    text = files.read_text()
    files.write_text(change(text))  # type: ignore[operator]
    assert cached_answer("test-user") is None


def test_expiring_session_goes_the_long_way(files: Path) -> None:
    files.write_text(session("test-user-mfa", "test-user", MIN_SERVE_SECONDS - 30))
    assert cached_answer("test-user") is None
    files.write_text(session("test-user-mfa", "test-user", MIN_SERVE_SECONDS + 30))
    assert cached_answer("test-user") is not None


def test_a_settings_file_or_the_switch_turns_it_off(
    files: Path, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MFA_TUI_NO_FASTPATH", "1")
    assert cached_answer("test-user") is None
    monkeypatch.delenv("MFA_TUI_NO_FASTPATH")
    settings = isolated_env / ".config" / "mfa-tui" / "config.toml"
    settings.parent.mkdir(parents=True)
    settings.write_text('session_profile_pattern = "{profile}-other"\n')
    assert cached_answer("test-user") is None


def test_margin_and_clock_match_the_full_command() -> None:
    assert MIN_SERVE_SECONDS == credential_process.MIN_SERVE_SECONDS
    for text in ("2026-11-29T02:10:00Z", "2000-02-29T23:59:59Z", "1999-12-31T00:00:00Z"):
        assert _epoch(text) == calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
    assert _epoch("2026-13-01T00:00:00Z") is None
    assert _epoch("2026-11-29 02:10:00Z") is None


def test_a_session_marked_for_another_profile_is_not_served(aws_dir: Path) -> None:
    # Left by settings that once gave two profiles one session profile: the role's
    # keys are in test-user's section. Neither path hands them out as test-user's.
    (aws_dir / "config").write_text("[profile test-user]\nregion = eu-west-1\n")
    (aws_dir / "credentials").write_text(
        "[test-user]\naws_access_key_id = AKIA\naws_secret_access_key = K\n\n"
        + session("test-user-mfa", "my-test-role", 3600)
    )
    assert cached_answer("test-user") is None
    full = run("test-user", False)
    assert full.returncode != 0 and "ASIAFAST" not in full.stdout
    assert "holds the session of 'my-test-role'" in full.stderr
