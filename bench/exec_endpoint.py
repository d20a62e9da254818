"""Bench figure: how fast `mfa-tui exec`'s endpoint answers the program it runs.

The program's SDK asks the endpoint when it starts and again before its credentials
expire; botocore gives each request 2 seconds. Measured from inside the program, with
botocore's own ContainerMetadataFetcher (what boto3 and the AWS CLI use), against moto
in a process of its own with 50 ms before each STS answer, as over a network:

- a session stored with time left: served from the file through the door;
- a role session inside the SDK's 15 minutes: renewed through the door (one AssumeRole
  from the stored user session) before the answer; beside it, that AssumeRole alone
  (boto3, same moto) as the baseline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

# The program exec runs: times one request per line it reads.
CHILD = """
import os, sys, time
from botocore.utils import ContainerMetadataFetcher
fetcher = ContainerMetadataFetcher()
url = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
headers = {"Authorization": os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]}
for _ in sys.stdin:
    start = time.perf_counter()
    answer = fetcher.retrieve_full_uri(url, headers=headers)
    print(time.perf_counter() - start, answer["AccessKeyId"], flush=True)
"""


class Measured(NamedTuple):
    stored: list[float]  # seconds per request, session stored
    renewed: list[float]  # seconds per request that renewed the role first
    assume_role: list[float]  # seconds per AssumeRole alone (boto3)


def measure(folder: Path, runs: int, delay_ms: float) -> Measured:
    import boto3

    from bench.refresh import _MotoProcess
    from mfa_tui.aws import ini
    from mfa_tui.aws.credentials import write_section
    from mfa_tui.aws.files import AwsPaths, format_expiration
    from mfa_tui.core.codes import UsedCodes
    from mfa_tui.core.sessions import SessionService
    from mfa_tui.sandbox import seed_account, write_aws_files
    from mfa_tui.settings import Settings

    folder.mkdir(parents=True, exist_ok=True)
    server = _MotoProcess(delay_ms)
    try:
        account = seed_account(server.endpoint_url)
        config, creds = write_aws_files(folder, account, server.endpoint_url)
        env = {
            **os.environ,
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(creds),
            "MFA_TUI_CONFIG": str(folder / "settings.toml"),
            "HOME": str(folder),
            "XDG_STATE_HOME": str(folder / "state"),
            "XDG_RUNTIME_DIR": str(folder / "run"),
            "NO_PROXY": "127.0.0.1,localhost",
        }
        os.environ.update(env)
        service = SessionService(
            paths=AwsPaths(config, creds),
            settings=Settings(),
            used_codes=UsedCodes(folder / "codes.json"),
            keyring_backend=object(),
        )
        service.refresh("test-user", code="123456")
        service.refresh("my-test-role")
        child = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "mfa-tui"),
                "exec",
                "my-test-role",
                "--",
                sys.executable,
                "-c",
                CHILD,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert child.stdin is not None and child.stdout is not None

        def ask() -> tuple[float, str]:
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write("\n")
            child.stdin.flush()
            seconds, key = child.stdout.readline().split()
            return float(seconds), key

        def short_session() -> str:
            values = ini.read(creds).section_values()["my-test-role-mfa"]
            soon = datetime.now(UTC) + timedelta(minutes=5)
            write_section(
                creds, "my-test-role-mfa", {**values, "expiration": format_expiration(soon)}
            )
            return values["aws_access_key_id"]

        try:
            for _ in range(3):
                ask()  # warm-up: connections, the keeper's first look
            stored = [ask()[0] for _ in range(runs * 3)]
            short_session()
            ask()  # warm-up of the renewal path (boto3 is loaded by then)
            renewed = []
            for _ in range(runs):
                old = short_session()
                seconds, key = ask()
                if key == old:
                    raise SystemExit("bench: the endpoint did not renew the role session")
                renewed.append(seconds)
        finally:
            child.stdin.close()
            child.wait(30)
        values = ini.read(creds).section_values()["test-user-mfa"]
        sts = boto3.client(
            "sts",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=values["aws_access_key_id"],
            aws_secret_access_key=values["aws_secret_access_key"],
            aws_session_token=values["aws_session_token"],
        )
        arn = account.roles["my-test-role"]
        assume = []
        sts.assume_role(RoleArn=arn, RoleSessionName="bench")
        for _ in range(runs):
            start = time.perf_counter()
            sts.assume_role(RoleArn=arn, RoleSessionName="bench")
            assume.append(time.perf_counter() - start)
        return Measured(stored, renewed, assume)
    finally:
        server.stop()
