"""Record what the real AWS CLI v2 prints for `aws configure export-credentials`.

tests/test_export.py compares `mfa-tui export` byte for byte with these recordings, so
a script that `eval`s the AWS CLI's output accepts ours. The AWS CLI v2 is not on PyPI
(`pip install awscli` is v1, which has no export-credentials); build it from its source
(the `v2` branch of github.com/aws/aws-cli, or https://awscli.amazonaws.com/awscli.tar.gz)
in a throwaway virtual environment, then run:

    uv run python scripts/awscli_export_golden.py /path/to/venv/bin/aws

It gives the CLI a profile whose credential_process prints the fixed test credentials of
tests/test_export.py (nothing is sent to AWS), records each format's stdout in
tests/data/awscli_export/<format>.txt, and the CLI's version in VERSION.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "awscli_export"
FORMATS = ("process", "env", "env-no-export", "fish", "powershell", "windows-cmd")
# The same values tests/test_export.py renders: characters a quoting bug would show.
CREDENTIALS = {
    "Version": 1,
    "AccessKeyId": "ASIAGOLDENEXAMPLE123",
    "SecretAccessKey": "wJalr/XUtnFEMI+K7MDENG/bPxRfiCYEXAMPLEKEY",
    "SessionToken": "IQoJb3JpZ2luX2VjE+/gold/en=token//with+slashes==",
    "Expiration": "2099-01-01T00:00:00Z",
}


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    aws = sys.argv[1]
    version = subprocess.run([aws, "--version"], capture_output=True, text=True, check=True)
    if not version.stdout.startswith("aws-cli/2."):
        raise SystemExit(f"{aws} is not the AWS CLI v2: {version.stdout.strip()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        printer = folder / "creds.py"
        printer.write_text(f"print({json.dumps(json.dumps(CREDENTIALS))})\n")
        config = folder / "config"
        config.write_text(f"[profile golden]\ncredential_process = {sys.executable} {printer}\n")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": tmp,
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(folder / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        OUT.mkdir(parents=True, exist_ok=True)
        for fmt in FORMATS:
            done = subprocess.run(
                [aws, "configure", "export-credentials", "--profile", "golden", "--format", fmt],
                capture_output=True,
                env=env,
                check=True,
            )
            (OUT / f"{fmt}.txt").write_bytes(done.stdout)
    (OUT / "VERSION").write_text(version.stdout.strip() + "\n")
    print(f"recorded {len(FORMATS)} formats of {version.stdout.strip()} in {OUT}")


if __name__ == "__main__":
    main()
