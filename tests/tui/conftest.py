"""Fixtures for the dashboard's tests: sample AWS files, a frozen clock, a fake engine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import Input

from mfa_tui.aws.files import AwsPaths
from mfa_tui.clock import FrozenClock
from tests.tui.fakes import FakeBackend, write_sample_files

FROZEN_AT = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blinking cursors make screenshots depend on timing."""
    monkeypatch.setattr(Input, "cursor_blink", False)


@pytest.fixture(autouse=True)
def utc_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local times on screen (expiry, log stamps) read the same on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(FROZEN_AT)


@pytest.fixture
def aws_paths(aws_dir: Path) -> AwsPaths:
    return write_sample_files(aws_dir)


@pytest.fixture
def settings_file(isolated_env: Path) -> Path:
    return isolated_env / ".config" / "mfa-tui" / "config.toml"


@pytest.fixture
def backend(aws_paths: AwsPaths, settings_file: Path, clock: FrozenClock) -> Iterator[FakeBackend]:
    fake = FakeBackend(aws_paths, settings_file, clock)
    yield fake
    if fake.gate is not None:
        fake.gate.set()
