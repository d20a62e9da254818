"""A writer killed with SIGKILL at random moments leaves the file wholly old or wholly new."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mfa_tui.aws import ini
from mfa_tui.aws.credentials import write_section

# Each write replaces the section with a token that names its iteration and pads the file
# so a torn write would be visible.
WRITER = r"""
import sys
from pathlib import Path
from mfa_tui.aws.credentials import write_section
path = Path(sys.argv[1])
start = int(sys.argv[2])
print("ready", flush=True)
for i in range(start, start + 100000):
    write_section(path, "crash-mfa", {
        "aws_access_key_id": f"ASIA{i:016d}",
        "aws_secret_access_key": "s" * 200,
        "aws_session_token": f"token{i}-" + "t" * 3000,
        "expiration": "2030-01-01T00:00:00Z",
        "mfa_tui_source": "crash",
    })
    if i == start:
        print("wrote", flush=True)
"""

RUNS = int(os.environ.get("MFA_TUI_CRASH_RUNS", "200"))


@pytest.mark.slow
def test_sigkill_at_random_moments_never_tears_the_file(aws_dir: Path) -> None:
    path = aws_dir / "credentials"
    head = "# my keys, hand written\n[test-user]\naws_access_key_id = AKIAKEEP\n\n"
    path.write_text(head + "[other]\nregion = x\n")
    path.chmod(0o600)
    rng = random.Random(1234)
    seen_tokens: set[int] = set()
    start = 0
    for run in range(RUNS):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        # Every fourth writer is killed only after its first whole write (then at a random
        # moment of a later one): on a machine too busy to finish a write within the
        # random delay, the test still sees complete writes instead of proving nothing.
        if run % 4 == 0:
            assert proc.stdout.readline().strip() == "wrote"
        time.sleep(rng.uniform(0, 0.08))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        start += 100000
        data = path.read_bytes()
        doc = ini.parse_bytes(data, path)
        assert doc.problems == [], f"run {run}: {doc.problems}"
        text = data.decode()
        assert text.startswith(head), f"run {run}: foreign bytes changed"
        values = doc.section_values()
        assert values["other"] == {"region": "x"}
        if "crash-mfa" in values:
            token = values["crash-mfa"]["aws_session_token"]
            number = int(token[len("token") : token.index("-")])
            assert values["crash-mfa"]["aws_access_key_id"] == f"ASIA{number:016d}"
            assert token.endswith("t" * 3000)
            seen_tokens.add(number)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert seen_tokens, "the writer never completed a write: the test proved nothing"
    # Whatever a killed writer left behind (temp file, lock file) does not block this one.
    write_section(
        path,
        "crash-mfa",
        {
            "aws_access_key_id": "ASIAFINAL",
            "aws_secret_access_key": "x",
            "aws_session_token": "y",
            "expiration": "2030-01-01T00:00:00Z",
            "mfa_tui_source": "crash",
        },
    )
    assert ini.read(path).section_values()["crash-mfa"]["aws_access_key_id"] == "ASIAFINAL"
    leftovers = [p.name for p in aws_dir.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
