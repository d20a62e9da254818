"""Fixtures for tests that talk to STS/IAM: a real moto server over HTTP, reset per test,
with the sandbox account seeded and the AWS files pointing at it (or at a fault proxy).

Wired in by tests/conftest.py with `pytest_plugins = ["tests.moto_fixtures"]`; the
`sandbox` fixture also needs conftest's `aws_dir` (the isolated ~/.aws).

* `moto_server` (session): one moto server for the whole run. moto's state is per
  process, so any test that seeds must reset first -- `sandbox`/`moto_account` do.
* `moto_account` (function): an empty-then-seeded account on `moto_server`.
* `sts_fault` (function): a StsFaultServer in front of moto, no files written.
* `sandbox` (function): all of it -- account, AWS files in the isolated ~/.aws whose
  profiles point at a fault proxy in front of moto, STS timeout 2 s.
* `memory_keyring` (function): an in-memory keyring backend.
* `ec2_ready` (session): moto's EC2 loaded once, for tests whose code calls EC2 (the
  "do these keys need MFA?" probe): the first EC2 call of a process takes moto about
  2 s, more than the 2 s read timeout the sandbox sets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from mfa_tui.aws.files import AwsPaths
from mfa_tui.sandbox import MotoServer, SandboxAccount, SandboxUser, seed_account, write_aws_files
from tests.memkeyring import MemoryKeyring
from tests.stsfault import StsFaultServer

LOOPBACK_NO_PROXY = "127.0.0.1,localhost"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def ec2_ready(moto_server: MotoServer) -> None:
    from mfa_tui.sandbox import _client

    _client("ec2", moto_server.endpoint_url).describe_regions()


@pytest.fixture
def moto_account(moto_server: MotoServer) -> SandboxAccount:
    """The sandbox account, freshly seeded on a reset moto."""
    moto_server.reset()
    return seed_account(moto_server.endpoint_url)


@pytest.fixture
def sts_fault(moto_server: MotoServer) -> Iterator[StsFaultServer]:
    with StsFaultServer(moto_server.endpoint_url) as fault:
        yield fault


@dataclass
class Sandbox:
    account: SandboxAccount
    paths: AwsPaths
    fault: StsFaultServer
    moto_url: str

    @property
    def test_user(self) -> SandboxUser:
        return self.account.users["test-user"]

    def admin(self, service: str) -> Any:
        """A client with the account's admin keys, straight to moto (not the proxy):
        to look at what a test did, or to set the stage."""
        import boto3

        return boto3.client(
            cast(Any, service),
            endpoint_url=self.moto_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture
def memory_keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def sandbox(
    moto_account: SandboxAccount,
    moto_server: MotoServer,
    sts_fault: StsFaultServer,
    aws_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Sandbox:
    """The sandbox account on moto, files in the isolated ~/.aws, STS via a fault proxy."""
    monkeypatch.setenv("MFA_TUI_STS_TIMEOUT", "2")
    # An HTTP(S)_PROXY in the environment must not swallow loopback calls.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, LOOPBACK_NO_PROXY)
    config, creds = write_aws_files(aws_dir, moto_account, sts_fault.url)
    return Sandbox(moto_account, AwsPaths(config, creds), sts_fault, moto_server.endpoint_url)
