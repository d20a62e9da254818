"""`mfa-tui doctor` as people and scripts run it: exit codes, `--json`, the printed
report, what it imports, and that no secret ever appears in what it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mfa_tui.cli import main
from mfa_tui.commands.doctor import render, summary
from mfa_tui.core.codes import UsedCodes
from mfa_tui.core.findings import Area, Finding, Severity
from mfa_tui.core.sessions import SessionService
from mfa_tui.settings import Settings
from tests import stsfault
from tests.core.test_doctor import CONFIG, CREDENTIALS
from tests.core.test_enforcement import EXPLICIT
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox

EXPLICIT_DENY = stsfault.error("UnauthorizedOperation", EXPLICIT, 403, "DescribeRegions")
MEMORY_KEYRING = "tests.memkeyring.MemoryKeyring"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def clean(aws_dir: Path) -> Path:
    (aws_dir / "config").write_text(CONFIG)
    (aws_dir / "credentials").write_text(CREDENTIALS)
    (aws_dir / "credentials").chmod(0o600)
    return aws_dir


@pytest.fixture
def service(sandbox: Sandbox, tmp_path: Path) -> SessionService:
    """The engine on the sandbox files, to get test-user an MFA session."""
    return SessionService(
        sandbox.paths,
        Settings(),
        keyring_backend=MemoryKeyring(),
        used_codes=UsedCodes(tmp_path / "codes.json"),
    )


def doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mfa_tui", "doctor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON_KEYRING_BACKEND": MEMORY_KEYRING, **(env or {})},
        cwd=ROOT,  # the test keyring is importable from here
        timeout=120,
        check=False,
    )


def test_clean_files_exit_0_and_a_planted_problem_exits_1(clean: Path) -> None:
    done = doctor("--offline")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.endswith("Nothing needs attention.\n")
    assert done.stderr == ""
    with (clean / "config").open("a") as fh:
        fh.write("\n[profile team dev]\nregion = us-east-1\n")
    done = doctor("--offline")
    assert done.returncode == 1
    assert f"  problem  {clean / 'config'}:14: [profile team dev] is no profile" in done.stdout
    assert done.stdout.endswith("1 problem needs attention.\n")


def test_json_for_scripts(clean: Path) -> None:
    (clean / "credentials").write_text(CREDENTIALS + "[ana]\nregion = x\n")
    done = doctor("--files", "--json")
    assert done.returncode == 1 and done.stderr == ""
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert report["counts"] == {"ok": 2, "info": 0, "warning": 0, "problem": 2}
    line = next(f for f in report["findings"] if f["check"] == "file-line")
    assert line == {
        "check": "file-line",
        "area": "files",
        "severity": "problem",
        "message": "section [ana] appears again (first at line 1); its keys are merged, later "
        "wins; merge the two into one section",
        "fix": None,
        "profile": None,
        "file": str(clean / "credentials"),
        "line": 4,
    }
    verdict = next(
        f for f in report["findings"] if f["check"] == "file" and f["file"] == line["file"]
    )
    assert verdict["severity"] == "problem" and "cannot read" in verdict["message"]


def test_the_file_checks_alone_import_no_aws_sdk_no_keyring_no_textual(clean: Path) -> None:
    probe = (
        "import sys\n"
        "from mfa_tui.cli import main\n"
        "code = main(['doctor', '--files'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'boto3', 'botocore', 'keyring', 'textual', 'rich'})\n"
        "print(code, heavy, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stderr.strip() == "0 []"


@pytest.mark.parametrize("flag", ["--offline", "--files"])
def test_naming_profiles_without_asking_aws_is_a_usage_error(clean: Path, flag: str) -> None:
    done = doctor(flag, "ana")
    assert done.returncode == 2
    assert "asks AWS nothing; PROFILE names whose keys to ask AWS about" in done.stderr


def test_an_unknown_profile_is_a_usage_error(clean: Path) -> None:
    done = doctor("nobody")
    assert done.returncode == 2 and "unknown profile 'nobody'" in done.stderr


@pytest.fixture
def with_session(
    sandbox: Sandbox,
    ec2_ready: None,
    service: SessionService,
    chosen_keyring: Callable[[str], None],
) -> SessionService:
    """The sandbox with test-user's MFA session at hand, nothing recorded yet, and the
    in-memory keyring chosen."""
    chosen_keyring(MEMORY_KEYRING)
    service.refresh("test-user", code="123456")
    sandbox.fault.clear()
    return service


def test_all_well_with_aws_exits_0(
    sandbox: Sandbox, with_session: SessionService, capsys: pytest.CaptureFixture[str]
) -> None:
    # The sandbox files, minus the profile whose program is not installed; every user's
    # keys denied without MFA.
    config = sandbox.paths.config.read_text()
    start = config.index("[profile vault-tool]")
    end = config.index("[services local]")
    sandbox.paths.config.write_text(config[:start] + config[end:])
    sandbox.fault.always = EXPLICIT_DENY
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert out.endswith("Nothing needs attention.\n")
    assert [line for line in out.splitlines() if line and not line.startswith(" ")] == [
        "AWS files",
        "Profiles",
        "This computer",
        "AWS",
        "Nothing needs attention.",
    ]
    assert "test-user: its access key " in out and " days old (last used " in out
    assert "ops-user: MFA is enforced" in out
    no_secrets(sandbox, with_session, out)


def test_a_full_report_names_what_needs_attention_and_shows_no_secret(
    sandbox: Sandbox, with_session: SessionService, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--json"]) == 1
    out = capsys.readouterr().out
    report = json.loads(out)
    checks = {(f["check"], f["profile"], f["severity"]) for f in report["findings"]}
    assert ("mfa-enforced", "test-user", "problem") in checks
    assert ("profile", "vault-tool", "problem") in checks
    assert ("key-age", "test-user", "ok") in checks
    assert ("key-age", "ops-user", "info") in checks
    no_secrets(sandbox, with_session, out)


def no_secrets(sandbox: Sandbox, service: SessionService, out: str) -> None:
    session = service.credentials("test-user")
    assert session is not None
    secrets = [u.secret_access_key for u in sandbox.account.users.values()]
    secrets += [session.secret_access_key, session.session_token]
    for secret in secrets:
        assert secret not in out


# --- the printed report ---------------------------------------------------------------


FINDINGS = [
    Finding("clock", Area.COMPUTER, Severity.WARNING, "the clock is 7 minutes off", "sync it"),
    Finding("file", Area.FILES, Severity.OK, "/c: fine", file="/c"),
    Finding("file-line", Area.FILES, Severity.PROBLEM, "bad line", "fix it", file="/c", line=3),
    Finding("profile", Area.PROFILES, Severity.PROBLEM, "role_arn = x (/c:9) is not", profile="r"),
]


def test_the_report_groups_by_area_and_puts_places_and_fixes_in_words() -> None:
    assert render(FINDINGS) == (
        "AWS files\n"
        "  ok       /c: fine\n"
        "  problem  /c:3: bad line\n"
        "           -> fix it\n"
        "\n"
        "Profiles\n"
        "  problem  r: role_arn = x (/c:9) is not\n"
        "\n"
        "This computer\n"
        "  warning  the clock is 7 minutes off\n"
        "           -> sync it\n"
        "\n"
        "2 problems and 1 warning need attention.\n"
    )


def test_on_a_terminal_it_wraps_and_colours() -> None:
    long = Finding("file", Area.FILES, Severity.PROBLEM, "word " * 30, "do " * 20)
    text = render([long], colour=True, width=60)
    lines = text.splitlines()
    assert lines[1].startswith("  \033[31;1mproblem\033[0m  word")
    assert all(len(line) <= 60 for line in lines if "\033" not in line)
    assert lines[2].startswith(" " * 11 + "word")
    assert any(line.startswith(" " * 11 + "-> do") for line in lines)


def test_the_summary_counts() -> None:
    assert summary([]) == "Nothing needs attention."
    assert summary(FINDINGS[:1]) == "1 warning needs attention."


def test_the_file_checks_skip_argparse_and_read_the_same() -> None:
    # `doctor --files` is dispatched without building the parser (as `list` is); what it
    # runs with must be exactly what argparse would have made of the words.
    from mfa_tui.cli import _PLAIN, build_parser

    doctor_words = [words for words in _PLAIN if words[0] == "doctor"]
    assert len(doctor_words) == 3
    for words in doctor_words:
        parsed = vars(build_parser().parse_args(words))
        assert parsed == vars(_PLAIN[words]), words
