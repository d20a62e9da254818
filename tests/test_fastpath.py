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
from mfa_tui.expiry import stamp_epoch
from mfa_tui.fastpath import MIN_SERVE_SECONDS, cached_answer


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
        f"{HEAVY!r} or m in {OURS!r})\n"
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


def test_the_switch_turns_it_off(files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cached_answer("test-user") is not None
    monkeypatch.setenv("MFA_TUI_NO_FASTPATH", "1")
    assert cached_answer("test-user") is None


SETTINGS = (
    "# mine\n"
    'session_profile_pattern = "{profile}-session"\n'
    "active_profile = 'current'  # what the dashboard switches\n"
    "user_refresh_margin = 900\n\n"
    '[profiles."ops"]\nsession_profile = "ops-sess"\nauto_refresh = false\n'
)


@pytest.fixture
def with_settings(aws_dir: Path, isolated_env: Path) -> Path:
    (aws_dir / "config").write_text(
        "[profile test-user]\nregion = eu-west-1\n[profile ops]\nregion = eu-west-1\n"
    )
    (aws_dir / "credentials").write_text(
        "[test-user]\naws_access_key_id = AKIA\naws_secret_access_key = K\n\n"
        + session("test-user-mfa", "test-user", 3600, token="default-pattern")
        + session("test-user-session", "test-user", 3600, token="by-pattern")
        + session("ops-session", "ops", 3600, token="pattern-not-override")
        + session("ops-sess", "ops", 3600, token="by-override")
        + session("current", "ops", 3600, token="active")
    )
    path = isolated_env / ".config" / "mfa-tui" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(SETTINGS)
    return path


@pytest.mark.parametrize(
    ("name", "token"),
    [("test-user", "by-pattern"), ("ops", "by-override"), ("current", "active")],
)
def test_with_a_settings_file_the_same_answer_as_the_full_command(
    with_settings: Path, name: str, token: str
) -> None:
    answer = cached_answer(name)
    assert answer is not None and f'"SessionToken": "{token}"' in answer
    fast, full = run(name, True), run(name, False)
    assert full.returncode == 0, full.stderr
    assert (fast.returncode, fast.stdout) == (0, full.stdout)


def test_the_active_profile_the_settings_name_is_never_served_from_the_pattern(
    with_settings: Path, aws_dir: Path
) -> None:
    # The active profile holds a session itself; without its section, what the
    # pattern would give ('current-session') must not be served in its place.
    creds = aws_dir / "credentials"
    creds.write_text(creds.read_text().replace("[current]", "[current-session]"))
    assert cached_answer("current") is None
    done = run("current", True)
    assert done.returncode == 2 and "unknown profile 'current'" in done.stderr


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("user_duration = 100\n", "user_duration = 100 is not valid"),
        ('session_profile_pattern = "fixed"\n', "session_profile_pattern = 'fixed'"),
        ('[profiles."test-user"]\nsession_profile = "a]b"\n', "session_profile = 'a]b'"),
        ("colour = 1\n", "unknown key 'colour'"),
        ("not toml =\n", "not valid TOML"),
    ],
)
def test_a_settings_file_that_breaks_a_rule_is_never_served_from(
    with_settings: Path, text: str, words: str
) -> None:
    with_settings.write_text(text)
    assert cached_answer("test-user") is None
    done = run("test-user", True)  # the full command says what is wrong
    assert done.returncode == 1 and done.stdout == ""
    assert str(with_settings) in done.stderr and words in done.stderr, done.stderr


def test_settings_beyond_plain_toml_go_the_long_way(with_settings: Path) -> None:
    # An escape is tomllib's to read: the full path serves it, by the same rules.
    with_settings.write_text('session_profile_pattern = "{profile}-s\\u0065ssion"\n')
    assert cached_answer("test-user") is None
    done = run("test-user", True)
    assert done.returncode == 0 and '"SessionToken": "by-pattern"' in done.stdout


PROBE = """
import sys
from mfa_tui import locations
locations.SYSTEM = {system!r}
sys.argv = ['mfa-tui', 'credential-process', {name!r}]
from mfa_tui.__main__ import main
try:
    main()
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} or m in {ours!r})
print('HEAVY', heavy, file=sys.stderr)
"""
# What the cached answer must not import: each costs more than the answer may take.
HEAVY = (
    "argparse", "dataclasses", "json", "typing", "re", "tomllib", "platformdirs", "boto3",
    "botocore", "textual", "keyring",
)  # fmt: skip
OURS = ("mfa_tui.cli", "mfa_tui.aws.ini", "mfa_tui.settings")


def probe(
    system: str | None, name: str, fast: bool, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`credential-process NAME` in a child process whose platform is `system`."""
    code = PROBE.format(system=system, name=name, heavy=HEAVY, ours=OURS)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**env, **({} if fast else {"MFA_TUI_NO_FASTPATH": "1"})},
        timeout=60,
        check=False,
    )


def test_on_macos_with_a_settings_file_the_cached_answer_is_the_full_ones(
    with_settings: Path, isolated_env: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    # Not Linux's folder, which macOS does not read: the setting there must not count.
    with_settings.write_text('session_profile_pattern = "{profile}-other"\n')
    mac = isolated_env / "Library" / "Application Support" / "mfa-tui" / "config.toml"
    mac.parent.mkdir(parents=True)
    mac.write_text(SETTINGS)
    for name, token in (("test-user", "by-pattern"), ("ops", "by-override")):
        fast = probe("macos", name, True, env)
        full = probe("macos", name, False, env)
        assert f'"SessionToken": "{token}"' in full.stdout, full.stderr
        assert fast.stdout == full.stdout
        assert "HEAVY []" in fast.stderr, fast.stderr
        assert "'boto3'" not in full.stderr  # a cached answer needs no AWS call either way
    # And on a system whose folders the fast path does not know, it steps aside.
    elsewhere = probe(None, "test-user", True, env)
    assert "'argparse'" in elsewhere.stderr


def test_something_not_a_file_is_never_waited_on(with_settings: Path, aws_dir: Path) -> None:
    with_settings.unlink()
    os.mkfifo(with_settings)  # nobody will ever write to it
    check = "from mfa_tui.fastpath import cached_answer; print(cached_answer('test-user'))"
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout == "None\n", done.stderr
    with_settings.unlink()
    creds = aws_dir / "credentials"
    creds.unlink()
    os.mkfifo(creds)
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout == "None\n", done.stderr


def test_margin_and_clock_match_the_full_command() -> None:
    assert MIN_SERVE_SECONDS == credential_process.MIN_SERVE_SECONDS
    for text in ("2026-11-29T02:10:00Z", "2000-02-29T23:59:59Z", "1999-12-31T00:00:00Z"):
        assert stamp_epoch(text) == calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
    assert stamp_epoch("2026-13-01T00:00:00Z") is None
    assert stamp_epoch("2026-11-29 02:10:00Z") is None


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
