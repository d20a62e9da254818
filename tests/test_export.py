"""`mfa-tui export`: the AWS CLI v2's formats byte for byte, and a session through the door.

tests/data/awscli_export holds what `aws configure export-credentials` of the real AWS
CLI v2 printed for the credentials below (recorded by scripts/awscli_export_golden.py;
its VERSION file names the CLI).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mfa_tui import cli, completion
from mfa_tui.aws import ini
from mfa_tui.aws.credentials import OWNER_KEY, write_section
from mfa_tui.aws.files import format_expiration
from mfa_tui.commands.export import ALIASES, FORMATS, render
from mfa_tui.core.store import StoredSession
from mfa_tui.sandbox import REGION
from tests.moto_fixtures import Sandbox
from tests.test_cli_session import mfa_tui

GOLDEN = Path(__file__).resolve().parent / "data" / "awscli_export"
RECORDED = StoredSession(
    "ASIAGOLDENEXAMPLE123",
    "wJalr/XUtnFEMI+K7MDENG/bPxRfiCYEXAMPLEKEY",
    "IQoJb3JpZ2luX2VjE+/gold/en=token//with+slashes==",
    datetime(2099, 1, 1, tzinfo=UTC),
)


def test_the_recordings_are_the_aws_cli_v2s() -> None:
    assert (GOLDEN / "VERSION").read_text().startswith("aws-cli/2.")
    assert {p.stem for p in GOLDEN.glob("*.txt")} == set(FORMATS)


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_byte_for_byte_the_aws_clis(fmt: str) -> None:
    assert render(RECORDED, fmt).encode() == (GOLDEN / f"{fmt}.txt").read_bytes()


def test_json_is_the_aws_clis_process_format() -> None:
    assert ALIASES == {"json": "process"}
    assert render(RECORDED, "json").encode() == (GOLDEN / "process.txt").read_bytes()


@pytest.mark.parametrize(
    ("fmt", "lines"),
    [
        ("env", ["export AWS_REGION=eu-west-1", "export AWS_DEFAULT_REGION=eu-west-1"]),
        ("env-no-export", ["AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1"]),
        ("fish", ['set -gx AWS_REGION "eu-west-1"', 'set -gx AWS_DEFAULT_REGION "eu-west-1"']),
        ("powershell", ['$Env:AWS_REGION="eu-west-1"', '$Env:AWS_DEFAULT_REGION="eu-west-1"']),
        ("windows-cmd", ["set AWS_REGION=eu-west-1", "set AWS_DEFAULT_REGION=eu-west-1"]),
    ],
)
def test_the_region_follows_the_credentials_in_the_same_form(fmt: str, lines: list[str]) -> None:
    golden = (GOLDEN / f"{fmt}.txt").read_text()
    assert render(RECORDED, fmt, "eu-west-1") == golden + "".join(f"{x}\n" for x in lines)


def test_process_json_has_no_place_for_a_region() -> None:
    assert render(RECORDED, "process", "eu-west-1") == (GOLDEN / "process.txt").read_text()


def test_the_command_offers_the_aws_clis_formats() -> None:
    assert set(completion.EXPORT_FORMATS) == set(FORMATS) | set(ALIASES)
    parser = cli.build_parser()
    for fmt in completion.EXPORT_FORMATS:
        assert parser.parse_args(["export", "p", "--format", fmt]).format == fmt


# --- the command, on moto ----------------------------------------------------------------


def stored(sandbox: Sandbox, section: str) -> dict[str, str]:
    return ini.read(sandbox.paths.credentials).section_values()[section]


def put_session(sandbox: Sandbox, section: str, owner: str, left: timedelta) -> None:
    write_section(
        sandbox.paths.credentials,
        section,
        {
            "aws_access_key_id": "ASIAOLDSESSION",
            "aws_secret_access_key": "old-secret",
            "aws_session_token": "old-token",
            "expiration": format_expiration(datetime.now(UTC) + left),
            "region": REGION,
            OWNER_KEY: owner,
        },
    )


def test_export_prints_the_session_with_the_profiles_region(sandbox: Sandbox) -> None:
    assert mfa_tui("refresh", "my-test-role", "--code", "123456").returncode == 0
    values = stored(sandbox, "my-test-role-mfa")
    calls = len(sandbox.fault.actions())
    done = mfa_tui("export", "my-test-role")
    assert done.returncode == 0, done.stderr
    expiry = values["expiration"].replace("Z", "+00:00")
    assert done.stdout.splitlines() == [
        f"export AWS_ACCESS_KEY_ID={values['aws_access_key_id']}",
        f"export AWS_SECRET_ACCESS_KEY={values['aws_secret_access_key']}",
        f"export AWS_SESSION_TOKEN={values['aws_session_token']}",
        f"export AWS_CREDENTIAL_EXPIRATION={expiry}",
        f"export AWS_REGION={REGION}",
        f"export AWS_DEFAULT_REGION={REGION}",
    ]
    assert done.stderr == ""
    assert len(sandbox.fault.actions()) == calls, "a session with an hour left is served"
    # What `eval "$(mfa-tui export ...)"` gives a shell is what the file holds.
    shell = subprocess.run(
        [
            "sh",
            "-c",
            f'eval "$({sys.executable} -m mfa_tui export my-test-role)"; '
            'echo "$AWS_SESSION_TOKEN $AWS_DEFAULT_REGION"',
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shell.stdout.split() == [values["aws_session_token"], REGION]


@pytest.mark.parametrize("left", [timedelta(minutes=-5), timedelta(minutes=12)])
def test_export_renews_a_role_session_from_its_user_without_a_code(
    sandbox: Sandbox, left: timedelta
) -> None:
    # Before, an expired role session was "no unexpired session" although one AssumeRole
    # from the user's session would do, as credential-process already did.
    assert mfa_tui("refresh", "test-user", "--code", "123456").returncode == 0
    put_session(sandbox, "my-test-role-mfa", "my-test-role", left)
    done = mfa_tui("export", "my-test-role", "--format", "process")
    assert done.returncode == 0, done.stderr
    assert "ASIAOLDSESSION" not in done.stdout
    assert stored(sandbox, "my-test-role-mfa")["aws_access_key_id"] in done.stdout
    assert sandbox.fault.actions().count("AssumeRole") == 1
    assert "TokenCode" not in sandbox.fault.calls("AssumeRole")[0]
    assert done.stderr == ""


def test_export_warns_when_only_a_short_session_can_be_had(sandbox: Sandbox) -> None:
    # No user session, no code source, no terminal, no dashboard: the 4 minutes left are
    # printed, with a warning that says so.
    put_session(sandbox, "my-test-role-mfa", "my-test-role", timedelta(minutes=4, seconds=30))
    done = mfa_tui("export", "my-test-role", "--format", "env-no-export")
    assert done.returncode == 0, done.stderr
    assert "AWS_ACCESS_KEY_ID=ASIAOLDSESSION\n" in done.stdout
    assert done.stderr.startswith("mfa-tui: warning: serving the stored session (4 min left)")
    assert "needs a code" in done.stderr and "old-secret" not in done.stderr
    assert sandbox.fault.actions() == []


def test_export_warns_when_a_fresh_session_is_inside_its_margin(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A role whose sessions last 15 minutes, with a 1000-second margin: the freshest one
    # it can have is still inside the margin, and the person is told.
    settings = tmp_path / "settings.toml"
    settings.write_text('role_refresh_margin = 1000\n[profiles."my-test-role"]\nduration = 900\n')
    monkeypatch.setenv("MFA_TUI_CONFIG", str(settings))
    assert mfa_tui("refresh", "test-user", "--code", "123456").returncode == 0
    done = mfa_tui("export", "my-test-role")
    assert done.returncode == 0, done.stderr
    assert "mfa-tui: warning: my-test-role's session has 0:1" in done.stderr
    assert "less than its refresh margin (1000 s)" in done.stderr


def test_export_with_no_session_and_nobody_to_ask_is_exit_3(sandbox: Sandbox) -> None:
    done = mfa_tui("export", "my-test-role")
    assert done.returncode == 3, done.stderr
    assert done.stdout == ""
    assert sandbox.test_user.mfa_serial in done.stderr and "--code" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert sandbox.fault.actions() == []


def test_export_of_an_unknown_profile_is_exit_2(sandbox: Sandbox) -> None:
    done = mfa_tui("export", "nobody")
    assert done.returncode == 2
    assert "unknown profile 'nobody'" in done.stderr and done.stdout == ""
