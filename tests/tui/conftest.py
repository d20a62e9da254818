"""Fixtures for the dashboard's tests: sample AWS files, a frozen clock, a fake engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import Input

from mfa_tui.aws.files import AwsPaths
from mfa_tui.clock import FrozenClock
from tests.tui.fakes import FakeBackend

ACCOUNT = "123456789012"
SERIAL = f"arn:aws:iam::{ACCOUNT}:mfa/test-user-phone"

CONFIG = f"""\
[default]
region = eu-west-1

[profile test-user]
region = ap-northeast-1
mfa_serial = {SERIAL}

[profile my-test-role]
region = ap-northeast-1
source_profile = test-user
role_arn = arn:aws:iam::{ACCOUNT}:role/my-test-role
mfa_serial = {SERIAL}

[profile admin]
source_profile = test-user
role_arn = arn:aws:iam::{ACCOUNT}:role/admin
mfa_serial = {SERIAL}

[profile ops-chained]
source_profile = admin
role_arn = arn:aws:iam::{ACCOUNT}:role/ops

[profile sso-dev]
sso_session = corp
sso_account_id = {ACCOUNT}
sso_role_name = Dev
"""

CREDENTIALS = """\
[test-user]
aws_access_key_id = AKIAEXAMPLEUSER0001
aws_secret_access_key = long-term-secret-do-not-show
"""

FROZEN_AT = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blinking cursors make screenshots depend on timing."""
    monkeypatch.setattr(Input, "cursor_blink", False)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(FROZEN_AT)


@pytest.fixture
def aws_paths(aws_dir: Path) -> AwsPaths:
    config = aws_dir / "config"
    credentials = aws_dir / "credentials"
    config.write_text(CONFIG)
    credentials.write_text(CREDENTIALS)
    credentials.chmod(0o600)
    return AwsPaths(config=config, credentials=credentials)


@pytest.fixture
def settings_file(isolated_env: Path) -> Path:
    return isolated_env / ".config" / "mfa-tui" / "config.toml"


@pytest.fixture
def backend(aws_paths: AwsPaths, settings_file: Path, clock: FrozenClock) -> Iterator[FakeBackend]:
    fake = FakeBackend(aws_paths, settings_file, clock)
    yield fake
    if fake.gate is not None:
        fake.gate.set()
