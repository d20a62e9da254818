"""README's prompt snippets, run in the shells they are for."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BIN = str(Path(sys.executable).parent)


def line_starting(prefix: str) -> str:
    found = [line for line in README.splitlines() if line.startswith(prefix)]
    assert len(found) == 1, prefix
    return found[0]


@pytest.fixture
def active(aws_dir: Path) -> None:
    (aws_dir / "config").write_text(
        "[profile test-user]\n\n[profile my-test-role]\nsource_profile = test-user\n"
        "role_arn = arn:aws:iam::1:role/r\n"
    )
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 42 * 60 + 30))
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 9 * 3600))
    (aws_dir / "credentials").write_text(
        "[test-user]\naws_access_key_id = AKIA\naws_secret_access_key = K\n\n"
        f"[test-user-mfa]\naws_access_key_id = A\naws_secret_access_key = S\n"
        f"aws_session_token = T\nexpiration = {later}\nmfa_tui_source = test-user\n\n"
        f"[mfa-tui]\naws_access_key_id = A\naws_secret_access_key = S\n"
        f"aws_session_token = T\nexpiration = {soon}\nmfa_tui_source = my-test-role\n"
    )


def env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_the_bash_prompt(active: None) -> None:
    probe = "PS1='$ '\n" + line_starting("PS1=") + '\necho "${PS1@P}"\n'
    done = subprocess.run(
        ["bash", "--norc", "-c", probe], capture_output=True, text=True, env=env(), check=False
    )
    assert done.stdout == "[my-test-role 42m] $ \n", done.stderr


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_the_zsh_prompt(active: None) -> None:
    probe = (
        "PROMPT='%% '\nsetopt PROMPT_SUBST\n"
        + line_starting("PROMPT=")
        + ('\nprint -rP -- "$PROMPT"\n')
    )
    done = subprocess.run(
        ["zsh", "-f", "-c", probe], capture_output=True, text=True, env=env(), check=False
    )
    assert done.stdout == "[my-test-role 42m] % \n", done.stderr


def test_the_starship_module_is_valid_toml_that_runs_status() -> None:
    start = README.index("[custom.mfa_tui]")
    block = README[start : README.index("```", start)]
    module = tomllib.loads(block)["custom"]["mfa_tui"]
    assert module["command"] == "mfa-tui status" and module["when"] is True
    assert "$output" in module["format"]
