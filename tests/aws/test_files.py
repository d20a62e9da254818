"""Reading the AWS files the way botocore does, classifying profiles, and `list --json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import botocore.session
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfa_tui.aws.files import (
    MAX_CHAIN,
    AwsPaths,
    Kind,
    Profile,
    classify,
    load_profiles,
    user_of,
)

CONFIG = """\
# my AWS config
[default]
region = eu-west-1

[profile test-user]
region = ap-northeast-1
s3 =
    max_concurrent_requests = 20
    addressing_style = path

[profile my-test-role]
source_profile = test-user
role_arn = arn:aws:iam::123456789012:role/my-test-role
mfa_serial = arn:aws:iam::123456789012:mfa/test-user
role_session_name = me
external_id = ext-1
duration_seconds = 3600

[profile chained]
source_profile = my-test-role
role_arn = arn:aws:iam::123456789012:role/chained

[profile loop-a]
source_profile = loop-b
role_arn = arn:aws:iam::1:role/a
[profile loop-b]
source_profile = loop-a
role_arn = arn:aws:iam::1:role/b

[profile orphan]
source_profile = nobody
role_arn = arn:aws:iam::1:role/o

[profile ec2-role]
credential_source = Ec2InstanceMetadata
role_arn = arn:aws:iam::1:role/e

[profile corp]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = ReadOnly

[sso-session corp]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1

[services local]
sts =
  endpoint_url = http://localhost:5000

[profile tool]
credential_process = /usr/bin/get-creds
"""

CREDENTIALS = """\
[test-user]
aws_access_key_id = AKIAEXAMPLE
aws_secret_access_key = TOPSECRETKEY

[temp]
aws_access_key_id = ASIAEXAMPLE
aws_secret_access_key = TEMPSECRET
aws_session_token = TEMPTOKEN

[test-user-mfa]
aws_access_key_id = ASIASESSION
aws_secret_access_key = SESSIONSECRET
aws_session_token = SESSIONTOKEN
expiration = 2099-01-01T00:00:00Z
mfa_tui_source = test-user
"""


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AwsPaths:
    # Non-default places, found through the environment like botocore finds them.
    config, creds = tmp_path / "cfg" / "my-config", tmp_path / "cfg" / "my-creds"
    config.parent.mkdir()
    config.write_text(CONFIG)
    creds.write_text(CREDENTIALS)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    return AwsPaths.from_env()


def test_kinds_chains_and_errors(files: AwsPaths) -> None:
    profiles = load_profiles().profiles
    kinds = {name: p.kind for name, p in profiles.items()}
    assert kinds == {
        "default": Kind.OTHER,
        "test-user": Kind.USER,
        "my-test-role": Kind.ROLE,
        "chained": Kind.ROLE,
        "loop-a": Kind.ROLE,
        "loop-b": Kind.ROLE,
        "orphan": Kind.ROLE,
        "ec2-role": Kind.ROLE,
        "corp": Kind.SSO,
        "tool": Kind.PROCESS,
        "temp": Kind.OTHER,
        "test-user-mfa": Kind.SESSION,
    }
    assert profiles["chained"].chain == ["chained", "my-test-role", "test-user"]
    assert profiles["chained"].managed
    assert "loop-a -> loop-b -> loop-a" in (profiles["loop-a"].error or "")
    assert not profiles["loop-a"].managed
    assert "'nobody'" in (profiles["orphan"].error or "")
    assert not profiles["ec2-role"].managed
    role = profiles["my-test-role"]
    assert (role.external_id, role.role_session_name, role.duration_seconds) == (
        "ext-1",
        "me",
        3600,
    )
    assert profiles["test-user"].values["s3"].startswith("\n")


def test_list_json(files: AwsPaths) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mfa_tui", "list", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    for secret in ("TOPSECRETKEY", "TEMPSECRET", "TEMPTOKEN", "SESSIONSECRET", "SESSIONTOKEN"):
        assert secret not in done.stdout
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    user = rows["test-user"]
    assert user["kind"] == "user" and user["session_profile"] == "test-user-mfa"
    assert user["expires_at"] == "2099-01-01T00:00:00Z" and user["state"] == "valid"
    role = rows["my-test-role"]
    assert role["role_arn"].endswith("role/my-test-role")
    assert role["source_profile"] == "test-user"
    assert role["mfa_serial"].endswith("mfa/test-user")
    assert role["state"] == "none" and role["expires_at"] is None
    assert rows["chained"]["chain"] == ["chained", "my-test-role", "test-user"]
    assert rows["corp"]["kind"] == "sso" and rows["tool"]["kind"] == "process"
    assert rows["test-user-mfa"]["kind"] == "session"
    assert "corp" in rows and "sso-session corp" not in rows and "local" not in rows
    for row in rows.values():
        assert set(row) >= {
            "name",
            "kind",
            "mfa_serial",
            "source_profile",
            "role_arn",
            "session_profile",
            "expires_at",
            "state",
        }
    table = subprocess.run(
        [sys.executable, "-m", "mfa_tui", "list"], capture_output=True, text=True, check=False
    )
    assert "test-user-mfa" in table.stdout and "TOPSECRETKEY" not in table.stdout


def test_malformed_lines_cost_only_themselves(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_bytes(
        b"orphan = 1\n[profile good]\nregion = x\n[profile bad\nkey = v\n"
        b"[profile also-good]\nregion = \xff\xfe\nmfa_serial = arn\n"
    )
    creds = tmp_path / "credentials"
    creds.write_text("[u]\naws_access_key_id = A\naws_secret_access_key = B\n")
    result = load_profiles(AwsPaths(config, creds))
    assert {"good", "also-good", "u"} <= set(result.profiles)
    assert result.profiles["also-good"].values["mfa_serial"] == "arn"
    text = "\n".join(result.problems)
    assert f"{config}:1: key outside any [section]" in text
    assert f"{config}:4: bad section header" in text
    assert f"{config}:7: line is not valid UTF-8" in text


def test_crlf_bom_duplicates(tmp_path: Path) -> None:
    creds = tmp_path / "credentials"
    creds.write_bytes(
        b"\xef\xbb\xbf[u]\r\naws_access_key_id = A\r\naws_secret_access_key = B\r\n"
        b"[u]\r\nregion = x\r\nregion = y\r\n"
    )
    result = load_profiles(AwsPaths(tmp_path / "missing", creds))
    assert result.profiles["u"].values == {
        "aws_access_key_id": "A",
        "aws_secret_access_key": "B",
        "region": "y",
    }
    text = "\n".join(result.problems)
    assert "section [u] appears again (first at line 1)" in text
    assert "'region' is set twice" in text


def test_missing_files_are_empty(tmp_path: Path) -> None:
    result = load_profiles(AwsPaths(tmp_path / "nope", tmp_path / "nada"))
    assert result.profiles == {} and result.problems == []


names = st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True)
keys = st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True)
values = st.from_regex(r"[A-Za-z0-9:/=._-]{0,12}", fullmatch=True)


@st.composite
def ini_file(draw: st.DrawFn, config: bool) -> str:
    out = []
    for name in draw(st.lists(names, max_size=5, unique=True)):
        header = ("default" if name == "default" else f"profile {name}") if config else name
        if config and draw(st.booleans()):
            header = draw(st.sampled_from([f"sso-session {name}", f"services {name}", name]))
        out.append(draw(st.sampled_from(["", "# c\n", "\n", "; c\n"])) + f"[{header}]\n")
        for key in draw(st.lists(keys, max_size=4, unique=True)):
            delim = draw(st.sampled_from([" = ", "=", ": ", " :"]))
            key_text = key.upper() if draw(st.booleans()) else key
            if draw(st.integers(0, 5)) == 0:
                out.append(f"{key_text}{delim}\n    a = 1\n    b = {draw(values)}\n")
            else:
                out.append(f"{key_text}{delim}{draw(values)}\n")
    return "".join(out)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(config=ini_file(config=True), creds=ini_file(config=False))
def test_profiles_agree_with_botocore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, creds: str
) -> None:
    cfg, cred = tmp_path / "c", tmp_path / "k"
    cfg.write_text(config)
    cred.write_text(creds)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(cred))
    theirs = botocore.session.Session().full_config["profiles"]
    ours = {
        name: {k: v for k, v in p.values.items()}
        for name, p in load_profiles(AwsPaths(cfg, cred)).profiles.items()
    }
    from mfa_tui.aws.ini import parse_nested

    normalised = {
        name: {k: (parse_nested(v) if v.startswith("\n") else v) for k, v in vals.items()}
        for name, vals in ours.items()
    }
    assert normalised == theirs


# ---------------------------------------------------------------------------
# Chains the way botocore resolves them, and where the files are.


def _load(tmp_path: Path, config: str, creds: str = "") -> dict[str, Profile]:
    (tmp_path / "config").write_text(config)
    (tmp_path / "credentials").write_text(creds)
    return load_profiles(AwsPaths(tmp_path / "config", tmp_path / "credentials")).profiles


def test_a_source_with_keys_ends_the_chain_even_with_its_own_role(tmp_path: Path) -> None:
    # botocore uses `hybrid`'s keys and never assumes hybrid's own role or follows it on.
    profiles = _load(
        tmp_path,
        "[profile top]\nrole_arn = arn:top\nsource_profile = hybrid\n"
        "[profile hybrid]\nrole_arn = arn:hybrid\nsource_profile = u\n",
        "[hybrid]\naws_access_key_id = A\naws_secret_access_key = B\n"
        "[u]\naws_access_key_id = C\naws_secret_access_key = D\n",
    )
    top = profiles["top"]
    assert top.chain == ["top", "hybrid"]
    assert not top.managed and "'hybrid'" in (top.unmanaged_reason or "")
    assert user_of(profiles, top) is None


def test_a_role_sourcing_itself_with_its_own_keys_is_not_a_loop(tmp_path: Path) -> None:
    profiles = _load(
        tmp_path,
        "[profile me]\nrole_arn = arn:me\nsource_profile = me\n",
        "[me]\naws_access_key_id = A\naws_secret_access_key = B\n",
    )
    me = profiles["me"]
    assert me.error is None and me.chain == ["me"]
    assert "loop" not in (me.unmanaged_reason or "") and not me.managed


def test_a_role_sourcing_itself_without_keys_is_a_loop(tmp_path: Path) -> None:
    profiles = _load(tmp_path, "[profile me]\nrole_arn = arn:me\nsource_profile = me\n")
    error = profiles["me"].error or ""
    assert error.startswith(f"source_profile loop: me -> me ({tmp_path / 'config'}:3); ")
    assert error in profiles["me"].notes  # the AWS tools refuse it too
    assert profiles["me"].chain == []


def test_a_chain_through_sso_or_a_process_is_not_managed(tmp_path: Path) -> None:
    profiles = _load(
        tmp_path,
        "[profile r1]\nrole_arn = arn:1\nsource_profile = corp\n"
        "[profile r2]\nrole_arn = arn:2\nsource_profile = tool\n"
        "[profile corp]\nsso_session = c\nsso_account_id = 1\n"
        "[profile tool]\ncredential_process = x\n",
    )
    assert "'corp'" in (profiles["r1"].error or "") and "sso" in (profiles["r1"].error or "")
    assert "(process)" in (profiles["r2"].error or "")
    assert not profiles["r1"].managed and not profiles["r2"].managed


@pytest.mark.parametrize(
    ("values", "kind", "managed"),
    [
        ({"aws_access_key_id": "A", "aws_secret_access_key": "B"}, Kind.USER, True),
        ({"aws_access_key_id": "A"}, Kind.OTHER, False),
        ({"aws_access_key_id": "A", "aws_secret_access_key": "B", "aws_session_token": "T"},
         Kind.OTHER, False),
        ({"role_arn": "r", "web_identity_token_file": "/t"}, Kind.OTHER, False),
        ({"role_arn": "r"}, Kind.OTHER, False),
        ({"sso_start_url": "https://x"}, Kind.SSO, False),
        ({"credential_process": "x"}, Kind.PROCESS, False),
        ({"mfa_tui_source": "u", "aws_session_token": "T"}, Kind.SESSION, False),
        ({"region": "x"}, Kind.OTHER, False),
    ],
)  # fmt: skip
def test_classify(values: dict[str, str], kind: Kind, managed: bool) -> None:
    got, reason = classify("p", values)
    assert got is kind
    assert (reason is None) is managed


def test_paths_follow_the_environment_like_botocore(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOMEWHERE", "/srv/aws")
    monkeypatch.setenv("AWS_CONFIG_FILE", "$SOMEWHERE/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "~/creds")
    assert AwsPaths.from_env() == AwsPaths(Path("/srv/aws/config"), isolated_env / "creds")
    monkeypatch.delenv("AWS_CONFIG_FILE")
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE")
    assert AwsPaths.from_env() == AwsPaths(
        isolated_env / ".aws" / "config", isolated_env / ".aws" / "credentials"
    )


def test_credentials_win_over_config_and_sources_are_recorded(tmp_path: Path) -> None:
    profiles = _load(
        tmp_path,
        "[profile u]\nregion = from-config\nmfa_serial = arn:aws:iam::123456789012:mfa/m\n",
        "[u]\nregion = from-credentials\naws_access_key_id = A\naws_secret_access_key = B\n",
    )
    u = profiles["u"]
    assert (
        u.region == "from-credentials"
        and u.mfa_serial == "arn:aws:iam::123456789012:mfa/m"
        and u.kind is Kind.USER
    )
    assert u.sources == (tmp_path / "config", tmp_path / "credentials")


def test_loops_are_named_from_each_profile_that_walks_into_them(tmp_path: Path) -> None:
    profiles = _load(
        tmp_path,
        # `into` walks into the loop a -> b -> c -> a; `keyed` has keys and a role, and
        # the role it is the source of names it again.
        "[profile into]\nrole_arn = arn:i\nsource_profile = a\n"
        "[profile a]\nrole_arn = arn:a\nsource_profile = b\n"
        "[profile b]\nrole_arn = arn:b\nsource_profile = c\n"
        "[profile c]\nrole_arn = arn:c\nsource_profile = a\n"
        "[profile keyed]\nrole_arn = arn:k\nsource_profile = back\n"
        "[profile back]\nrole_arn = arn:back\nsource_profile = keyed\n",
        "[keyed]\naws_access_key_id = A\naws_secret_access_key = B\n",
    )
    errors = {name: profiles[name].error for name in ("into", "a", "b", "c", "keyed", "back")}
    config = tmp_path / "config"
    refuse = "the AWS tools refuse every profile on it: end the chain at a profile with keys"
    # Each names the line that closes its loop, where the fix goes.
    assert errors == {
        "into": f"source_profile loop: into -> a -> b -> c -> a ({config}:12); {refuse}",
        "a": f"source_profile loop: a -> b -> c -> a ({config}:12); {refuse}",
        "b": f"source_profile loop: b -> c -> a -> b ({config}:6); {refuse}",
        "c": f"source_profile loop: c -> a -> b -> c ({config}:9); {refuse}",
        "keyed": f"source_profile loop: keyed -> back -> keyed ({config}:18); {refuse}",
        "back": None,
    }
    assert profiles["back"].chain == ["back", "keyed"], "keyed's keys end back's chain"


def deep_chain(depth: int) -> str:
    lines = ["[profile u]\nmfa_serial = arn:aws:iam::123456789012:mfa/u\n"]
    previous = "u"
    for i in range(depth):
        lines.append(
            f"[profile r{i}]\nsource_profile = {previous}\nrole_arn = arn:aws:iam::123456789012:role/r{i}\n"
        )
        previous = f"r{i}"
    lines.append(
        "[profile unrelated]\nsource_profile = u\nrole_arn = arn:aws:iam::123456789012:role/x\n"
    )
    return "".join(lines)


def test_a_chain_of_ten_thousand_roles_is_resolved_once_and_named_too_deep(
    aws_dir: Path,
) -> None:
    # Before, every role walked its whole chain again, with a list for loop checks:
    # cubic time, `list` ran past 400 s at this depth (2.0 s at 1,000, 13 s at 2,000).
    (aws_dir / "config").write_text(deep_chain(10_000))
    (aws_dir / "credentials").write_text("[u]\naws_access_key_id = A\naws_secret_access_key = B\n")
    done = subprocess.run(
        [sys.executable, "-m", "mfa_tui", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=120,  # far above the second or so it takes; far below the hang it was
        env={**os.environ, "MFA_TUI_NO_FASTPATH": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert rows["unrelated"]["managed"] and rows["unrelated"]["chain"] == ["unrelated", "u"]
    deepest = f"r{MAX_CHAIN - 2}"  # 255 roles and the user: the longest chain followed
    assert rows[deepest]["managed"] and len(rows[deepest]["chain"]) == MAX_CHAIN
    assert rows[deepest]["chain"][-1] == "u"
    for name in (f"r{MAX_CHAIN - 1}", "r9999"):
        assert not rows[name]["managed"]
        assert f"more than {MAX_CHAIN} profiles" in rows[name]["reason"], rows[name]["reason"]


@pytest.mark.parametrize(
    "name", ["test-user", "my user", "開発 user", "it's", "a$b`c", 'a"b', "a\\b"]
)
@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_the_keyring_line_names_its_entry_as_botocore_splits_it(name: str, platform: str) -> None:
    from botocore.compat import compat_shell_split

    from mfa_tui.aws.files import KEYS_COMMAND, keys_command_line, own_command

    line = keys_command_line(name)
    if line is None:
        assert '"' in name or "\\" in name  # refused: import says to rename
        return
    assert compat_shell_split(line, platform) == ["mfa-tui", *KEYS_COMMAND, name]
    assert own_command(line) == (KEYS_COMMAND, name)
    assert classify(name, {"credential_process": line})[0] is Kind.USER


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        ("/home/me/.local/bin/mfa-tui keys credential-process u", Kind.USER),
        ("mfa-tui credential-process my-role", Kind.PROCESS),  # sessions, not keys
        ("aws-vault export --no-session --format=json u", Kind.PROCESS),  # no device named
        ("mfa-tui keys credential-process", Kind.PROCESS),  # no entry: not ours
        ("mfa-tui-helper keys credential-process u", Kind.PROCESS),
    ],
)
def test_which_credential_process_is_a_user(command: str, kind: Kind) -> None:
    assert classify("u", {"credential_process": command})[0] is kind
    with_device = {"credential_process": command, "mfa_serial": "arn:aws:iam::1:mfa/u"}
    served = command.startswith("mfa-tui credential-process")
    assert classify("u", with_device)[0] is (Kind.PROCESS if served else Kind.USER)


@pytest.mark.parametrize("noted", ["mfa_serial only on the user", "inline comments"])
def test_notes_on_every_profile_find_their_lines_without_scanning_every_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, noted: str
) -> None:
    """Each note names its file:line; finding it by scanning every section made loading
    quadratic (2,000 roles whose mfa_serial is only on their user: 1.6 s, not 30 ms).
    Counted, not timed: the headers read as profile names stay linear in the sections."""
    from mfa_tui.aws import files
    from mfa_tui.aws.names import config_profile_name

    roles = 300
    lines = ["[profile user]", "mfa_serial = arn:aws:iam::123456789012:mfa/user", ""]
    for i in range(roles):
        lines += [
            f"[profile role-{i}]",
            f"role_arn = arn:aws:iam::123456789012:role/r{i}",
            "source_profile = user",
        ]
        if noted == "inline comments":
            lines += ["mfa_serial = arn:aws:iam::123456789012:mfa/user", "region = x  # work"]
        lines.append("")
    (tmp_path / "config").write_text("\n".join(lines))
    (tmp_path / "credentials").write_text(
        "[user]\naws_access_key_id = AKIAUSER\naws_secret_access_key = s\n"
    )
    calls: list[str] = []

    def counted(header: str) -> str | None:
        calls.append(header)
        return config_profile_name(header)

    monkeypatch.setattr(files, "config_profile_name", counted)
    loaded = load_profiles(AwsPaths(tmp_path / "config", tmp_path / "credentials"))
    noted_roles = [p for p in loaded.profiles.values() if p.notes]
    assert len(noted_roles) == roles  # every role carries its note, with its line
    assert f"{tmp_path / 'config'}:" in noted_roles[-1].notes[0]
    assert len(calls) <= 4 * (roles + 1), len(calls)
