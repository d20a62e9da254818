"""`mfa-tui doctor` on fixture files, each with one problem planted: the finding names the
file and the line, says what to do, and `list` says the same of the profile."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mfa_tui.aws.files import AwsPaths, load_profiles
from mfa_tui.cli import main
from mfa_tui.core import doctor, doctor_local
from mfa_tui.core.findings import Area, Finding, Severity
from tests.memkeyring import MemoryKeyring

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SERIAL = "arn:aws:iam::123456789012:mfa/ana"
ROLE = "arn:aws:iam::123456789012:role/admin"

# Nothing wrong with these: every check passes on them.
CONFIG = f"""\
# my config
[default]
region = eu-west-1

[profile ana]
region = eu-west-1
mfa_serial = {SERIAL}

[profile admin]
role_arn = {ROLE}
source_profile = ana
mfa_serial = {SERIAL}
"""
CREDENTIALS = """\
[ana]
aws_access_key_id = AKIAANA
aws_secret_access_key = SECRET-ANA
"""


@pytest.fixture
def files(aws_dir: Path) -> AwsPaths:
    paths = AwsPaths(aws_dir / "config", aws_dir / "credentials")
    for path, text in ((paths.config, CONFIG), (paths.credentials, CREDENTIALS)):
        path.write_text(text)
        path.chmod(0o600)
    return paths


def findings(**kwargs: object) -> list[Finding]:
    return doctor.gather(now=NOW, local=False, **kwargs)  # type: ignore[arg-type]


def attention(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.severity.needs_attention]


def test_clean_files_need_no_attention(files: AwsPaths) -> None:
    found = findings()
    assert attention(found) == []
    assert [(f.area, f.severity) for f in found] == [
        (Area.FILES, Severity.OK),
        (Area.FILES, Severity.OK),
        (Area.PROFILES, Severity.OK),
    ]


@dataclass(frozen=True)
class Planted:
    """A problem planted in the files, and where doctor must point."""

    config: str
    credentials: str
    file: str  # "config" or "credentials"
    line: int
    words: str
    check: str
    # The AWS CLI refuses the whole file for it (a second finding says so).
    refused: bool = False
    profile: str | None = None
    # Other profiles the same lines break (a loop breaks every profile on it).
    others: tuple[str, ...] = ()


PLANTED = {
    # Sections botocore ignores or reads differently.
    "unquoted-space": Planted(
        CONFIG + "\n[profile team dev]\nregion = us-east-1\n",
        CREDENTIALS,
        "config",
        14,
        'write [profile "team dev"] to make it a profile',
        "file-line",
    ),
    "profile-header-in-credentials": Planted(
        CONFIG,
        CREDENTIALS + "[profile ops]\naws_access_key_id = AKIAOPS\naws_secret_access_key = S\n",
        "credentials",
        4,
        "[profile ops] in the credentials file is the profile 'profile ops' for the AWS "
        "tools, not 'ops': the credentials file names profiles without 'profile'; write [ops]",
        "file-line",
    ),
    "key-before-any-section": Planted(
        "region = eu-west-1\n" + CONFIG,
        CREDENTIALS,
        "config",
        1,
        "key outside any [section]; it was skipped; move it under the [section]",
        "file-line",
        refused=True,
    ),
    "section-twice": Planted(
        CONFIG,
        CREDENTIALS + "\n[ana]\nregion = eu-west-1\n",
        "credentials",
        5,
        "section [ana] appears again (first at line 1)",
        "file-line",
        refused=True,
    ),
    "two-headers-one-profile": Planted(
        CONFIG + "\n[profile default]\noutput = json\n",
        CREDENTIALS,
        "config",
        14,
        "[profile default] names the profile 'default' again (first as [default] at line 2); "
        "the AWS tools read only the later one's keys",
        "file-line",
    ),
    "key-set-twice": Planted(
        CONFIG.replace("region = eu-west-1\nmfa", "region = eu-west-1\nregion = us-east-1\nmfa"),
        CREDENTIALS,
        "config",
        7,
        "'region' is set twice in [profile ana]",
        "file-line",
        refused=True,
    ),
    "not-key-value": Planted(
        CONFIG + "just some words\n",
        CREDENTIALS,
        "config",
        13,
        "expected 'key = value' in [profile admin]; the line was skipped; make it",
        "file-line",
        refused=True,
    ),
    # Values botocore cannot use.
    "inline-comment-duration": Planted(
        CONFIG + "duration_seconds = 1800 ; half an hour\n",
        CREDENTIALS,
        "config",
        13,
        "duration_seconds = 1800 ; half an hour",
        "profile",
        profile="admin",
    ),
    "inline-comment-region": Planted(
        CONFIG.replace(
            "[profile ana]\nregion = eu-west-1", "[profile ana]\nregion = eu-west-1 # work"
        ),
        CREDENTIALS,
        "config",
        6,
        "region = eu-west-1 # work",
        "profile",
        profile="ana",
    ),
    "inline-comment-secret-not-shown": Planted(
        CONFIG,
        CREDENTIALS.replace("SECRET-ANA", "SECRET-ANA  # old one"),
        "credentials",
        3,
        "aws_secret_access_key (",
        "profile",
        profile="ana",
    ),
    "role-arn-not-an-arn": Planted(
        CONFIG.replace(f"role_arn = {ROLE}", "role_arn = admin"),
        CREDENTIALS,
        "config",
        10,
        "role_arn = admin",
        "profile",
        profile="admin",
    ),
    "mfa-serial-not-an-arn": Planted(
        CONFIG.replace(
            f"[profile ana]\nregion = eu-west-1\nmfa_serial = {SERIAL}",
            "[profile ana]\nregion = eu-west-1\nmfa_serial = my phone",
        ),
        CREDENTIALS,
        "config",
        7,
        "mfa_serial = my phone",
        "profile",
        profile="ana",
    ),
    # Chains.
    "source-profile-missing": Planted(
        CONFIG.replace("source_profile = ana", "source_profile = anna"),
        CREDENTIALS,
        "config",
        11,
        "names source_profile 'anna'",
        "profile",
        profile="admin",
    ),
    "source-profile-loop": Planted(
        CONFIG + f"\n[profile a]\nrole_arn = {ROLE}\nsource_profile = b\n"
        f"[profile b]\nrole_arn = {ROLE}\nsource_profile = a\n",
        CREDENTIALS,
        "config",
        19,
        "source_profile loop: a -> b -> a",
        "profile",
        profile="a",
        others=("b",),
    ),
    "source-profile-without-credentials": Planted(
        CONFIG + f"\n[profile empty]\nregion = eu-west-1\n[profile r]\nrole_arn = {ROLE}\n"
        "source_profile = empty\n",
        CREDENTIALS,
        "config",
        18,
        "source_profile 'empty' of 'r'",
        "profile",
        profile="r",
    ),
    "role-chain-without-mfa-serial": Planted(
        CONFIG.replace(f"source_profile = ana\nmfa_serial = {SERIAL}\n", "source_profile = ana\n"),
        CREDENTIALS,
        "config",
        9,
        "no profile on its chain (admin -> ana) names an mfa_serial",
        "profile",
        profile="admin",
    ),
    "credential-process-missing": Planted(
        CONFIG + "\n[profile tool]\ncredential_process = /nowhere/get-creds --token T0K3N\n",
        CREDENTIALS,
        "config",
        15,
        "its program /nowhere/get-creds does not exist",
        "profile",
        profile="tool",
    ),
    # Session profile names that collide with config profiles.
    "session-profile-is-a-config-profile": Planted(
        CONFIG + "\n[profile ana-mfa]\nregion = eu-west-1\n",
        CREDENTIALS,
        "config",
        14,
        "the session profile of 'ana', 'ana-mfa'",
        "session-profile",
        profile="ana",
    ),
    "active-profile-is-a-config-profile": Planted(
        CONFIG + "\n[profile mfa-tui]\nregion = eu-west-1\n",
        CREDENTIALS,
        "config",
        14,
        "the session profile of the active profile, 'mfa-tui'",
        "session-profile",
    ),
}


@pytest.mark.parametrize("case", PLANTED.values(), ids=PLANTED.keys())
def test_each_planted_problem_is_named_with_its_line(files: AwsPaths, case: Planted) -> None:
    files.config.write_text(case.config)
    files.credentials.write_text(case.credentials)
    path = files.config if case.file == "config" else files.credentials
    found = attention(findings())
    (hit,) = [f for f in found if f.check == case.check and f.line and f.profile == case.profile]
    assert (hit.file, hit.line, hit.profile) == (str(path), case.line, case.profile)
    assert case.words in hit.message
    assert hit.severity is Severity.PROBLEM
    assert "SECRET-ANA" not in hit.message and "T0K3N" not in hit.message
    whole = [f for f in found if f.check == "file" and f.line is None]
    if case.refused:
        # botocore's own verdict: the AWS CLI cannot read the file at all.
        (refusal,) = whole
        assert refusal.file == str(path)
        assert f"the AWS CLI and SDKs cannot read {path} at all" in refusal.message
        assert "Unable to parse config file" in refusal.message
    else:
        assert whole == []
    # Nothing else is reported: one planted problem, one finding (and the verdict).
    assert sorted(f.profile or "" for f in found if f not in (hit, *whole)) == list(case.others)


@pytest.mark.parametrize(
    "case",
    [c for c in PLANTED.values() if c.check in ("profile", "session-profile") and c.profile],
    ids=[k for k, c in PLANTED.items() if c.check in ("profile", "session-profile") and c.profile],
)
def test_list_says_the_same_of_the_profile(
    files: AwsPaths, case: Planted, capsys: pytest.CaptureFixture[str]
) -> None:
    files.config.write_text(case.config)
    files.credentials.write_text(case.credentials)
    (hit,) = [f for f in attention(findings()) if f.profile == case.profile]
    assert main(["list", "--json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["name"] == case.profile)
    assert hit.message in [*row["notes"], row["reason"]]


def test_problems_elsewhere_leave_doctor_going(files: AwsPaths) -> None:
    # Several at once, in both files: each is found, in file order, none hides another.
    files.config.write_text(
        "region = x\n" + CONFIG + "[profile team dev]\n" + "[profile ana]\nregion = y\n"
    )
    files.credentials.write_text(CREDENTIALS + "[profile ops]\n")
    lines = [(f.file, f.line) for f in attention(findings()) if f.check == "file-line"]
    assert lines == [
        (str(files.config), 1),
        (str(files.config), 14),
        (str(files.config), 15),
        (str(files.credentials), 4),
    ]


def test_a_settings_file_that_cannot_be_read_is_a_problem_and_doctor_goes_on(
    files: AwsPaths, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = isolated_env / "settings.toml"
    settings.write_text("user_duration = 5\n")
    monkeypatch.setenv("MFA_TUI_CONFIG", str(settings))
    found = findings()
    (bad,) = attention(found)
    assert bad.check == "settings" and "user_duration" in bad.message
    assert str(settings) in bad.message
    assert any(f.area is Area.PROFILES for f in found)  # the rest was still checked


# --- file modes -------------------------------------------------------------------------


def modes(paths: AwsPaths) -> list[Finding]:
    return doctor_local.mode_findings(load_profiles(paths))


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_private_files_and_folder_are_fine(files: AwsPaths) -> None:
    files.config.parent.chmod(0o700)
    (ok,) = modes(files)
    assert ok.severity is Severity.OK


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
@pytest.mark.parametrize(
    ("what", "mode", "severity", "words"),
    [
        ("credentials", 0o644, Severity.PROBLEM, "holds access keys and is mode 0644"),
        ("credentials", 0o400, Severity.WARNING, "is read-only (mode 0400)"),
        ("credentials", 0o660, Severity.PROBLEM, "others on this computer can change it"),
        ("config", 0o646, Severity.PROBLEM, "others on this computer can change it"),
        ("folder", 0o755, Severity.WARNING, "is mode 0755, not 0700"),
        ("folder", 0o777, Severity.PROBLEM, "can replace the AWS files in it"),
    ],
)
def test_files_others_can_read_or_change_are_named(
    files: AwsPaths, what: str, mode: int, severity: Severity, words: str
) -> None:
    target = {"credentials": files.credentials, "config": files.config}.get(
        what, files.config.parent
    )
    target.chmod(mode)
    try:
        (found,) = modes(files)
    finally:
        files.config.parent.chmod(0o700)
    assert (found.severity, found.file) == (severity, str(target))
    assert words in found.message
    assert found.fix == f"chmod {'700' if what == 'folder' else '600'} {target}"


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_a_readable_config_is_fine_unless_it_holds_keys(files: AwsPaths) -> None:
    files.config.chmod(0o644)
    assert modes(files)[0].severity is Severity.OK
    files.config.write_text(CONFIG + "aws_secret_access_key = SECRET-IN-CONFIG\n")
    (found,) = modes(files)
    assert found.severity is Severity.PROBLEM and found.file == str(files.config)
    assert "SECRET-IN-CONFIG" not in found.message


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_a_symlinked_credentials_file_is_judged_by_its_target(
    files: AwsPaths, tmp_path: Path
) -> None:
    real = tmp_path / "vault" / "credentials"
    real.parent.mkdir(mode=0o755)
    files.credentials.rename(real)
    real.chmod(0o644)
    files.credentials.symlink_to(real)
    found = {f.file: f for f in modes(files)}
    assert found[str(real)].severity is Severity.PROBLEM
    assert found[str(real.parent)].severity is Severity.WARNING


# --- the keyring --------------------------------------------------------------------------


def test_the_keyring_in_use_is_named() -> None:
    found = doctor_local.keyring_finding(MemoryKeyring())
    assert found.severity is Severity.OK
    assert "tests.memkeyring.MemoryKeyring" in found.message


def test_a_plain_text_keyring_is_a_warning(chosen_keyring: Callable[[str], None]) -> None:
    chosen_keyring("keyrings.alt.file.PlaintextKeyring")
    found = doctor_local.keyring_finding()
    assert found.severity is Severity.WARNING
    assert "unencrypted" in found.message and "keyring_pass.cfg" in found.message


def test_no_keyring_is_only_information(chosen_keyring: Callable[[str], None]) -> None:
    chosen_keyring("keyring.backends.fail.Keyring")
    found = doctor_local.keyring_finding()
    assert found.severity is Severity.INFO
    assert "no keyring for TOTP seeds" in found.message
    assert found.fix is not None and "code_command" in found.fix
