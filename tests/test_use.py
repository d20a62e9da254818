"""`mfa-tui use PROFILE`: the dashboard's enter, from the command line (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mfa_tui.aws import ini
from tests import stsfault
from tests.moto_fixtures import Sandbox
from tests.test_cli_session import ROOT, mfa_tui


def sections(sandbox: Sandbox) -> dict[str, dict[str, str]]:
    return ini.read(sandbox.paths.credentials).section_values()


def caller_arn(profile: str) -> subprocess.CompletedProcess[str]:
    """What boto3 in another process says it is, with AWS_PROFILE=`profile`."""
    probe = "import boto3\nprint(boto3.client('sts').get_caller_identity()['Arn'])\n"
    return subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "AWS_PROFILE": profile},
        timeout=60,
        check=False,
    )


def test_use_switches_the_active_profile_every_tool_reads(sandbox: Sandbox) -> None:
    done = mfa_tui("use", "my-test-role", "--code", "123456")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("switched mfa-tui to my-test-role; my-test-role-mfa valid until")
    assert done.stdout.count("\n") == 1
    found = sections(sandbox)
    assert found["mfa-tui"]["mfa_tui_source"] == "my-test-role"
    for key in ("aws_access_key_id", "aws_session_token", "expiration"):
        assert found["mfa-tui"][key] == found["my-test-role-mfa"][key]
    # README step 3: AWS_PROFILE=mfa-tui, and the tools are the role.
    who = caller_arn("mfa-tui")
    assert who.returncode == 0, who.stderr
    assert ":assumed-role/my-test-role/" in who.stdout
    # The other role of the same user switches without a code.
    again = mfa_tui("use", "readonly-role")
    assert again.returncode == 0, again.stderr
    assert sections(sandbox)["mfa-tui"]["mfa_tui_source"] == "readonly-role"
    assert ":assumed-role/readonly-role/" in caller_arn("mfa-tui").stdout
    assert sandbox.fault.actions().count("GetSessionToken") == 1


def test_use_of_a_valid_session_makes_no_call(sandbox: Sandbox) -> None:
    assert mfa_tui("refresh", "my-test-role", "--code", "123456").returncode == 0
    calls = len(sandbox.fault.actions())
    done = mfa_tui("use", "my-test-role")
    assert done.returncode == 0, done.stderr
    assert "still valid" in done.stdout
    assert len(sandbox.fault.actions()) == calls
    assert sections(sandbox)["mfa-tui"]["mfa_tui_source"] == "my-test-role"


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["nobody"], 2, "unknown profile 'nobody'"),
        (["corp-sso"], 2, "is not one mfa-tui can refresh (sso"),
        (["my-test-role", "--code", "12345"], 2, "6 digits"),
        (["my-test-role"], 3, "needs a code from MFA device"),
    ],
)
def test_use_that_cannot_switch_says_why_and_writes_nothing(
    sandbox: Sandbox, args: list[str], code: int, words: str
) -> None:
    before = sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()
    done = mfa_tui("use", *args)
    assert done.returncode == code, done.stderr
    assert words in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert (sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()) == before
    assert sandbox.fault.actions() == []


def test_use_with_a_code_aws_refuses_is_exit_4_and_writes_nothing(sandbox: Sandbox) -> None:
    before = sandbox.paths.credentials.read_bytes()
    sandbox.fault.always = stsfault.invalid_code()
    done = mfa_tui("use", "my-test-role", "--code", "123456")
    assert done.returncode == 4
    assert "rejected the MFA code" in done.stderr
    assert sandbox.paths.credentials.read_bytes() == before
