"""`mfa-tui list` on a realistic pair of files, and the command line's usage behaviour."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mfa_tui import __version__, listing
from mfa_tui.cli import build_parser, main
from mfa_tui.clock import FrozenClock
from mfa_tui.commands import list_cmd

SECRETS = (
    "SECRET-BASE",
    "SECRET-OTHER",
    "SECRET-TEMP",
    "TOKEN-TEMP",
    "SECRET-SESSION-BASE",
    "TOKEN-SESSION-BASE",
    "SECRET-SESSION-ADMIN",
    "TOKEN-SESSION-ADMIN",
    "SECRET-SESSION-OTHER",
    "TOKEN-SESSION-OTHER",
    "SECRET-ACTIVE",
    "TOKEN-ACTIVE",
    "PROCESS-SECRET-ARG",
)

VAULT_CREDS = "/usr/local/bin/vault-creds"
CONFIG = """\
# the team's config
[default]
region = eu-west-1
output = json

[profile base]
mfa_serial = arn:aws:iam::111122223333:mfa/base
region = us-east-1
s3 =
    max_concurrent_requests = 20
    addressing_style = path

[profile admin]
role_arn = arn:aws:iam::111122223333:role/admin
source_profile = base
mfa_serial = arn:aws:iam::111122223333:mfa/base
duration_seconds = 3600

[profile deep]
role_arn = arn:aws:iam::444455556666:role/deep
source_profile = admin
external_id = xyz

[profile loop-a]
role_arn = arn:aws:iam::111111111111:role/a
source_profile = loop-b
[profile loop-b]
role_arn = arn:aws:iam::111111111111:role/b
source_profile = loop-a

[profile lost]
role_arn = arn:aws:iam::111111111111:role/lost
source_profile = nobody

[profile corp]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = ReadOnly

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1

[services local]
sts =
  endpoint_url = http://localhost:5000

[profile vault]
credential_process = /usr/local/bin/vault-creds --token PROCESS-SECRET-ARG

[profile ec2]
role_arn = arn:aws:iam::111111111111:role/ec2
credential_source = Ec2InstanceMetadata
"""


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def session_section(name: str, source: str, suffix: str, expires: str) -> str:
    return (
        f"[{name}]\naws_access_key_id = ASIA{suffix}\n"
        f"aws_secret_access_key = SECRET-{suffix}\naws_session_token = TOKEN-{suffix}\n"
        f"expiration = {expires}\nmfa_tui_source = {source}\n\n"
    )


def credentials(now: datetime) -> tuple[str, dict[str, str]]:
    expiry = {
        "base-mfa": iso(now + timedelta(hours=6)),  # valid
        "admin-mfa": iso(now + timedelta(minutes=2)),  # inside the role margin (300 s)
        "other-user-mfa": iso(now - timedelta(hours=1)),  # expired
        "mfa-tui": iso(now + timedelta(minutes=50)),  # the active profile
    }
    text = (
        "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = SECRET-BASE\n\n"
        "[other-user]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = SECRET-OTHER\n\n"
        "[temp]\naws_access_key_id = ASIATEMP\naws_secret_access_key = SECRET-TEMP\n"
        "aws_session_token = TOKEN-TEMP\n\n"
        + session_section("base-mfa", "base", "SESSION-BASE", expiry["base-mfa"])
        + session_section("admin-mfa", "admin", "SESSION-ADMIN", expiry["admin-mfa"])
        + session_section("other-user-mfa", "other-user", "SESSION-OTHER", expiry["other-user-mfa"])
        + session_section("mfa-tui", "admin", "ACTIVE", expiry["mfa-tui"])
    )
    return text, expiry


def row(name: str, kind: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "managed": False,
        "mfa_serial": None,
        "source_profile": None,
        "role_arn": None,
        "session_profile": None,
        "expires_at": None,
        "state": "none",
        "chain": [],
        "region": None,
        "active": False,
        "notes": [],
        "keys": "file" if kind == "user" else None,
        "key_created": None,
        "key_age_days": None,
        "rotate": False,
    }
    base.update(fields)
    return base


def expected_rows(expiry: dict[str, str]) -> list[dict[str, Any]]:
    mfa = "arn:aws:iam::111122223333:mfa/base"
    return [
        row("default", "other", region="eu-west-1"),
        row(
            "base",
            "user",
            managed=True,
            mfa_serial=mfa,
            session_profile="base-mfa",
            expires_at=expiry["base-mfa"],
            state="valid",
            region="us-east-1",
        ),
        row(
            "admin",
            "role",
            managed=True,
            mfa_serial=mfa,
            source_profile="base",
            role_arn="arn:aws:iam::111122223333:role/admin",
            session_profile="admin-mfa",
            expires_at=expiry["admin-mfa"],
            state="expiring",
            chain=["admin", "base"],
        ),
        row(
            "deep",
            "role",
            managed=True,
            mfa_serial=mfa,  # no mfa_serial of its own: the device of its chain's user
            source_profile="admin",
            role_arn="arn:aws:iam::444455556666:role/deep",
            session_profile="deep-session",  # from the settings file
            chain=["deep", "admin", "base"],
        ),
        row(
            "loop-a",
            "role",
            source_profile="loop-b",
            role_arn="arn:aws:iam::111111111111:role/a",
            session_profile="loop-a-mfa",
        ),
        row(
            "loop-b",
            "role",
            source_profile="loop-a",
            role_arn="arn:aws:iam::111111111111:role/b",
            session_profile="loop-b-mfa",
        ),
        row(
            "lost",
            "role",
            source_profile="nobody",
            role_arn="arn:aws:iam::111111111111:role/lost",
            session_profile="lost-mfa",
        ),
        row("corp", "sso"),
        row("vault", "process"),
        row(
            "ec2",
            "role",
            role_arn="arn:aws:iam::111111111111:role/ec2",
            session_profile="ec2-mfa",
            chain=["ec2"],
        ),
        row("other-user", "user", managed=True, session_profile="other-user-mfa",
            expires_at=expiry["other-user-mfa"], state="expired"),
        row("temp", "other"),
        row("base-mfa", "session", source_profile="base", expires_at=expiry["base-mfa"],
            state="valid"),
        row("admin-mfa", "session", source_profile="admin", expires_at=expiry["admin-mfa"],
            state="expiring"),
        row("other-user-mfa", "session", source_profile="other-user",
            expires_at=expiry["other-user-mfa"], state="expired"),
        row("mfa-tui", "session", source_profile="admin", expires_at=expiry["mfa-tui"],
            state="valid", active=True),
    ]  # fmt: skip


@pytest.fixture
def world(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The files in non-default places, named through the environment."""
    elsewhere = isolated_env / "team files"
    elsewhere.mkdir()
    # The credential_process program is installed (see test_a_missing_... for one that is not).
    program = elsewhere / "bin" / "vault-creds"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\nexit 1\n")
    program.chmod(0o755)
    # Quoted: botocore splits the line like a shell (without running one).
    (elsewhere / "config").write_text(CONFIG.replace(VAULT_CREDS, shlex.quote(str(program))))
    text, expiry = credentials(datetime.now(UTC))
    (elsewhere / "creds").write_text(text)
    monkeypatch.setenv("TEAM_AWS", str(elsewhere))
    monkeypatch.setenv("AWS_CONFIG_FILE", "~/team files/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "$TEAM_AWS/creds")
    # Decoys where the defaults would look: never read.
    (isolated_env / ".aws").mkdir()
    (isolated_env / ".aws" / "config").write_text("[profile decoy]\nregion = x\n")
    (isolated_env / ".aws" / "credentials").write_text("[decoy2]\naws_access_key_id = A\n")
    settings = isolated_env / "mfa-tui.toml"
    settings.write_text('[profiles.deep]\nsession_profile = "deep-session"\n')
    monkeypatch.setenv("MFA_TUI_CONFIG", str(settings))
    return expiry


def _check_rows(rows: list[dict[str, Any]], expiry: dict[str, str]) -> None:
    reasons = {r["name"]: r.pop("reason") for r in rows}
    notes = {r["name"]: r.pop("notes") for r in rows}
    assert rows == [{k: v for k, v in r.items() if k != "notes"} for r in expected_rows(expiry)]
    assert "loop-a -> loop-b -> loop-a" in reasons["loop-a"]
    assert "loop-b -> loop-a -> loop-b" in reasons["loop-b"]
    assert "'lost'" in reasons["lost"] and "'nobody'" in reasons["lost"]
    assert "Ec2InstanceMetadata" in reasons["ec2"]
    assert all(reasons[r["name"]] is None for r in rows if r["managed"])
    # What the AWS tools refuse is a note too, naming the line at fault.
    config = Path("~/team files/config").expanduser()
    for name, line in (("loop-a", 29), ("loop-b", 26), ("lost", 33)):
        assert notes[name] == [reasons[name]] and f"({config}:{line})" in reasons[name]
    assert not {n: v for n, v in notes.items() if v and n not in ("loop-a", "loop-b", "lost")}


def test_list_json_in_process(world: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    _check_rows(json.loads(out), world)
    for secret in SECRETS:
        assert secret not in out


def test_list_json_as_a_process(world: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mfa_tui", "list", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    _check_rows(json.loads(done.stdout), world)
    for secret in SECRETS:
        assert secret not in done.stdout + done.stderr


def test_list_table_shows_profiles_not_secrets(
    world: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == [
        "PROFILE",
        "KIND",
        "KEYS",
        "MFA",
        "SESSION",
        "PROFILE",
        "STATE",
        "LEFT",
        "NOTE",
    ]
    by_name = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(by_name) == {r["name"] for r in expected_rows(world)}
    assert by_name["base"][:6] == ["base", "user", "file", "base", "base-mfa", "valid"]
    assert by_name["other-user"][5:7] == ["expired", "expired"]
    assert "decoy" not in out
    for secret in SECRETS:
        assert secret not in out + err


def test_file_problems_are_warnings_and_the_json_stays_clean(
    world: dict[str, str], isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    creds = isolated_env / "team files" / "creds"
    creds.write_bytes(creds.read_bytes() + b"[broken\naws_secret_access_key = SECRET-BROKEN\n")
    assert main(["list", "--json"]) == 0
    out, err = capsys.readouterr()
    lines = creds.read_text().count("\n")
    assert err == (
        f"mfa-tui: warning: {creds}:{lines - 1}: bad section header '[broken' "
        "(no closing ']'); the keys under it were skipped; add the ']'\n"
    )
    names = [r["name"] for r in json.loads(out)]
    assert names == [r["name"] for r in expected_rows(world)]
    assert "SECRET-BROKEN" not in out + err


def test_no_files_at_all(isolated_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json"]) == 0
    assert capsys.readouterr() == ("[]\n", "")
    assert main(["list"]) == 0
    assert capsys.readouterr().out.startswith("no profiles in ")


@pytest.mark.parametrize("command", ["use", "refresh", "export", "exec"])
def test_a_profile_named_where_there_is_none_says_how_to_make_one(
    isolated_env: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert main([command, "nobody"]) == 2
    err = capsys.readouterr().err
    assert "unknown profile 'nobody': there is no profile in " in err
    assert "'aws configure --profile NAME' makes one" in err and "mfa-tui demo" in err


def test_an_unknown_profile_names_some_that_exist(
    aws_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (aws_dir / "config").write_text("[profile dev]\nregion = eu-west-1\n")
    assert main(["use", "nobody"]) == 2
    err = capsys.readouterr().err
    assert "(known: dev; 'mfa-tui list' shows all)" in err


# ---------------------------------------------------------------------------
# Usage: --version, --help, and bad arguments as one line and exit 2.


def run_cli(*args: str, python_flags: bool = False) -> subprocess.CompletedProcess[str]:
    """`python -m mfa_tui ARGS`; with `python_flags`, ARGS up to the first that is not a
    flag go to Python itself."""
    flags: list[str] = []
    if python_flags:
        while args and args[0].startswith("-"):
            flags, args = [*flags, *args[:2]], args[2:]
    return subprocess.run(
        [sys.executable, *flags, "-m", "mfa_tui", *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
        timeout=60,
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"mfa-tui {__version__}\n"


def test_help_lists_every_subcommand_and_the_exit_codes() -> None:
    done = run_cli("--help")
    assert done.returncode == 0 and done.stderr == ""
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    commands = list(sub.choices)
    assert set(commands) >= {"list", "refresh", "export", "credential-process", "totp", "ui"}
    for command in commands:
        assert f"\n    {command} " in done.stdout or f"\n    {command}\n" in done.stdout
    assert "exit codes:" in done.stdout
    for code in range(6):
        assert f"\n  {code}  " in done.stdout
    assert "AWS_CONFIG_FILE" in done.stdout and "MFA_TUI_CONFIG" in done.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["list", "--bogus"], "unrecognized arguments: --bogus"),
        (["list", "extra"], "unrecognized arguments: extra"),
        (["totp"], "the following arguments are required"),
        (["refresh", "--duration", "long"], "invalid int value: 'long'"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    args: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("mfa-tui: ") and words in err


def test_unknown_subcommand_as_a_process() -> None:
    done = run_cli("frobnicate")
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("mfa-tui: ") and "frobnicate" in done.stderr


def test_export_of_an_unknown_profile_exits_2() -> None:
    done = run_cli("export", "nosuchprofile")
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert "'nosuchprofile'" in done.stderr


# ---------------------------------------------------------------------------
# The listing cache: a repeated `list` renders from what the last parse kept.


def _cache_file(isolated_env: Path) -> Path:
    return isolated_env / ".cache" / "mfa-tui" / listing.CACHE_NAME


@pytest.fixture
def still(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by the test count as settled at once (the real rule waits 2 s)."""
    monkeypatch.setattr(listing, "STILL_SECONDS", 0.0)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    monkeypatch.setattr(list_cmd, "SYSTEM_CLOCK", clock)
    return clock


@pytest.mark.parametrize("as_json", [True, False])
def test_cached_listing_is_the_same_bytes_as_the_full_one(
    world: dict[str, str],
    still: None,
    frozen: FrozenClock,
    as_json: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["list", "--json"] if as_json else ["list"]) == 0
    full = capsys.readouterr().out
    cached = listing.cached_listing(as_json, now=frozen.now().timestamp())
    assert cached == (full, [])
    # The clock-dependent parts are computed at print time, not frozen in the cache.
    later = listing.cached_listing(as_json, now=frozen.now().timestamp() + 3 * 3600)
    assert later is not None and later[0] != full
    if as_json:
        states = {r["name"]: r["state"] for r in json.loads(later[0])}
        assert states["base"] == "valid" and states["admin"] == "expired"
    else:
        assert "3:00:00" not in full and "2:59:" not in full
        base = next(line for line in later[0].splitlines() if line.startswith("base "))
        assert base.split()[5] == "valid" and base.split()[6] in ("2:59:59", "3:00:00")


def _edit_in_place(path: Path, old: str, new: str) -> None:
    """Same size, same inode, and the old mtime put back: only ctime tells."""
    assert len(old) == len(new)
    before = path.stat()
    with path.open("r+") as fh:
        text = fh.read()
        fh.seek(0)
        fh.write(text.replace(old, new, 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_ino, after.st_mtime_ns) == (
        before.st_size,
        before.st_ino,
        before.st_mtime_ns,
    )


@pytest.mark.parametrize("change", ["config", "credentials", "settings", "no settings", "env"])
def test_any_change_to_what_a_listing_is_built_from_skips_the_cache(
    world: dict[str, str],
    isolated_env: Path,
    still: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: str,
) -> None:
    assert main(["list", "--json"]) == 0
    first = capsys.readouterr().out
    assert listing.cached_listing(True) is not None
    team = isolated_env / "team files"
    settings = isolated_env / "mfa-tui.toml"
    time.sleep(0.01)  # ctime must move on even on coarse-timestamp file systems
    if change == "config":
        _edit_in_place(team / "config", "region = us-east-1", "region = us-east-2")
    elif change == "credentials":
        _edit_in_place(team / "creds", "[temp]", "[tamp]")
    elif change == "settings":
        _edit_in_place(settings, "deep-session", "deep-sessiom")
    elif change == "no settings":
        settings.unlink()
    else:
        other = isolated_env / "other-config"
        other.write_text("[profile solo]\nregion = eu-north-1\n")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(other))
    assert listing.cached_listing(True) is None
    assert main(["list", "--json"]) == 0
    second = capsys.readouterr().out
    assert second != first  # the change shows at once
    assert listing.cached_listing(True) == (second, [])


def test_files_that_just_changed_are_not_cached(
    world: dict[str, str], isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A file rewritten twice within one timestamp tick, at the same size, would look
    # unchanged: nothing is cached until every input has been still for a while.
    assert main(["list", "--json"]) == 0
    capsys.readouterr()
    assert not _cache_file(isolated_env).exists()
    assert listing.cached_listing(True) is None


def test_the_cache_holds_no_secret_and_only_its_owner_may_read_it(
    world: dict[str, str], isolated_env: Path, still: None
) -> None:
    assert main(["list"]) == 0
    cache = _cache_file(isolated_env)
    data = cache.read_bytes()
    assert b"arn:aws:iam::111122223333:role/admin" in data  # it is the listing...
    for secret in SECRETS:
        assert secret.encode() not in data  # ...and nothing more
    assert cache.stat().st_mode & 0o777 == 0o600
    assert cache.parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("damage", ["garbage", "truncated", "writable by others"])
def test_a_damaged_or_foreign_cache_is_ignored(
    world: dict[str, str],
    isolated_env: Path,
    still: None,
    capsys: pytest.CaptureFixture[str],
    damage: str,
) -> None:
    assert main(["list", "--json"]) == 0
    full = capsys.readouterr().out
    cache = _cache_file(isolated_env)
    if damage == "garbage":
        cache.write_bytes(b"\x00not a listing")
    elif damage == "truncated":
        cache.write_bytes(cache.read_bytes()[:1000])
    else:
        cache.chmod(0o622)
    assert listing.cached_listing(True) is None
    done = run_cli("list", "--json")
    assert (done.returncode, done.stdout, done.stderr) == (0, full, "")


def test_an_unwritable_cache_folder_costs_only_speed(
    world: dict[str, str],
    isolated_env: Path,
    still: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (isolated_env / ".cache").write_text("a file where the cache folder would go")
    assert main(["list", "--json"]) == 0
    out, err = capsys.readouterr()
    assert (err, len(json.loads(out))) == ("", len(expected_rows(world)))


def test_a_repeated_list_skips_the_parse_and_repeats_the_warnings(
    world: dict[str, str], isolated_env: Path
) -> None:
    creds = isolated_env / "team files" / "creds"
    creds.write_bytes(creds.read_bytes() + b"[broken\naws_secret_access_key = SECRET-BROKEN\n")
    time.sleep(listing.STILL_SECONDS + 0.1)  # the real rule, in a real process
    first = run_cli("list", "--json")
    second = run_cli("-X", "importtime", "list", "--json", python_flags=True)
    assert first.returncode == second.returncode == 0
    assert second.stdout == first.stdout
    warning = [line for line in second.stderr.splitlines() if not line.startswith("import ")]
    assert warning == first.stderr.splitlines() and "bad section header" in first.stderr
    imported = {line.split("|")[-1].strip() for line in second.stderr.splitlines()}
    assert "mfa_tui.listing" in imported
    for heavy in ("mfa_tui.cli", "argparse", "mfa_tui.aws.ini", "dataclasses", "json"):
        assert heavy not in imported, heavy


def test_json_escapes_what_it_must(aws_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = 'eu-wést-1 "quoted" back\\slash\ttab ☃'
    (aws_dir / "config").write_text(
        f"[profile naïve]\nregion = {odd}\nrole_arn = arn:aws:iam::1:role/r\n"
        "source_profile = nobody\n",
        encoding="utf-8",
    )
    assert main(["list", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.isascii()  # \\u escapes, as json.dumps writes by default
    (row,) = json.loads(out)
    assert (row["name"], row["region"], row["chain"]) == ("naïve", odd, [])
    assert "'nobody'" in row["reason"]


def test_a_full_list_imports_only_what_it_uses(world: dict[str, str], tmp_path: Path) -> None:
    # The first list after an edit is measured against botocore's bare parse (bench/):
    # argparse, typing, tomllib (without a settings file), tempfile and the json package
    # are not needed to parse and print, and boto3/textual never are.
    no_settings = str(tmp_path / "none.toml")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mfa_tui", "list", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MFA_TUI_NO_FASTPATH": "1", "MFA_TUI_CONFIG": no_settings},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
    assert "mfa_tui.aws.ini" in imported  # it did parse
    for unused in ("argparse", "typing", "tomllib", "tempfile", "json", "boto3", "textual"):
        assert unused not in imported, unused


def test_key_ages_show_in_the_listing_and_a_new_one_makes_the_cache_stale(
    world: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from mfa_tui.core.key_ages import KeyAge, record_key_age

    key = listing.input_key()
    made = datetime.now(UTC).replace(microsecond=0) - timedelta(days=100, hours=1)
    record_key_age("base", KeyAge("AKIABASE", made, "base"))
    record_key_age("other-user", KeyAge("AKIANOTTHISONE", made, "other-user"))
    assert listing.input_key() != key
    assert main(["list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows["base"]["key_created"], rows["base"]["key_age_days"], rows["base"]["rotate"]) == (
        iso(made),
        100,
        True,
    )
    # A recorded age of another key than the one in the file is not this key's.
    assert rows["other-user"]["key_age_days"] is None and not rows["other-user"]["rotate"]
    assert main(["list"]) == 0
    by_name = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    assert by_name["base"][2:5] == ["file", "100d", "rotate"]
    assert by_name["other-user"][2:4] == ["file", "-"]


def test_a_missing_credential_process_program_is_noted_and_never_cached(
    world: dict[str, str],
    isolated_env: Path,
    still: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The note depends on this computer, not on the files: a listing that shows it is
    # worked out again every time, so installing the program clears it at once.
    config = isolated_env / "team files" / "config"
    program = isolated_env / "team files" / "bin" / "vault-creds"
    program.rename(program.with_name("elsewhere"))
    assert main(["list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    (note,) = rows["vault"]["notes"]
    assert note == (
        f"credential_process ({config}:49): its program {program} does not exist; install "
        "it, or correct the path; until then the AWS tools get no credentials for 'vault'"
    )
    assert "PROCESS-SECRET-ARG" not in note  # its arguments are never shown
    assert listing.cached_listing(True) is None
    program.with_name("elsewhere").rename(program)
    assert main(["list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["vault"]["notes"] == []
    assert listing.cached_listing(True) is not None


def test_the_cli_module_leaves_the_parsers_word_lists_to_the_parser() -> None:
    # The commands that skip argparse (a plain `list`, `doctor --files`) skip what only
    # the parser's help and choices need: completion's and status's tables.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, mfa_tui.cli; print(sorted(m for m in ('mfa_tui.completion', "
            "'mfa_tui.status_line', 'mfa_tui.profile_scan') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
