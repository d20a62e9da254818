"""Profile names as botocore reads them, end to end: real `mfa-tui` processes, moto behind
the fault proxy, and boto3 in a child process as the client that must agree.

Every refusal is proven the way it matters to a person: the fault proxy saw no STS call
(no MFA code was spent) and both AWS files are byte-identical afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.configloader
import botocore.exceptions
import botocore.session
import pytest

from mfa_tui.aws import ini
from mfa_tui.aws.credentials import OWNER_KEY
from mfa_tui.aws.files import format_expiration
from tests.moto_fixtures import Sandbox
from tests.test_cli_session import mfa_tui

CODE = "123456"


def files(sandbox: Sandbox) -> tuple[bytes, bytes]:
    return sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


def listed(*args: str) -> dict[str, dict[str, Any]]:
    done = mfa_tui("list", "--json", *args)
    assert done.returncode == 0, done.stderr
    return {row["name"]: row for row in json.loads(done.stdout)}


def line_of(path: Path, text: str) -> int:
    return path.read_text().splitlines().index(text) + 1


def refused_before_sts(sandbox: Sandbox, *args: str, exit_code: int, words: str) -> str:
    """Run a refresh that must be refused: no STS call, files untouched."""
    before = files(sandbox)
    done = mfa_tui("refresh", *args, "--code", CODE)
    assert done.returncode == exit_code, done.stderr
    assert words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert sandbox.fault.actions() == [], "an MFA code was spent"
    assert files(sandbox) == before
    return done.stderr


def boto3_as(profile: str) -> str:
    """What a real SDK client gets with AWS_PROFILE=profile: the caller's access key."""
    probe = (
        "import boto3\n"
        "client = boto3.session.Session().client('sts')\n"
        "print(client.get_caller_identity()['Arn'])\n"
        "print(client._request_signer._credentials.access_key)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "AWS_PROFILE": profile},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


# ---------------------------------------------------------------------------
# 1. --save-serial finds a quoted profile the way botocore names it.


@pytest.mark.parametrize(
    ("credentials_name", "header"),
    [("ops-user", 'profile "ops-user"'), ("a b", "profile 'a b'")],
)
def test_save_serial_edits_a_quoted_profile_in_place(
    sandbox: Sandbox, credentials_name: str, header: str
) -> None:
    serial = sandbox.account.users["ops-user"].mfa_serial
    replace_in(sandbox.paths.config, "[profile ops-user]\n", f"[{header}]\n")
    replace_in(sandbox.paths.config, f"mfa_serial = {serial}\n", "")
    replace_in(sandbox.paths.credentials, "[ops-user]\n", f"[{credentials_name}]\n")
    before = sandbox.paths.config.read_bytes()

    done = mfa_tui("refresh", credentials_name, "--code", CODE, "--save-serial")
    assert done.returncode == 0, done.stderr
    assert f"saved mfa_serial = {serial} in [{header}] in {sandbox.paths.config}" in done.stdout
    after = sandbox.paths.config.read_bytes()
    # One line added inside the quoted section; no second section shadows it.
    assert after.replace(f"    addressing_style = path\nmfa_serial = {serial}\n".encode(),
                         b"    addressing_style = path\n", 1) == before  # fmt: skip
    profile = botocore.configloader.load_config(str(sandbox.paths.config))["profiles"][
        credentials_name
    ]
    assert profile["region"] == "eu-west-1" and profile["mfa_serial"] == serial
    assert profile["s3"] == {"max_concurrent_requests": "20", "addressing_style": "path"}
    row = listed()[credentials_name]
    assert (row["region"], row["mfa_serial"], row["managed"]) == ("eu-west-1", serial, True)


# ---------------------------------------------------------------------------
# 2. A profile with a space, or not in ASCII, gets its session; AWS_PROFILE works.


def test_spaced_and_non_ascii_profiles_get_sessions_aws_profile_can_use(
    sandbox: Sandbox,
) -> None:
    user, role = sandbox.test_user, sandbox.account.roles["my-test-role"]
    endpoint = f"endpoint_url = {sandbox.fault.url}\n"
    append(
        sandbox.paths.credentials,
        f"\n[my profile]\naws_access_key_id = {user.access_key_id}\n"
        f"aws_secret_access_key = {user.secret_access_key}\n",
    )
    append(
        sandbox.paths.config,
        f'\n[profile "my profile"]\nregion = eu-west-1\nmfa_serial = {user.mfa_serial}\n'
        f'{endpoint}\n[profile "開発 role"]\nsource_profile = my profile\nrole_arn = {role}\n'
        f"region = ap-northeast-1\n{endpoint}",
    )
    rows = listed()
    assert rows["my profile"]["managed"] and rows["開発 role"]["managed"]
    assert rows["開発 role"]["session_profile"] == "開発 role-mfa"

    done = mfa_tui("refresh", "開発 role", "--code", CODE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("開発 role-mfa valid until ")
    written = ini.read(sandbox.paths.credentials).section_values()
    assert written["my profile-mfa"][OWNER_KEY] == "my profile"
    assert written["開発 role-mfa"][OWNER_KEY] == "開発 role"
    # The AWS SDK finds both by name and signs with their temporary keys.
    for session in ("my profile-mfa", "開発 role-mfa"):
        assert boto3_as(session) == written[session]["aws_access_key_id"]


@pytest.mark.parametrize(
    ("section", "name", "why"),
    [
        ("[ops]x]", "ops]x", "it has a ']'"),
        ("[#ops]", "#ops", "it starts with '#'"),
        ("[ ops]", " ops", "it starts or ends with a blank"),
    ],
)
def test_a_name_whose_session_would_break_the_file_is_unmanaged_and_refused(
    sandbox: Sandbox, section: str, name: str, why: str
) -> None:
    ops = sandbox.account.users["ops-user"]
    append(
        sandbox.paths.credentials,
        f"\n{section}\naws_access_key_id = {ops.access_key_id}\n"
        f"aws_secret_access_key = {ops.secret_access_key}\n",
    )
    row = listed()[name]
    assert row["kind"] == "user" and not row["managed"]
    assert f"'{name}-mfa', cannot be written: {why}" in row["reason"]
    refused_before_sts(sandbox, name, exit_code=2, words=why)


# ---------------------------------------------------------------------------
# 3. A session profile that is a profile in the config file.


def test_a_session_profile_that_is_a_config_profile_is_refused(sandbox: Sandbox) -> None:
    chained = sandbox.account.roles["chained-role"]
    append(
        sandbox.paths.config,
        f"\n[profile my-test-role-mfa]\nrole_arn = {chained}\nsource_profile = my-test-role\n",
    )
    stderr = refused_before_sts(
        sandbox, "my-test-role", exit_code=2, words="is also [profile my-test-role-mfa]"
    )
    line = sandbox.paths.config.read_text().splitlines().index("[profile my-test-role-mfa]") + 1
    assert f"[profile my-test-role-mfa] ({sandbox.paths.config}:{line})" in stderr
    assert str(sandbox.paths.config) in stderr and str(sandbox.paths.credentials) in stderr
    assert "session_profile_pattern" in stderr and 'profiles."my-test-role"' in stderr
    rows = listed()
    # Refreshing chained-role would store my-test-role's session on the way.
    for name in ("my-test-role", "chained-role"):
        assert not rows[name]["managed"] and "my-test-role-mfa" in rows[name]["reason"]
    assert rows["readonly-role"]["managed"]


# ---------------------------------------------------------------------------
# 4. Values the AWS tools cannot use are named, with their file and line.


def test_values_botocore_cannot_use_are_named_in_list_and_refresh(sandbox: Sandbox) -> None:
    config = sandbox.paths.config
    replace_in(
        config,
        "[profile readonly-role]\n",
        "[profile readonly-role]\nduration_seconds = 1800 ; half an hour\n",
    )
    append(
        config,
        "\n[profile typo-role]\nsource_profile = test-user\nrole_arn = arn:aws:iam:123:role/x\n",
    )
    duration_line = line_of(config, "duration_seconds = 1800 ; half an hour")
    arn_line = line_of(config, "role_arn = arn:aws:iam:123:role/x")
    duration_note = (
        f"duration_seconds = 1800 ; half an hour ({config}:{duration_line}) is not a whole "
        "number of seconds"
    )
    arn_note = f"role_arn = arn:aws:iam:123:role/x ({config}:{arn_line}) is not a role ARN"

    rows = listed()
    assert rows["readonly-role"]["managed"]
    assert [n[: len(duration_note)] for n in rows["readonly-role"]["notes"]] == [duration_note]
    assert not rows["typo-role"]["managed"] and rows["typo-role"]["reason"].startswith(arn_note)
    table = mfa_tui("list")
    assert duration_note in table.stdout and arn_note in table.stdout

    done = mfa_tui("refresh", "readonly-role", "--code", CODE)
    assert done.returncode == 0, done.stderr
    assert duration_note in done.stdout and "it is ignored" in done.stdout
    # botocore would not send it either: the role's default length is asked for.
    assert sandbox.fault.calls("AssumeRole")[0]["DurationSeconds"] == "3600"
    sandbox.fault.clear()
    refused_before_sts(sandbox, "typo-role", exit_code=2, words=arn_note)


# ---------------------------------------------------------------------------
# 5. Session profile names that would break other profiles.


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ('[profiles."test-user"]\nsession_profile = "DEFAULT"\n', '[profiles."test-user"]'),
        ('active_profile = "DEFAULT"\n', "active_profile = 'DEFAULT'"),
        (
            '[profiles."a"]\nsession_profile = "x-mfa"\n[profiles."b"]\nsession_profile = "x-mfa"\n',
            'is also the session profile of [profiles."a"]',
        ),
    ],
)
def test_special_or_shared_names_are_refused_in_the_settings(
    sandbox: Sandbox, isolated_env: Path, monkeypatch: pytest.MonkeyPatch, settings: str, words: str
) -> None:
    path = isolated_env / "mfa-tui.toml"
    path.write_text(settings)
    monkeypatch.setenv("MFA_TUI_CONFIG", str(path))
    before = files(sandbox)
    for args in (["list"], ["refresh", "test-user", "--code", CODE]):
        done = mfa_tui(*args)
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.startswith(f"mfa-tui: {path}: ") and words in done.stderr
    assert sandbox.fault.actions() == [] and files(sandbox) == before


def test_two_profiles_sharing_a_session_profile_are_refused(
    sandbox: Sandbox, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = isolated_env / "mfa-tui.toml"
    path.write_text('[profiles."my-test-role"]\nsession_profile = "test-user-mfa"\n')
    monkeypatch.setenv("MFA_TUI_CONFIG", str(path))
    rows = listed()
    for name in ("test-user", "my-test-role"):
        assert not rows[name]["managed"]
        assert "would both keep their sessions in 'test-user-mfa'" in rows[name]["reason"]
    refused_before_sts(sandbox, "my-test-role", exit_code=2, words="test-user-mfa")
    refused_before_sts(sandbox, "test-user", exit_code=2, words="test-user-mfa")


def test_a_session_marked_for_another_profile_is_neither_shown_nor_overwritten(
    sandbox: Sandbox,
) -> None:
    # Left by settings that once shared it: the role's session in the user's section.
    expires = format_expiration(datetime.now(UTC) + timedelta(hours=1))
    append(
        sandbox.paths.credentials,
        f"\n[test-user-mfa]\naws_access_key_id = ASIAROLEKEY\naws_secret_access_key = s\n"
        f"aws_session_token = t\nexpiration = {expires}\n{OWNER_KEY} = my-test-role\n",
    )
    row = listed()["test-user"]
    assert (row["state"], row["expires_at"], row["managed"]) == ("none", None, False)
    assert "holds the session of 'my-test-role'" in row["reason"]
    refused_before_sts(sandbox, "test-user", exit_code=2, words="my-test-role")
    # Nor is it served as test-user's credentials.
    served = mfa_tui("credential-process", "test-user")
    assert served.returncode != 0 and "ASIAROLEKEY" not in served.stdout


# ---------------------------------------------------------------------------
# 6. A bad line elsewhere, a read-only folder: checked before the code is spent.


def test_a_malformed_line_elsewhere_costs_a_refresh_nothing(sandbox: Sandbox) -> None:
    append(sandbox.paths.config, "\nthis line is not an INI line\n")
    append(sandbox.paths.credentials, "\n[broken\n")
    # botocore itself would refuse these files, every profile of them.
    with pytest.raises(botocore.exceptions.ConfigParseError):
        botocore.session.Session(profile="test-user").get_scoped_config()
    listing = mfa_tui("list")
    assert listing.returncode == 0 and listing.stderr.count("mfa-tui: warning: ") == 2

    done = mfa_tui("refresh", "my-test-role", "--code", CODE)
    assert done.returncode == 0, done.stderr
    assert sandbox.fault.actions() == ["GetSessionToken", "AssumeRole"]


def test_a_read_only_aws_folder_is_refused_before_the_code_is_spent(sandbox: Sandbox) -> None:
    folder = sandbox.paths.credentials.parent
    folder.chmod(0o500)
    try:
        refused_before_sts(sandbox, "test-user", exit_code=1, words="read-only")
    finally:
        folder.chmod(0o700)
    lock = Path(f"{sandbox.paths.credentials}.lock")
    lock.write_text("")
    lock.chmod(0o400)
    refused_before_sts(sandbox, "test-user", exit_code=1, words="cannot lock")


# ---------------------------------------------------------------------------
# 7. `[profile team dev]`: dropped by botocore without a word, named by mfa-tui.


def test_an_unquoted_space_in_a_profile_header_is_named_once(sandbox: Sandbox) -> None:
    append(sandbox.paths.config, "\n[profile team dev]\nregion = eu-west-1\n")
    line = line_of(sandbox.paths.config, "[profile team dev]")
    done = mfa_tui("list")
    assert done.returncode == 0
    warnings = [w for w in done.stderr.splitlines() if "team dev" in w]
    assert warnings == [
        f"mfa-tui: warning: {sandbox.paths.config}:{line}: [profile team dev] is no profile "
        "for the AWS tools, which drop it without a word (a name with a space must be "
        'quoted): write [profile "team dev"] to make it a profile'
    ]
    assert "team dev" not in listed()
    replace_in(sandbox.paths.config, "[profile team dev]", '[profile "team dev"]')
    assert "team dev" in listed()
