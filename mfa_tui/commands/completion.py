"""`mfa-tui completion bash|zsh|fish`: the script that completes subcommands, options
and profile names (see mfa_tui/completion.py for the answers it asks for)."""

from __future__ import annotations

import argparse
import sys

from mfa_tui.completion import SCRIPTS
from mfa_tui.errors import ExitCode


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(SCRIPTS[args.shell])
    return int(ExitCode.OK)
