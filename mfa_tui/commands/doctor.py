"""`mfa-tui doctor`: check the AWS files, this computer and the keys; say what to fix.

Exit 0 when nothing needs attention, 1 when something does (a problem or a warning),
2 for a usage error. `--json` prints the findings for scripts; `--offline` asks nothing
of AWS; `--files` checks the AWS files alone (standard library and mfa-tui's own
reader only: fast enough for an editor hook or a pre-commit check).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mfa_tui.clock import SYSTEM_CLOCK
from mfa_tui.core.doctor import gather
from mfa_tui.core.findings import Area, Finding, Severity, needs_attention
from mfa_tui.errors import ExitCode, UsageError

if TYPE_CHECKING:
    import argparse

_COLOURS = {
    Severity.OK: "\033[32m",
    Severity.INFO: "\033[2m",
    Severity.WARNING: "\033[33m",
    Severity.PROBLEM: "\033[31;1m",
}
_RESET = "\033[0m"
_ANSI = re.compile("\033\\[[0-9;]*m")
_TAG_WIDTH = len("problem")


def run(args: argparse.Namespace) -> int:
    if args.profiles and (args.offline or args.files):
        flag = "--offline" if args.offline else "--files"
        raise UsageError(f"{flag} asks AWS nothing; PROFILE names whose keys to ask AWS about")
    findings = gather(
        now=SYSTEM_CLOCK.now(),
        local=not args.files,
        ask_aws=not (args.offline or args.files),
        profiles=list(args.profiles) or None,
    )
    if args.json:
        sys.stdout.write(json.dumps(as_json(findings), indent=2) + "\n")
    else:
        sys.stdout.write(render(findings, colour=_colour_wanted(), width=_width()))
    return int(ExitCode.ERROR if needs_attention(findings) else ExitCode.OK)


def as_json(findings: Sequence[Finding]) -> dict[str, object]:
    """`--json`: whether all is well, how many of each severity, and every finding."""
    counts = {severity.value: 0 for severity in Severity}
    for finding in findings:
        counts[finding.severity.value] += 1
    return {
        "ok": not needs_attention(findings),
        "counts": counts,
        "findings": [f.to_json() for f in findings],
    }


def render(findings: Sequence[Finding], *, colour: bool = False, width: int | None = None) -> str:
    """The findings under a heading per area; each with its place and what to do."""
    out: list[str] = []
    indent = " " * (2 + _TAG_WIDTH + 2)
    for area in Area:
        mine = [f for f in findings if f.area is area]
        if not mine:
            continue
        out.append(area.value)
        for finding in mine:
            tag = finding.severity.value.ljust(_TAG_WIDTH)
            if colour:
                tag = f"{_COLOURS[finding.severity]}{tag}{_RESET}"
            out.extend(_wrapped(f"  {tag}  ", _text(finding), indent, width))
            if finding.fix:
                out.extend(_wrapped(indent, f"-> {finding.fix}", indent + "   ", width))
        out.append("")
    out.append(summary(findings))
    return "\n".join(out) + "\n"


def _text(finding: Finding) -> str:
    """The message, led by its place when it does not name it itself."""
    text = finding.message
    if finding.file and finding.line is not None and f"{finding.file}:{finding.line}" not in text:
        text = f"{finding.file}:{finding.line}: {text}"
    if finding.profile:
        text = f"{finding.profile}: {text}"
    return text


def _wrapped(first: str, text: str, rest: str, width: int | None) -> list[str]:
    if width is None:
        return [first + text]
    visible = len(_ANSI.sub("", first))
    lines = textwrap.wrap(
        text,
        width=max(40, width),
        initial_indent=" " * visible,
        subsequent_indent=rest,
        break_on_hyphens=False,
        break_long_words=False,
    )
    return [first + lines[0][visible:], *lines[1:]] if lines else [first]


def summary(findings: Sequence[Finding]) -> str:
    problems = sum(f.severity is Severity.PROBLEM for f in findings)
    warnings = sum(f.severity is Severity.WARNING for f in findings)
    if not problems and not warnings:
        return "Nothing needs attention."
    parts = [
        f"{count} {word}{'' if count == 1 else 's'}"
        for count, word in ((problems, "problem"), (warnings, "warning"))
        if count
    ]
    return f"{' and '.join(parts)} need{'s' if problems + warnings == 1 else ''} attention."


def _colour_wanted() -> bool:
    return (
        sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    )


def _width() -> int | None:
    """Wrap to the terminal; one line a finding (and its fix) for pipes and files."""
    if not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns - 1
