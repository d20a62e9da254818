"""The checks a refresh makes before it asks STS for anything (mfa_tui/core/preflight.py).

Each refusal is proven the same way: the fault proxy in front of moto saw no call (no
MFA code was spent) and both AWS files are byte-identical.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mfa_tui.aws.files import AwsPaths
from mfa_tui.core.sessions import SessionService
from mfa_tui.errors import FileWriteError, MfaTuiError, UsageError
from mfa_tui.settings import ProfileSettings, Settings
from tests.core.conftest import ServiceFactory
from tests.moto_fixtures import Sandbox


def refused(
    sandbox: Sandbox, call: Callable[[], object], error: type[MfaTuiError], words: str
) -> str:
    before = sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()
    with pytest.raises(error) as caught:
        call()
    assert words in caught.value.message, caught.value.message
    assert sandbox.fault.actions() == [], "an MFA code was spent"
    assert (sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()) == before
    return caught.value.message


def test_a_session_profile_that_is_the_profile_itself_is_refused_before_the_call(
    sandbox: Sandbox, make_service: ServiceFactory
) -> None:
    # It used to be found only when the session was stored: after GetSessionToken.
    settings = Settings(profiles={"test-user": ProfileSettings(session_profile="test-user")})
    service = make_service(settings=settings)
    refused(
        sandbox,
        lambda: service.refresh("test-user", code="123456"),
        UsageError,
        "would be the profile itself",
    )


def test_an_active_profile_that_is_a_config_profile_is_refused(
    sandbox: Sandbox, service: SessionService
) -> None:
    with sandbox.paths.config.open("a") as fh:
        fh.write("\n[profile mfa-tui]\nregion = eu-west-1\n")
    service.reload()
    message = refused(
        sandbox,
        lambda: service.activate("test-user", code="123456"),
        UsageError,
        "the active profile, 'mfa-tui'",
    )
    assert "is also [profile mfa-tui]" in message and "active_profile" in message


def test_an_active_profile_named_default_is_refused_even_past_the_settings_check(
    sandbox: Sandbox, make_service: ServiceFactory
) -> None:
    service = make_service(settings=Settings(active_profile="DEFAULT"))
    refused(
        sandbox,
        lambda: service.activate("test-user", code="123456"),
        UsageError,
        "[DEFAULT] is special",
    )


def test_a_session_profile_the_pattern_makes_the_active_one_is_refused(
    sandbox: Sandbox, make_service: ServiceFactory
) -> None:
    user = sandbox.test_user
    with sandbox.paths.credentials.open("a") as fh:
        fh.write(
            f"\n[tui]\naws_access_key_id = {user.access_key_id}\n"
            f"aws_secret_access_key = {user.secret_access_key}\n"
        )
    service = make_service(settings=Settings(session_profile_pattern="mfa-{profile}"))
    refused(
        sandbox, lambda: service.refresh("tui", code="123456"), UsageError, "the active profile"
    )


def test_a_chain_is_refused_when_a_session_stored_on_the_way_cannot_be(
    sandbox: Sandbox, make_service: ServiceFactory
) -> None:
    # chained-role is assumed through my-test-role, whose session is stored on the way.
    settings = Settings(profiles={"my-test-role": ProfileSettings(session_profile="DEFAULT")})
    service = make_service(settings=settings)
    assert service.statuses()  # list shows it (unmanaged), it does not fail
    status = {s.name: s for s in service.statuses()}["chained-role"]
    assert not status.managed and "[DEFAULT] is special" in (status.reason or "")
    refused(sandbox, lambda: service.refresh("chained-role", code="123456"), UsageError, "DEFAULT")


@pytest.mark.parametrize("what", ["a directory", "read-only"])
def test_a_lock_file_that_cannot_be_taken_is_refused(
    sandbox: Sandbox, service: SessionService, what: str
) -> None:
    lock = Path(f"{sandbox.paths.credentials}.lock")
    if what == "a directory":
        lock.mkdir()
    else:
        lock.write_text("")
        lock.chmod(0o400)
    refused(
        sandbox, lambda: service.refresh("test-user", code="123456"), FileWriteError, "cannot lock"
    )


def test_a_missing_aws_folder_in_a_read_only_home_is_refused(
    sandbox: Sandbox, make_service: ServiceFactory, tmp_path: Path
) -> None:
    # The keys may live in the config file (botocore reads them there too): then the
    # credentials file, and its folder, are made by the first write.
    user = sandbox.test_user
    text = sandbox.paths.config.read_text().replace(
        "[profile test-user]\n",
        f"[profile test-user]\naws_access_key_id = {user.access_key_id}\n"
        f"aws_secret_access_key = {user.secret_access_key}\n",
    )
    sandbox.paths.config.write_text(text)
    home = tmp_path / "read-only-home"
    home.mkdir(mode=0o500)
    template = make_service()
    service = SessionService(
        AwsPaths(sandbox.paths.config, home / ".aws" / "credentials"),
        Settings(),
        template.clock,
        keyring_backend=None,
        used_codes=template.devices.used_codes,
    )
    assert service.profile("test-user").managed
    try:
        with pytest.raises(FileWriteError, match=f"{home} is read-only"):
            service.refresh("test-user", code="123456")
    finally:
        home.chmod(0o700)
    assert sandbox.fault.actions() == []
    assert not (home / ".aws").exists()
