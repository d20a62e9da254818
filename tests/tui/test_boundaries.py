"""Import boundaries: the refresh logic has no UI in it, and only the dashboard pays for
Textual."""

from __future__ import annotations

import subprocess
import sys

import pytest


def modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "module",
    [
        "mfa_tui.core.refresh_policy",
        "mfa_tui.core.file_watch",
        "mfa_tui.core.backend",
        "mfa_tui.commands.daemon",
    ],
)
def test_refresh_logic_imports_no_textual(module: str) -> None:
    loaded = modules_after(f"import {module}")
    assert not any(m == "textual" or m.startswith("textual.") for m in loaded)


def test_cli_parsing_imports_no_textual() -> None:
    loaded = modules_after("import mfa_tui.cli; mfa_tui.cli.build_parser()")
    assert "textual" not in loaded
