"""Desktop notifications: a session that will need you, a tool waiting for a code.

The dashboard rings and shows a toast, but it may be behind other windows. Where the
desktop has a notification service, a notification goes there too: `notify-send`
(libnotify) on Linux, else the freedesktop D-Bus service directly (jeepney, which the
keyring already brings on Linux); `osascript` on macOS; elsewhere the terminal's own
notification escape (OSC 9, which iTerm2, WezTerm, kitty, foot, Ghostty and Windows
Terminal show), written by the app. `desktop_notifications = false` in the settings
turns them off. Nothing here runs in tests unless a test asks for it: the app sends
none unless it is given a notifier.

A small module of our own rather than a library: the libraries that cover this
(desktop-notifier, notify-py, plyer) each bring a D-Bus stack or platform bindings of
their own, for one call per event that these few lines make with what is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable

APP_NAME = "mfa-tui"
# A notification that cannot be shown within this is given up (never blocks anything).
TIMEOUT = 3.0

Notifier = Callable[[str, str], None]


def _running(*argv: str) -> Notifier:
    """A notifier that runs `argv` with the title and body as its last two arguments."""

    def send(title: str, body: str) -> None:
        subprocess.run(
            [*argv, title, body],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=TIMEOUT,
            check=False,
        )

    return send


def _dbus(title: str, body: str) -> None:
    from jeepney import DBusAddress, new_method_call  # type: ignore[import-untyped]
    from jeepney.io.blocking import open_dbus_connection  # type: ignore[import-untyped]

    service = DBusAddress(
        "/org/freedesktop/Notifications",
        bus_name="org.freedesktop.Notifications",
        interface="org.freedesktop.Notifications",
    )
    call = new_method_call(
        service, "Notify", "susssasa{sv}i", (APP_NAME, 0, "", title, body, [], {}, -1)
    )
    with open_dbus_connection(bus="SESSION") as connection:
        connection.send_and_get_reply(call, timeout=TIMEOUT)


# The text goes in as arguments, never into the script: no quoting to get wrong.
_OSASCRIPT = (
    "on run argv\ndisplay notification (item 2 of argv) with title (item 1 of argv)\nend run"
)


def system_notifier(environ: dict[str, str] | None = None) -> Notifier | None:
    """The desktop's notification service, or None when there is none (then the app
    uses the terminal's escape)."""
    env = os.environ if environ is None else environ
    if sys.platform == "darwin":
        program = shutil.which("osascript")
        return _running(program, "-e", _OSASCRIPT) if program else None
    if not sys.platform.startswith("linux"):
        return None
    if not (
        env.get("DBUS_SESSION_BUS_ADDRESS") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")
    ):
        return None
    program = shutil.which("notify-send")
    if program:
        return _running(program, f"--app-name={APP_NAME}", "--")
    if env.get("DBUS_SESSION_BUS_ADDRESS"):
        try:
            import jeepney  # noqa: F401
        except ImportError:
            return None
        return _dbus
    return None


def terminal_escape(title: str, body: str) -> str:
    """OSC 9: the terminal shows `body` as a notification (control characters dropped,
    so no text can end the sequence early)."""
    text = f"{title}: {body}" if title else body
    clean = "".join(c for c in text if c.isprintable())
    return f"\x1b]9;{clean}\x07"
