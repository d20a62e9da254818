"""`mfa-tui daemon`: the dashboard's refresh policy without a screen."""

from __future__ import annotations

import argparse
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mfa_tui.aws.files import load_profiles
from mfa_tui.clock import FrozenClock
from mfa_tui.commands import daemon as daemon_cmd
from mfa_tui.commands.daemon import Daemon
from mfa_tui.core.asking import PromptAsker
from mfa_tui.core.backend import ServiceBackend
from mfa_tui.core.refresh_policy import Outcome
from mfa_tui.errors import ExitCode, NetworkError
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox
from tests.tui.fakes import FakeBackend, write_sample_files


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC))


@pytest.fixture
def backend(aws_dir: Path, isolated_env: Path, clock: FrozenClock) -> FakeBackend:
    paths = write_sample_files(aws_dir)
    return FakeBackend(paths, isolated_env / ".config" / "mfa-tui" / "config.toml", clock)


def sessions(backend: FakeBackend) -> dict[str, datetime | None]:
    profiles = load_profiles(backend.paths).profiles
    return {n: p.expiration for n, p in profiles.items() if n.endswith("-mfa")}


def test_nothing_is_due_without_sessions(backend: FakeBackend, clock: FrozenClock) -> None:
    assert Daemon(backend, clock=clock).run_once() == []
    assert backend.calls == []


def test_a_role_inside_its_margin_is_refreshed_silently(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    backend.refresh("test-user", code="123456")
    backend.refresh("my-test-role")
    backend.calls.clear()
    daemon = Daemon(backend, clock=clock)
    assert daemon.run_once() == []
    clock.advance(3600 - 120)
    results = daemon.run_once()
    assert [(r.profile, r.outcome) for r in results] == [("my-test-role", Outcome.OK)]
    assert backend.calls[0].code is None
    assert sessions(backend)["my-test-role-mfa"] == clock.now() + timedelta(hours=1)
    # Fresh again: the next pass leaves it alone.
    assert daemon.run_once() == []


def test_a_user_needing_a_code_is_reported_once_not_hammered(
    backend: FakeBackend, clock: FrozenClock
) -> None:
    backend.refresh("test-user", code="123456")
    backend.calls.clear()
    clock.advance(43_200 - 60)
    daemon = Daemon(backend, clock=clock)
    first = daemon.run_once()
    assert [(r.profile, r.outcome, r.exit_code) for r in first] == [
        ("test-user", Outcome.NEEDS_CODE, ExitCode.NEEDS_CODE)
    ]
    clock.advance(30)
    assert daemon.run_once() == []
    assert len(backend.calls) == 1


def test_failures_back_off(backend: FakeBackend, clock: FrozenClock) -> None:
    backend.refresh("test-user", code="123456")
    backend.refresh("admin")
    backend.calls.clear()
    backend.fail_with = NetworkError("STS did not answer")
    clock.advance(3600 - 60)
    daemon = Daemon(backend, clock=clock)
    assert [r.outcome for r in daemon.run_once()] == [Outcome.FAILED]
    clock.advance(29)
    assert daemon.run_once() == []
    clock.advance(1)
    assert [r.outcome for r in daemon.run_once()] == [Outcome.FAILED]
    assert daemon.next_wait(poll=1000) == pytest.approx(60)


def test_files_are_read_only_when_they_change(backend: FakeBackend, clock: FrozenClock) -> None:
    loads: list[int] = []
    real_load = backend.load

    def counting_load():  # type: ignore[no-untyped-def]
        loads.append(1)
        return real_load()

    backend.load = counting_load  # type: ignore[method-assign]
    daemon = Daemon(backend, clock=clock)
    daemon.run_once()
    daemon.run_once()
    assert len(loads) == 1
    backend.paths.config.write_text(backend.paths.config.read_text() + "\n[profile extra]\n")
    daemon.run_once()
    assert len(loads) == 2


def test_once_exit_code_and_log_file(
    backend: FakeBackend, clock: FrozenClock, isolated_env: Path
) -> None:
    backend.refresh("test-user", code="123456")
    clock.advance(43_200 - 60)
    code = daemon_cmd.run(argparse.Namespace(once=True), backend=backend)
    assert code == ExitCode.NEEDS_CODE
    log_file = daemon_cmd.log_path()
    assert log_file.is_relative_to(isolated_env)
    text = log_file.read_text()
    assert "test-user needs an MFA code" in text
    assert "fake-secret" not in text and "long-term-secret" not in text


def test_loop_stops_when_asked(backend: FakeBackend, clock: FrozenClock) -> None:
    backend.refresh("test-user", code="123456")
    backend.refresh("my-test-role")
    backend.calls.clear()
    clock.advance(3600 - 60)
    stop = threading.Event()
    daemon = Daemon(backend, clock=clock)
    thread = threading.Thread(target=daemon.run, args=(stop,), kwargs={"poll": 0.05})
    thread.start()
    try:
        for _ in range(100):
            if backend.calls:
                break
            stop.wait(0.02)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert [c.profile for c in backend.calls] == ["my-test-role"]


def test_the_daemon_on_the_real_engine_refreshes_a_role_silently(
    sandbox: Sandbox, memory_keyring: MemoryKeyring
) -> None:
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    backend = ServiceBackend(sandbox.paths, clock=clock, keyring_backend=memory_keyring)
    backend.activate("my-test-role", asker=PromptAsker(lambda request: "123456"))
    first = load_profiles(sandbox.paths).profiles["my-test-role-mfa"].expiration
    assert first is not None
    daemon = Daemon(backend, clock=clock)
    assert daemon.run_once() == []
    before = len(sandbox.fault.actions())
    clock.advance((first - clock.now()).total_seconds() - 60)
    results = daemon.run_once()
    assert [(r.profile, r.outcome) for r in results] == [("my-test-role", Outcome.OK)]
    assert sandbox.fault.actions()[before:] == ["AssumeRole"]
    profiles = load_profiles(sandbox.paths).profiles
    assert (
        profiles["mfa-tui"].values["aws_session_token"]
        == (profiles["my-test-role-mfa"].values["aws_session_token"])
    )


def test_key_ages_are_looked_up_once_and_an_old_key_is_said_once(
    backend: FakeBackend, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    from mfa_tui.core.key_ages import KeyAge

    backend.ages["test-user"] = KeyAge(
        "AKIAEXAMPLEUSER0001", clock.now() - timedelta(days=100), "test-user"
    )
    daemon = Daemon(backend, clock=clock)
    daemon.run_once()
    daemon.check_key_ages()
    assert backend.ages_asked == []  # no session: nothing to ask IAM with
    backend.refresh("test-user", code="123456")
    daemon.run_once()
    with caplog.at_level("WARNING", logger="mfa_tui.daemon"):
        daemon.check_key_ages()
        daemon.run_once()
        daemon.check_key_ages()
    assert backend.ages_asked == ["test-user"]
    said = [r.getMessage() for r in caplog.records if "rotate it" in r.getMessage()]
    assert said == [
        "test-user: its access key is 100 days old: rotate it ('mfa-tui keys rotate test-user')"
    ]
