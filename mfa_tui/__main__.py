"""Entry point for `mfa-tui` and `python -m mfa_tui`."""

from __future__ import annotations

import sys


def main() -> None:
    from mfa_tui.cli import main as cli_main

    sys.exit(cli_main())


if __name__ == "__main__":
    main()
