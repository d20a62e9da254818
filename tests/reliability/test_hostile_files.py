"""Files that are not what they seem: FIFOs, devices, files far too big.

A FIFO as the credentials, config or settings file hung `list`, `refresh`, `export`,
`credential-process` (its fast path too) and the daemon, silently; the dashboard showed
an empty table and ignored `q`. A credentials file linked to /dev/zero ended in a
MemoryError (a raw traceback on the fast path). Each is now named and refused at once,
in real processes here; the dashboard's side is in tests/e2e/test_hostile_dashboard.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mfa_tui.bounded_read import MAX_FILE_BYTES
from tests.moto_fixtures import Sandbox

NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
COMMANDS = [
    ["list"],
    ["list", "--json"],
    ["refresh", "test-user", "--code", "123456"],
    ["export", "test-user"],
    ["credential-process", "test-user"],
    ["daemon", "--once"],
]
# Far above what any of these takes, far below a hang.
BOUND = 30.0


def mfa_tui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mfa_tui", *args],
        capture_output=True,
        text=True,
        timeout=BOUND,
        env={**os.environ, **NO_KEYRING},
        stdin=subprocess.DEVNULL,
        check=False,
    )


def settings_file(isolated_env: Path) -> Path:
    return isolated_env / ".config" / "mfa-tui" / "config.toml"


def swap_for_fifo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    os.mkfifo(path)


@pytest.mark.parametrize("which", ["config", "credentials", "settings"])
def test_a_fifo_in_place_of_a_file_is_named_at_once_by_every_command(
    sandbox: Sandbox, isolated_env: Path, which: str
) -> None:
    path = {
        "config": sandbox.paths.config,
        "credentials": sandbox.paths.credentials,
        "settings": settings_file(isolated_env),
    }[which]
    swap_for_fifo(path)
    for args in COMMANDS:
        started = time.monotonic()
        done = mfa_tui(*args)  # a hang would raise TimeoutExpired
        assert time.monotonic() - started < BOUND
        assert "Traceback" not in done.stderr, (args, done.stderr)
        assert f"{path} is a named pipe (FIFO), not a regular file" in done.stderr, (
            args,
            done.stderr,
        )
    assert sandbox.fault.actions() == [], "nothing was asked of AWS with a file unread"


def test_credentials_linked_to_dev_zero_are_refused_not_read(
    sandbox: Sandbox, isolated_env: Path
) -> None:
    sandbox.paths.credentials.unlink()
    sandbox.paths.credentials.symlink_to("/dev/zero")
    for args in (["list"], ["credential-process", "test-user"], ["export", "test-user"]):
        done = mfa_tui(*args)
        assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
        assert "is a character device, not a regular file" in done.stderr, (args, done.stderr)


def test_a_file_bigger_than_any_real_aws_file_is_refused_with_its_size(
    sandbox: Sandbox, isolated_env: Path
) -> None:
    # 17 MB of comments after the real sections: what a log written to the wrong path,
    # or someone who wants mfa-tui to fall over, looks like.
    line = b"# " + b"x" * 1021 + b"\n"
    with sandbox.paths.credentials.open("ab") as fh:
        for _ in range(MAX_FILE_BYTES // len(line) + 1024):
            fh.write(line)
    for args in (["list", "--json"], ["credential-process", "test-user"]):
        started = time.monotonic()
        done = mfa_tui(*args)
        assert time.monotonic() - started < BOUND
        assert "Traceback" not in done.stderr
        assert f"{sandbox.paths.credentials} is 17.0 MiB, more than the 16 MiB" in done.stderr
    assert sandbox.fault.actions() == []


MEASURE = """
import resource, sys
{body}
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
ONE_PARSE = """
import boto3  # what a refresh loads besides the files
from mfa_tui.aws.files import load_profiles
load_profiles()
"""
REFRESH = """
from mfa_tui.cli import main
assert main(["refresh", "test-user", "--code", "123456"]) == 0
"""


def peak_kb(body: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE.format(body=body)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **NO_KEYRING},
        check=True,
    )
    return int(done.stdout.split()[-1])


@pytest.mark.slow
def test_a_refresh_holds_one_parse_of_a_big_file_at_a_time(sandbox: Sandbox) -> None:
    # Three lines a profile, a few bytes a line (3 MB): the shape that costs the most
    # memory for its size, enough for one parse to weigh more than boto3's own peak.
    # Before, a refresh held up to four parses at once (5 GB for 16 MB of this kind).
    with sandbox.paths.credentials.open("a") as fh:
        for i in range(120_000):
            fh.write(f"[p{i:06d}]\nk = {i}\nv = x\n")
    one = peak_kb(ONE_PARSE)
    refresh = peak_kb(REFRESH)
    assert sandbox.fault.calls("GetSessionToken"), "it was a real refresh"
    assert refresh < one * 1.3, f"a refresh peaked at {refresh} KB, one parse at {one} KB"
