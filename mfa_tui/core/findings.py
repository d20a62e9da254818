"""What doctor found, as plain data: a `Finding` has a severity, the file and line where
one applies, the profile, and what to do. The checks (core/doctor.py, doctor_local.py,
doctor_aws.py) make them; commands/doctor.py prints them, or `--json`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class Severity(StrEnum):
    """How much a finding matters; a problem or a warning needs attention (exit 1)."""

    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    PROBLEM = "problem"

    @property
    def needs_attention(self) -> bool:
        return self is Severity.WARNING or self is Severity.PROBLEM


class Area(StrEnum):
    """Where a finding belongs, in the order doctor prints them."""

    FILES = "AWS files"
    PROFILES = "Profiles"
    COMPUTER = "This computer"
    AWS = "AWS"


@dataclass(frozen=True)
class Finding:
    """One thing doctor found. `check` is a stable name for scripts (`--json`)."""

    check: str
    area: Area
    severity: Severity
    message: str
    fix: str | None = None
    profile: str | None = None
    file: str | None = None
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["area"], data["severity"] = self.area.name.lower(), self.severity.value
        return data


def needs_attention(findings: Sequence[Finding]) -> bool:
    return any(f.severity.needs_attention for f in findings)


def place(text: str, paths: Sequence[Path]) -> tuple[str | None, int | None]:
    """The first `file:line` of one of `paths` that `text` names, as (file, line)."""
    for path in paths:
        found = re.search(re.escape(str(path)) + r":(\d+)", text)
        if found:
            return str(path), int(found.group(1))
    return None, None
