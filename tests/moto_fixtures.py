"""Fixtures for tests that talk to STS/IAM: a real moto server over HTTP, reset per test,
with the sandbox account seeded and the AWS files pointing at it (or at a fault proxy)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mfa_tui.aws.files import AwsPaths
from mfa_tui.sandbox import MotoServer, SandboxAccount, seed_account, write_aws_files
from tests.memkeyring import MemoryKeyring
from tests.stsfault import StsFaultServer


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@dataclass
class Sandbox:
    account: SandboxAccount
    paths: AwsPaths
    fault: StsFaultServer
    moto_url: str

    @property
    def test_user(self):  # type: ignore[no-untyped-def]
        return self.account.users["test-user"]


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def sandbox(
    moto_server: MotoServer, aws_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sandbox]:
    """The demo account on moto, files in the isolated ~/.aws, STS via a fault proxy."""
    moto_server.reset()
    account = seed_account(moto_server.endpoint_url)
    monkeypatch.setenv("MFA_TUI_STS_TIMEOUT", "2")
    with StsFaultServer(moto_server.endpoint_url) as fault:
        config, creds = write_aws_files(aws_dir, account, fault.url)
        yield Sandbox(account, AwsPaths(config, creds), fault, moto_server.endpoint_url)
