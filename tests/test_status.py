"""`mfa-tui status`: one line for a prompt, from the standard-library fast path, the same
as the full command's."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mfa_tui import status_line
from mfa_tui.status_line import cached_line, fast_facts, needs_code_soon, render, short_left
from tests.test_fastpath import HEAVY, OURS

NOW = 1_900_000_000.0


def stamp(seconds_from_now: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds_from_now))


def session(name: str, owner: str, left: float) -> str:
    return (
        f"[{name}]\naws_access_key_id = ASIA{owner.upper()[:4]}\n"
        f"aws_secret_access_key = s\naws_session_token = t\nexpiration = {stamp(left)}\n"
        f"mfa_tui_source = {owner}\n\n"
    )


CONFIG = (
    "[default]\nregion = eu-west-1\n\n"
    "[profile test-user]\nregion = eu-west-1\n"
    "s3 =\n    addressing_style = path\n\n"
    "[profile my-test-role]\nsource_profile = test-user\nrole_arn = arn:aws:iam::123456789012:role/r\n\n"
    "[profile chained-role]\nsource_profile = my-test-role\n"
    "role_arn = arn:aws:iam::123456789012:role/c\n\n"
    "[profile corp-sso]\nsso_session = corp\nsso_account_id = 1\n\n"
    "[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\n"
)
KEYS = "[test-user]\naws_access_key_id = AKIA\naws_secret_access_key = K\n\n"


@pytest.fixture
def files(aws_dir: Path) -> Path:
    (aws_dir / "config").write_text(CONFIG)
    creds = aws_dir / "credentials"
    creds.write_text(KEYS)
    return creds


def status(*args: str, fast: bool = True, env: dict[str, str] | None = None) -> str:
    extra = {} if fast else {"MFA_TUI_NO_FASTPATH": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mfa_tui", "status", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **extra, **(env or {})},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def both(*args: str, env: dict[str, str] | None = None) -> str:
    """The line, after checking the fast path answered it and the full command agrees."""
    assert status_line.parse_args(["status", *args]) is not None
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        assert fast_facts()[0], "the fast path did not answer"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    fast, full = status(*args, env=env), status(*args, fast=False, env=env)
    assert fast == full
    return fast


def test_short_left() -> None:
    assert [short_left(s) for s in (3725, 3600, 2520.9, 61, 59, 0.5, 0, -3)] == [
        "1h02m", "1h00m", "42m", "1m", "59s", "0s", "expired", "expired",
    ]  # fmt: skip


def test_no_active_session_prints_nothing(files: Path) -> None:
    assert both() == ""


def test_the_active_role_and_its_time_left(files: Path) -> None:
    files.write_text(
        KEYS
        + session("test-user-mfa", "test-user", 6 * 3600)
        + session("my-test-role-mfa", "my-test-role", 42 * 60 + 30)
        + session("mfa-tui", "my-test-role", 42 * 60 + 30)
    )
    assert both() == "my-test-role 42m\n"


@pytest.mark.parametrize(
    ("user_left", "marked"),
    [
        (None, True),  # no user session: the next renewal needs a code
        (-60, True),  # expired
        (40 * 60, True),  # gone (inside its margin) before the role's renewal at 37 min
        (60 * 60, False),  # still good then
    ],
)
def test_a_role_is_marked_when_its_next_renewal_needs_a_code(
    files: Path, user_left: float | None, marked: bool
) -> None:
    user = "" if user_left is None else session("test-user-mfa", "test-user", user_left)
    files.write_text(KEYS + user + session("mfa-tui", "my-test-role", 42 * 60 + 30))
    assert both() == f"my-test-role 42m{'!' if marked else ''}\n"


@pytest.mark.parametrize(("left", "marked"), [(11 * 60, False), (9 * 60, True)])
def test_a_user_is_marked_inside_its_margin(files: Path, left: float, marked: bool) -> None:
    files.write_text(KEYS + session("mfa-tui", "test-user", left + 30))
    assert both() == f"test-user {int(left // 60)}m{'!' if marked else ''}\n"


def test_a_chained_role_looks_at_the_user_at_the_end_of_its_chain(files: Path) -> None:
    files.write_text(
        KEYS
        + session("test-user-mfa", "test-user", 5 * 60)
        + session("mfa-tui", "chained-role", 50 * 60 + 30)
    )
    assert both() == "chained-role 50m!\n"


def test_an_expired_session(files: Path) -> None:
    files.write_text(
        KEYS + session("test-user-mfa", "test-user", 9000) + session("mfa-tui", "my-test-role", -5)
    )
    assert both() == "my-test-role expired\n"
    assert both("--format", "{state} {seconds}") == "expired 0\n"


def test_inside_mfa_tui_exec_it_shows_the_execd_profile(files: Path) -> None:
    files.write_text(
        KEYS
        + session("test-user-mfa", "test-user", 8 * 3600)
        + session("my-test-role-mfa", "my-test-role", 20 * 60 + 30)
        + session("mfa-tui", "test-user", 8 * 3600)
    )
    env = {"MFA_TUI_PROFILE": "my-test-role"}
    assert both(env=env) == "my-test-role 20m\n"
    assert both("--format", "{session}", env=env) == "my-test-role-mfa\n"
    assert both(env={"MFA_TUI_PROFILE": "chained-role"}) == ""


def test_the_settings_name_the_active_profile_and_margins(
    files: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(
        'active_profile = "current"\nuser_refresh_margin = 1800\n'
        'session_profile_pattern = "{profile}-session"\n'
    )
    monkeypatch.setenv("MFA_TUI_CONFIG", str(settings))
    files.write_text(KEYS + session("current", "test-user", 25 * 60 + 30))
    assert both() == "test-user 25m!\n"
    files.write_text(
        KEYS
        + session("test-user-session", "test-user", 45 * 60)
        + session("current", "my-test-role", 50 * 60 + 30)
    )
    # The user session (45 min, 30-minute margin) is gone before the role's renewal.
    assert both("--format", "{profile}/{session}/{state}{mark}") == "my-test-role/current/valid!\n"


def test_every_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        facts = ("my-test-role", "mfa-tui", NOW + 210, 300.0, "role", NOW + 9000, 600.0)
        fmt = " ".join("{" + name + "}" for name in status_line.FIELDS)
        assert render(fmt, facts, NOW) == (
            "my-test-role mfa-tui 3m 17:50 2030-03-17T17:50:10Z 210 expiring "
        )
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_fields_agree_on_both_paths(files: Path) -> None:
    files.write_text(
        KEYS + session("test-user-mfa", "test-user", 9000) + session("mfa-tui", "my-test-role", 210)
    )
    fmt = "{profile} {session} {left} {until} {expires} {state}{mark}"
    assert both("--format", fmt).startswith("my-test-role mfa-tui 3m ")


def test_a_bad_format_is_exit_2_with_the_fields_named(files: Path) -> None:
    files.write_text(KEYS + session("mfa-tui", "test-user", 3600))
    assert cached_line(["status", "--format", "{nope}"]) is None
    done = subprocess.run(
        [sys.executable, "-m", "mfa_tui", "status", "--format", "{nope}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "no field {nope}" in done.stderr and "{left}" in done.stderr


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t + "[DEFAULT]\nregion = x\n",
        lambda t: t + "[profile test-user]\nregion = x\n",  # duplicated
        lambda t: t.replace("source_profile = test-user", "source_profile =\n  test-user"),
        lambda t: t.replace("[profile my-test-role]", '[profile "my-test-role"]'),
    ],
)
def test_files_it_cannot_judge_go_the_long_way(files: Path, aws_dir: Path, change: object) -> None:
    files.write_text(
        KEYS
        + session("test-user-mfa", "test-user", 5 * 60)
        + session("mfa-tui", "my-test-role", 3000)
    )
    config = aws_dir / "config"
    config.write_text(change(config.read_text()))  # type: ignore[operator]
    assert fast_facts() == (False, None)
    assert cached_line(["status"]) is None
    assert status().startswith("my-test-role 4") and status() == status(fast=False)


def test_render_and_the_mark_without_files() -> None:
    role = ("r", "mfa-tui", NOW + 3000, 300.0, "role", NOW + 3000, 600.0)
    assert render("{profile} {left}{mark}", role, NOW) == "r 50m!"
    unmanaged = ("x", "mfa-tui", NOW + 3000, 600.0, "", None, 600.0)
    assert not needs_code_soon(unmanaged, NOW)


PROBE = """
import sys
sys.argv = ['mfa-tui', *{args!r}]
from mfa_tui.__main__ import main
main()
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} or m in {ours!r})
print('HEAVY', heavy, file=sys.stderr)
"""


def test_the_fast_path_imports_nothing_heavy(files: Path) -> None:
    files.write_text(
        KEYS
        + session("test-user-mfa", "test-user", 9000)
        + session("mfa-tui", "my-test-role", 3030)
    )
    code = PROBE.format(args=["status"], heavy=HEAVY, ours=(*OURS, "mfa_tui.commands.status"))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout == "my-test-role 50m\n", done.stderr
    assert "HEAVY []" in done.stderr, done.stderr


KEYRING_USER = "[test-user]\ncredential_process = mfa-tui keys credential-process test-user\n\n"
VAULT_USER = (
    "[test-user]\ncredential_process = /opt/vault/get-keys test-user\n"
    "mfa_serial = arn:aws:iam::123456789012:mfa/test-user\n\n"
)


@pytest.mark.parametrize("keys", [KEYRING_USER, VAULT_USER], ids=["keyring", "vault+device"])
def test_a_user_whose_keys_come_from_a_process_is_judged_on_the_fast_path(
    files: Path, keys: str
) -> None:
    # Before, any credential_process read as "not a user" here: the role showed no mark
    # on the fast path where the full command marked it.
    files.write_text(keys + session("mfa-tui", "my-test-role", 42 * 60 + 30))
    assert both() == "my-test-role 42m!\n"


def test_a_process_only_the_full_parser_can_classify_goes_the_long_way(files: Path) -> None:
    # Without a device it may still be a user (a role with one assumed from it makes it
    # one): the fast path does not guess.
    files.write_text(
        "[test-user]\ncredential_process = /opt/vault/get-keys test-user\n\n"
        + session("mfa-tui", "my-test-role", 42 * 60 + 30)
    )
    assert fast_facts() == (False, None)
    assert status() == status(fast=False)
