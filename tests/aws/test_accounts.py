"""Account aliases from IAM (aws/accounts.py) and their cache (core/account_names.py),
against moto behind the fault proxy, with sessions the engine got."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest

from mfa_tui.aws import sts
from mfa_tui.aws.accounts import AliasesDeniedError, list_account_aliases
from mfa_tui.aws.files import load_profiles
from mfa_tui.aws.sts import Credentials
from mfa_tui.clock import FrozenClock
from mfa_tui.core.account_names import ACCOUNTS_FILE, AliasCache, look_up_aliases
from mfa_tui.core.sessions import SessionService
from mfa_tui.core.status import all_statuses
from mfa_tui.errors import NetworkError
from mfa_tui.settings import Settings
from tests import stsfault
from tests.moto_fixtures import Sandbox


def name_the_account(sandbox: Sandbox, alias: str) -> None:
    user = sandbox.test_user
    iam = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=sandbox.moto_url,
        aws_access_key_id=user.access_key_id,
        aws_secret_access_key=user.secret_access_key,
    )
    iam.create_account_alias(AccountAlias=alias)


def session_of(name: str) -> Credentials:
    values = load_profiles().profiles[f"{name}-mfa"].values
    return Credentials(
        values["aws_access_key_id"], values["aws_secret_access_key"], values["aws_session_token"]
    )


@pytest.fixture
def with_sessions(sandbox: Sandbox) -> SessionService:
    service = SessionService(paths=sandbox.paths, settings=Settings())
    service.refresh("test-user", code="123456")
    service.refresh("my-test-role")
    return service


def test_the_alias_is_listed_with_an_mfa_session(
    sandbox: Sandbox, with_sessions: SessionService
) -> None:
    name_the_account(sandbox, "acme-sandbox")
    assert list_account_aliases("my-test-role", session_of("my-test-role")) == ["acme-sandbox"]
    call = sandbox.fault.calls("ListAccountAliases")[-1]
    assert call["Action"] == "ListAccountAliases"


def test_a_denied_listing_is_an_answer_and_a_dead_endpoint_a_network_error(
    sandbox: Sandbox, with_sessions: SessionService
) -> None:
    sandbox.fault.queue(stsfault.error("AccessDenied", "not allowed", 403, "ListAccountAliases"))
    with pytest.raises(AliasesDeniedError, match="may not list its account's alias"):
        list_account_aliases("my-test-role", session_of("my-test-role"))
    sandbox.fault.always = stsfault.Fault(disconnect=True)
    with pytest.raises(NetworkError, match="IAM"):
        list_account_aliases("my-test-role", session_of("my-test-role"))


def test_look_up_uses_an_existing_session_and_caches_no_secret(
    sandbox: Sandbox,
    with_sessions: SessionService,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name_the_account(sandbox, "acme-sandbox")
    clock = FrozenClock(with_sessions.clock.now())
    profile_set = load_profiles()
    settings = Settings()
    statuses = all_statuses(profile_set, settings, clock.now())
    account = sandbox.account.account_id
    # The files it is given, not parsed again for each account's call.
    monkeypatch.setattr(sts, "load_profiles", lambda *a, **k: pytest.fail("files read again"))
    found = look_up_aliases(statuses, {account}, profile_set, settings, clock, tmp_path)
    assert found == {account: "acme-sandbox"}
    calls = len(sandbox.fault.calls("ListAccountAliases"))
    assert calls == 1
    text = (tmp_path / ACCOUNTS_FILE).read_text()
    assert "acme-sandbox" in text
    for secret in (
        session_of("my-test-role").secret_access_key,
        sandbox.test_user.secret_access_key,
    ):
        assert secret not in text
    assert (tmp_path / ACCOUNTS_FILE).stat().st_mode & 0o777 == 0o600
    # Cached: asked again, IAM is not called.
    again = look_up_aliases(statuses, {account}, profile_set, settings, clock, tmp_path)
    assert again == found and len(sandbox.fault.calls("ListAccountAliases")) == calls
    assert AliasCache.load(tmp_path).known() == found


def test_no_session_no_call(sandbox: Sandbox, tmp_path: Path) -> None:
    clock = FrozenClock(datetime.now(UTC))
    profile_set = load_profiles()
    settings = Settings()
    statuses = all_statuses(profile_set, settings, clock.now())
    found = look_up_aliases(
        statuses, {sandbox.account.account_id}, profile_set, settings, clock, tmp_path
    )
    assert found == {}
    assert sandbox.fault.calls("ListAccountAliases") == []
