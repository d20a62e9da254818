"""`mfa-tui` / `mfa-tui ui`: open the dashboard.

Textual is imported here and only here, so every other subcommand starts without it.
"""

from __future__ import annotations

import argparse

from mfa_tui.commands.common import require_hangup_signal
from mfa_tui.errors import ExitCode


def run(args: argparse.Namespace) -> int:
    require_hangup_signal("the dashboard")
    from mfa_tui.core.backend import ServiceBackend
    from mfa_tui.tui.app import MfaTuiApp

    app = MfaTuiApp(ServiceBackend(), agent=True, desktop_notifications=True)
    app.run()
    return int(app.return_code or ExitCode.OK)
