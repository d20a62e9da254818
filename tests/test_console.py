"""`mfa-tui console`: a role's session signed in through a local fake of AWS's federation
endpoint that refuses what AWS refuses (tests/fake_signin.py); real processes."""

from __future__ import annotations

import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from mfa_tui.aws import ini
from mfa_tui.core.console import console_home, session_duration, signin_endpoint
from tests.fake_signin import FakeSignin
from tests.moto_fixtures import Sandbox
from tests.test_cli_session import mfa_tui


@pytest.fixture
def signin(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSignin]:
    with FakeSignin(sandbox.moto_url) as fake:
        monkeypatch.setenv("MFA_TUI_SIGNIN_URL", fake.url)
        yield fake


def query_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def user_session() -> None:
    done = mfa_tui("refresh", "test-user", "--code", "123456")
    assert done.returncode == 0, done.stderr


def test_print_gives_a_sign_in_url_the_endpoint_accepts(
    sandbox: Sandbox, signin: FakeSignin
) -> None:
    user_session()
    done = mfa_tui("console", "my-test-role", "--print")
    assert done.returncode == 0, done.stderr
    url = done.stdout.strip()
    assert url.startswith(f"{signin.url}?Action=login&Issuer=mfa-tui&Destination=")
    query = query_of(url)
    assert (
        query["Destination"]
        == "https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1"
    )
    # AWS refuses SessionDuration for a chained role: it was not sent.
    token_request = signin.requests[0]
    assert token_request["Action"] == "getSigninToken" and "SessionDuration" not in token_request
    signed = signin.tokens[query["SigninToken"]]
    assert ":assumed-role/my-test-role/" in signed.arn
    stored = ini.read(sandbox.paths.credentials).section_values()["my-test-role-mfa"]
    assert signed.access_key_id == stored["aws_access_key_id"]
    # The role was assumed from the user session, silently.
    assert sandbox.fault.actions().count("AssumeRole") == 1


def test_a_user_session_cannot_sign_in_and_is_told_where_to_go(
    sandbox: Sandbox, signin: FakeSignin
) -> None:
    user_session()
    done = mfa_tui("console", "test-user", "--print")
    assert done.returncode == 2
    assert "GetSessionToken (user) session" in done.stderr
    assert (
        "mfa-tui console my-test-role" in done.stderr and "password and MFA device" in done.stderr
    )
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == "" and signin.requests == []
    # The active profile holding that user's session is the same user session.
    assert mfa_tui("use", "test-user").returncode == 0
    active = mfa_tui("console", "mfa-tui", "--print")
    assert active.returncode == 2 and "'test-user' has a GetSessionToken" in active.stderr


def test_the_fake_refuses_what_aws_refuses(sandbox: Sandbox, signin: FakeSignin) -> None:
    # What the endpoint itself says if a user session or a SessionDuration for a
    # chained role were sent: mfa-tui never sends either.
    from mfa_tui.core.console import _fetch, _signin_token
    from mfa_tui.core.store import session_from_values
    from mfa_tui.errors import NetworkError

    user_session()
    assert mfa_tui("refresh", "my-test-role").returncode == 0
    sessions = ini.read(sandbox.paths.credentials).section_values()
    user = session_from_values(sessions["test-user-mfa"])
    role = session_from_values(sessions["my-test-role-mfa"])
    assert user is not None and role is not None
    with pytest.raises(NetworkError, match="GetSessionToken cannot sign in"):
        _signin_token(user, signin.url, None, _fetch)
    with pytest.raises(NetworkError, match="role chaining"):
        _signin_token(role, signin.url, 3600, _fetch)
    assert _signin_token(role, signin.url, None, _fetch)


def test_a_role_assumed_with_long_term_keys_gets_a_session_duration(
    sandbox: Sandbox, signin: FakeSignin
) -> None:
    # Two hours, assumed straight from the keys and a code: not chained, so the console
    # session may be asked to last as long.
    done = mfa_tui("refresh", "my-test-role", "--duration", "7200", "--code", "123456")
    assert done.returncode == 0, done.stderr
    stored = ini.read(sandbox.paths.credentials).section_values()["my-test-role-mfa"]
    signin.direct_keys.add(stored["aws_access_key_id"])
    printed = mfa_tui("console", "my-test-role", "--print")
    assert printed.returncode == 0, printed.stderr
    signed = signin.tokens[query_of(printed.stdout.strip())["SigninToken"]]
    assert signed.session_duration is not None and 7000 < signed.session_duration <= 7200


def test_a_federation_endpoint_that_fails_is_exit_5_with_its_answer(
    sandbox: Sandbox, signin: FakeSignin
) -> None:
    user_session()
    signin.fail = (500, "<html><body><h1>Internal Failure</h1> try later</body></html>")
    done = mfa_tui("console", "my-test-role", "--print")
    assert done.returncode == 5
    assert "refused the sign-in: HTTP 500: Internal Failure try later" in done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    signin.fail = (200, "not json")
    garbled = mfa_tui("console", "my-test-role", "--print")
    assert garbled.returncode == 5 and "without a sign-in token: not json" in garbled.stderr


def test_an_unreachable_endpoint_is_exit_5(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_session()
    monkeypatch.setenv("MFA_TUI_SIGNIN_URL", "http://127.0.0.1:9/federation")
    done = mfa_tui("console", "my-test-role", "--print")
    assert done.returncode == 5
    assert "cannot reach the AWS federation endpoint http://127.0.0.1:9/federation" in done.stderr


BROWSER = """#!{python}
import sys, urllib.request
class Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
open({argv!r}, "w").write(" ".join(sys.argv[1:]))
try:
    urllib.request.build_opener(Stay).open(sys.argv[1], timeout=30)
except urllib.error.HTTPError as exc:
    open({location!r}, "w").write(exc.headers["Location"])
"""


def test_the_browser_gets_the_url_without_it_on_a_command_line(
    sandbox: Sandbox, signin: FakeSignin, tmp_path: Path
) -> None:
    user_session()
    argv, location = tmp_path / "argv", tmp_path / "location"
    browser = tmp_path / "browser"
    browser.write_text(
        BROWSER.format(python=sys.executable, argv=str(argv), location=str(location))
    )
    browser.chmod(0o755)
    done = mfa_tui("console", "readonly-role", env={"BROWSER": str(browser)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("opened the AWS console as readonly-role in your browser")
    assert "SigninToken" not in done.stdout + done.stderr
    # The browser was started with a one-shot local address; the redirect carried the URL.
    assert argv.read_text().startswith("http://127.0.0.1:")
    assert "SigninToken" not in argv.read_text()
    url = location.read_text()
    assert url.startswith(f"{signin.url}?Action=login")
    assert ":assumed-role/readonly-role/" in signin.tokens[query_of(url)["SigninToken"]].arn


def test_a_browser_that_cannot_start_gets_the_url_printed(
    sandbox: Sandbox, signin: FakeSignin, tmp_path: Path
) -> None:
    user_session()
    done = mfa_tui("console", "my-test-role", env={"BROWSER": str(tmp_path / "no-browser")})
    assert done.returncode == 0, done.stderr
    assert "no browser could be started" in done.stderr
    assert done.stdout.startswith(f"{signin.url}?Action=login")


def test_destination_and_bad_input(sandbox: Sandbox, signin: FakeSignin) -> None:
    user_session()
    page = "https://us-east-1.console.aws.amazon.com/s3/home"
    done = mfa_tui("console", "my-test-role", "--print", "--destination", page)
    assert done.returncode == 0, done.stderr
    assert query_of(done.stdout.strip())["Destination"] == page
    for args, words in (
        (["my-test-role", "--destination", "http://example.com/"], "must be an https:// URL"),
        (["nobody"], "unknown profile 'nobody'"),
        (["corp-sso"], "is not one mfa-tui can refresh"),
    ):
        calls = len(sandbox.fault.actions())
        bad = mfa_tui("console", *args, "--print")
        assert bad.returncode == 2 and words in bad.stderr, bad.stderr
        assert len(sandbox.fault.actions()) == calls


def test_the_console_follows_the_profiles_region_and_partition() -> None:
    assert console_home("eu-west-1") == (
        "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"
    )
    assert console_home("cn-north-1").startswith("https://cn-north-1.console.amazonaws.cn/")
    assert signin_endpoint("us-gov-west-1", {}) == "https://signin.amazonaws-us-gov.com/federation"
    assert signin_endpoint("eu-west-1", {}) == "https://signin.aws.amazon.com/federation"
    assert signin_endpoint(None, {"MFA_TUI_SIGNIN_URL": "http://x/f"}) == "http://x/f"


def test_session_duration_only_where_aws_allows_it() -> None:
    assert session_duration(3600, 3000) is None  # chained: an hour at most
    assert session_duration(None, 3000) is None
    assert session_duration(7200, 5000) == 5000
    assert session_duration(43200, 100_000) == 43200
    assert session_duration(7200, 300) == 900


def test_without_a_desktop_no_text_browser_takes_the_terminal(
    sandbox: Sandbox, signin: FakeSignin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python's webbrowser falls back to lynx or w3m in the terminal: never for this.
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    user_session()
    done = mfa_tui("console", "my-test-role", timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{signin.url}?Action=login")
    assert "\x1b" not in done.stdout
