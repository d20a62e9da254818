"""`mfa-tui demo`: the dashboard on an embedded moto sandbox (see mfa_tui/demo.py)."""

from __future__ import annotations

import argparse

from mfa_tui.commands.common import require_hangup_signal
from mfa_tui.errors import ExitCode


def run(args: argparse.Namespace) -> int:
    import sys

    require_hangup_signal("the demo")

    # Starting moto takes seconds: say so at once, not after a blank terminal.
    print(
        "mfa-tui demo: starting an embedded AWS stand-in on 127.0.0.1 and a throw-away sandbox…",
        file=sys.stderr,
        flush=True,
    )
    from mfa_tui.demo import demo_sandbox

    with demo_sandbox(keep=args.keep) as sandbox:
        from mfa_tui.core.backend import ServiceBackend
        from mfa_tui.tui.app import MfaTuiApp

        app = MfaTuiApp(
            ServiceBackend(),
            code_hint=sandbox.hint,
            title_note="demo sandbox",
            agent=True,
            desktop_notifications=True,
            last_words=None if args.keep else sandbox.remove,
        )
        app.run()
        return int(app.return_code or ExitCode.OK)
