"""Fixtures for the session engine's tests, on top of tests/moto_fixtures.py.

`clock` is frozen at the real now (moto stamps real expiry times) and moved only by the
test or by the engine's `sleep`, so waiting for the next TOTP step costs no time.
`service` builds a SessionService on the sandbox files with an in-memory keyring and a
state file under tmp_path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mfa_tui.aws.sts import SERVER_CLOCK
from mfa_tui.clock import FrozenClock
from mfa_tui.core.codes import CodePrompt, UsedCodes
from mfa_tui.core.sessions import SessionService
from mfa_tui.settings import Settings
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox

ServiceFactory = Callable[..., SessionService]


@pytest.fixture
def os_keyring() -> Iterator[None]:
    """Whatever the test sets with keyring.set_keyring is undone afterwards."""
    import keyring

    saved = keyring.core._keyring_backend
    yield
    keyring.core._keyring_backend = saved


@pytest.fixture(autouse=True)
def fresh_server_clock() -> None:
    """The Date-header memory is process-wide; no test inherits another's skew."""
    SERVER_CLOCK.reset()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def keyring() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def make_service(
    sandbox: Sandbox,
    tmp_path: Path,
    clock: FrozenClock,
    keyring: MemoryKeyring,
    sleeps: list[float],
) -> ServiceFactory:
    """A factory: `make_service(settings=..., code_prompt=...)`."""

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    def make(
        settings: Settings | None = None,
        code_prompt: CodePrompt | None = None,
        **kwargs: Any,
    ) -> SessionService:
        return SessionService(
            paths=sandbox.paths,
            settings=settings or Settings(),
            clock=clock,
            code_prompt=code_prompt,
            keyring_backend=keyring,
            sleep=sleep,
            used_codes=UsedCodes(tmp_path / "state" / "codes.json"),
            **kwargs,
        )

    return make


@pytest.fixture
def service(make_service: ServiceFactory) -> SessionService:
    return make_service()
