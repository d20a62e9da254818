"""Shell completion: the answers, the CLI they describe, and bash, zsh and fish using them."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mfa_tui import cli
from mfa_tui.completion import COMMANDS, GLOBAL, answer, candidates
from tests.test_fastpath import HEAVY, OURS

BIN = str(Path(sys.executable).parent)

CONFIG = (
    "[default]\nregion = eu-west-1\n\n"
    "[profile test-user]\nregion = eu-west-1\n\n"
    "[profile my-test-role]\nsource_profile = test-user\nrole_arn = arn:aws:iam::1:role/r\n\n"
    "[profile my:colon-role]\nsource_profile = test-user\nrole_arn = arn:aws:iam::1:role/c\n\n"
    "[profile corp-sso]\nsso_session = corp\nsso_account_id = 1\n\n"
    "[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\n"
)
CREDENTIALS = (
    "[test-user]\naws_access_key_id = AKIA\naws_secret_access_key = K\n\n"
    "[test-user-mfa]\naws_access_key_id = ASIA\naws_secret_access_key = S\n"
    "aws_session_token = T\nexpiration = 2030-01-01T00:00:00Z\nmfa_tui_source = test-user\n"
)


@pytest.fixture
def files(aws_dir: Path) -> None:
    (aws_dir / "config").write_text(CONFIG)
    (aws_dir / "credentials").write_text(CREDENTIALS)


def _parser_commands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_the_table_describes_the_clis_parser() -> None:
    commands = _parser_commands()
    assert set(COMMANDS) == set(commands)
    for name, parser in commands.items():
        flags, valued, positionals = COMMANDS[name]
        options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
        want_flags = {
            s for a in options if a.nargs == 0 for s in a.option_strings if s.startswith("--")
        }
        want_valued = {
            s: tuple(a.choices or ())
            for a in options
            if a.nargs != 0
            for s in a.option_strings
            if s.startswith("--")
        }
        assert set(flags) == want_flags, name
        assert set(valued) == set(want_valued), name
        for option, choices in want_valued.items():
            # Where the parser checks choices, the same words; where it takes free text,
            # words to start from (setup --enforce: user-policy, role NAME) or none.
            assert valued[option] == choices or not choices, (name, option)
        wanted = [
            a
            for a in parser._actions
            if not a.option_strings and a.nargs != argparse.REMAINDER
            and not isinstance(a, argparse._SubParsersAction)
        ]  # fmt: skip
        subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        count = len(wanted) + (1 + 1 if subparsers else 0)  # `totp ACTION PROFILE`
        assert len(positionals) == count, name
        for action, kind in zip(wanted, positionals, strict=False):
            if action.choices:
                assert tuple(action.choices) == kind, name


def test_subcommands_and_global_options() -> None:
    assert candidates([""]) == list(COMMANDS)
    assert candidates(["co"]) == ["console", "completion"]
    assert candidates(["--v"]) == ["--version"]
    assert set(GLOBAL) == {"--help", "--version"}


def test_profiles_by_what_the_command_takes(files: None) -> None:
    assert candidates(["use", ""]) == ["my-test-role", "my:colon-role", "test-user"]
    assert candidates(["exec", "my"]) == ["my-test-role", "my:colon-role"]
    assert candidates(["setup", ""]) == ["test-user"]
    assert candidates(["export", "test"]) == ["test-user", "test-user-mfa"]
    assert candidates(["totp", ""]) == ["set", "remove", "code"]
    assert candidates(["totp", "set", ""]) == ["test-user"]
    assert candidates(["use", "test-user", ""]) == []  # one profile only


def test_options_and_their_values(files: None) -> None:
    assert candidates(["refresh", "--d"]) == ["--due", "--duration"]
    assert candidates(["export", "--format", "env"]) == ["env", "env-no-export"]
    assert candidates(["export", "--format", "fish", "t"]) == ["test-user", "test-user-mfa"]
    assert candidates(["refresh", "--code", ""]) == []  # a code is typed, not completed
    assert candidates(["refresh", "--code", "123456", "my-t"]) == ["my-test-role"]
    assert candidates(["exec", "my-test-role", "--", "te"]) == []
    assert candidates(["list", "--json", "--"]) == ["--help"]


def test_unreadable_files_complete_no_profiles(files: None, aws_dir: Path) -> None:
    (aws_dir / "config").write_text(CONFIG + "[DEFAULT]\nregion = x\n")
    assert candidates(["use", ""]) == []
    assert candidates(["us"]) == ["use"]


def test_bash_gets_names_cut_at_its_word_breaks(files: None) -> None:
    assert answer(["bash", "mfa-tui use my:"]) == "colon-role\n"
    assert answer(["bash", "mfa-tui use "]) == "my-test-role\nmy:colon-role\ntest-user\n"
    assert answer(["zsh", "use", "my:"]) == "my:colon-role\n"
    assert answer(["nosuchshell", "use"]) == ""


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def _shell(argv: list[str], probe: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`probe` run by a shell (`argv`, its -c last), mfa-tui on its PATH."""
    return subprocess.run(
        [*argv, probe],
        capture_output=True,
        text=True,
        env={**_env(), **env},
        timeout=60,
        check=False,
    )


def _script(shell: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mfa_tui", "completion", shell],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_bash_completes_from_the_script(files: None) -> None:
    probe = _script("bash") + (
        'for line in "mfa-tui us" "mfa-tui use my" "mfa-tui use my:c" '
        '"mfa-tui export --format env-"; do\n'
        '  COMP_LINE=$line; COMP_POINT=${#line}; read -ra COMP_WORDS <<< "$line"\n'
        "  COMPREPLY=(); _mfa_tui_complete\n"
        '  echo "${COMPREPLY[*]}"\n'
        "done\n"
        "complete -p mfa-tui\n"
    )
    done = _shell(["bash", "--norc", "-c"], probe)
    assert done.stderr == ""
    assert done.stdout.splitlines()[:4] == [
        "use",
        "my-test-role my:colon-role",
        "colon-role",
        "env-no-export",
    ]
    assert "-F _mfa_tui_complete" in done.stdout


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_from_the_script(files: None) -> None:
    # compadd and compdef exist inside zsh's completion system; stand-ins print what
    # the script hands them.
    probe = (
        "compdef() { print -r -- compdef $@ }\n"
        'compadd() { shift; print -r -- "$@" }\n'
        + _script("zsh")
        + "words=(mfa-tui use my); CURRENT=3; _mfa_tui\n"
        "words=(mfa-tui totp ''); CURRENT=3; _mfa_tui\n"
    )
    done = _shell(["zsh", "-f", "-c"], probe)
    assert done.stderr == ""
    assert done.stdout.splitlines() == [
        "compdef _mfa_tui mfa-tui",
        "my-test-role my:colon-role",
        "set remove code",
    ]


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_from_the_script(files: None, isolated_env: Path) -> None:
    probe = (
        _script("fish")
        + "complete --do-complete='mfa-tui us'\n"
        + "complete --do-complete='mfa-tui use my-'\n"
        + "complete --do-complete='mfa-tui totp set '\n"
    )
    done = _shell(["fish", "--no-config", "-c"], probe, XDG_DATA_HOME=str(isolated_env / "fish"))
    assert done.stderr == ""
    assert done.stdout.splitlines() == ["use", "my-test-role", "test-user"]


PROBE = """
import sys
sys.argv = ['mfa-tui', '__complete', 'zsh', 'use', '']
from mfa_tui.__main__ import main
main()
heavy = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} or m in {ours!r})
print('HEAVY', heavy, file=sys.stderr)
"""


def test_the_answer_imports_nothing_heavy(files: None) -> None:
    code = PROBE.format(heavy=HEAVY, ours=(*OURS, "mfa_tui.completion_script"))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout == "my-test-role\nmy:colon-role\ntest-user\n", done.stderr
    assert "HEAVY []" in done.stderr, done.stderr


def test_users_whose_keys_come_from_a_process_are_offered(files: None, aws_dir: Path) -> None:
    # Before, any credential_process read as "not a user": `keys restore` (what such a
    # profile is for) completed nothing.
    with (aws_dir / "credentials").open("a") as fh:
        fh.write(
            "\n[kr-user]\ncredential_process = mfa-tui keys credential-process kr-user\n"
            "\n[served]\ncredential_process = mfa-tui credential-process my-test-role\n"
            "\n[vault-user]\ncredential_process = /opt/vault/keys\n"
        )
    assert candidates(["keys", "restore", "kr"]) == ["kr-user"]
    assert candidates(["keys", "restore", "se"]) == []  # a served session, never a user
    # Without a device only the full parser can tell (a role may make it a user): offered.
    assert candidates(["keys", "rotate", "va"]) == ["vault-user"]
