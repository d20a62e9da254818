"""Whether the AWS tools can start a credential_process program: botocore's own rules."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mfa_tui.aws.process import program_problem


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


def _program(folder: Path, name: str, mode: int = 0o755) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\necho '{\"Version\": 1}'\n")
    path.chmod(mode)
    return path


def test_programs_on_path_and_full_paths_are_fine(bin_dir: Path) -> None:
    tool = _program(bin_dir, "get-creds")
    assert program_problem("get-creds --profile x") is None
    assert program_problem(f"{tool} --json") is None
    assert program_problem(f"'{tool}' --arg 'two words'") is None


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("get-creds --json", "its program 'get-creds' is not found on PATH"),
        ("/nowhere/get-creds", "its program /nowhere/get-creds does not exist"),
        ("~/bin/get-creds", "starts with '~', which the AWS tools do not expand"),
        ("bin/get-creds", "is a relative path"),
        ("'unclosed --json", "a quote that is not closed"),
        ("", "it is empty"),
    ],
)
def test_what_botocore_could_not_start_is_named(bin_dir: Path, command: str, words: str) -> None:
    problem = program_problem(command)
    assert problem is not None and words in problem


def test_a_program_that_is_not_executable(bin_dir: Path) -> None:
    tool = _program(bin_dir, "get-creds", 0o644)
    assert program_problem(str(tool)) == (
        f"its program {tool} is not executable; run 'chmod +x {tool}'"
    )


def test_the_verdict_is_botocores(bin_dir: Path, tmp_path: Path) -> None:
    # botocore itself, in a child process, fails to start exactly the commands we name.
    good = _program(bin_dir, "get-creds")
    unquoted = tmp_path / "with space" / "tool"
    unquoted.parent.mkdir()
    _program(unquoted.parent, "tool")
    cases = [f"{good}", "get-creds", f"{unquoted}", "missing-tool", "~/tool"]
    probe = (
        "import sys, botocore.credentials as c\n"
        "try:\n"
        "    c.ProcessProvider('p', lambda: {})._retrieve_credentials_using(sys.argv[1])\n"
        "except (OSError, ValueError):\n"
        "    print('cannot start')\n"
        "except Exception:\n"
        "    print('started')\n"
        "else:\n"
        "    print('started')\n"
    )
    for command in cases:
        done = subprocess.run(
            [sys.executable, "-c", probe, command],
            capture_output=True,
            text=True,
            env={**os.environ, "PATH": str(bin_dir)},
            timeout=60,
            check=True,
        )
        started = done.stdout.strip() == "started"
        assert started == (program_problem(command) is None), (command, done.stdout)
