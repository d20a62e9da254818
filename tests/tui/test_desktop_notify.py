"""Where desktop notifications go (nothing is sent from here)."""

from __future__ import annotations

import sys

import pytest

from mfa_tui.tui import desktop_notify
from mfa_tui.tui.desktop_notify import system_notifier, terminal_escape


def test_the_terminal_escape_cannot_be_ended_early() -> None:
    escape = terminal_escape("mfa-tui", "terraform\x07 waits\x1b]9;x")
    assert escape.startswith("\x1b]9;") and escape.endswith("\x07")
    assert escape.count("\x07") == 1 and escape.count("\x1b") == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's choices")
def test_linux_uses_notify_send_else_d_bus_else_the_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: f"/usr/bin/{name}")
    assert system_notifier({"DISPLAY": ":0"}) is not None
    assert system_notifier({}) is None  # no desktop session: the terminal's escape
    monkeypatch.setattr("shutil.which", lambda name: None)
    assert system_notifier({"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"}) is desktop_notify._dbus
    assert system_notifier({"DISPLAY": ":0"}) is None
