"""Bench figure: refresh 50 role sessions from one user session, against moto.

The user session is got once (one code); then one role is refreshed alone (the baseline)
and 50 roles are refreshed together through the engine's bounded pool, as the
dashboard's `R` and the daemon do.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import NamedTuple

ROLES = 50


class _MotoProcess:
    """moto in a process of its own, as AWS is: its CPU is not ours to measure.

    With `delay_ms`, each STS call waits that long first, as a real one does on the
    network (see bench/moto_latency.py).
    """

    def __init__(self, delay_ms: float = 0.0) -> None:
        import socket
        import subprocess
        import sys
        import urllib.request

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        here = Path(__file__).resolve().parent
        self.proc = subprocess.Popen(
            [sys.executable, str(here / "moto_latency.py"), str(port), str(delay_ms)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.endpoint_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far (Linux /proc), to show what is its."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _setup(folder: Path, delay_ms: float) -> tuple[_MotoProcess, list[str], str]:
    import boto3

    from mfa_tui.sandbox import seed_account, write_aws_files

    server = _MotoProcess(delay_ms)
    account = seed_account(server.endpoint_url)
    iam = boto3.client(
        "iam",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"AWS": f"arn:aws:iam::{account.account_id}:root"},
                }
            ],
        }
    )
    config, _ = write_aws_files(folder, account, server.endpoint_url)
    names = []
    with config.open("a") as fh:
        for i in range(ROLES):
            role = iam.create_role(RoleName=f"bench-{i}", AssumeRolePolicyDocument=trust)
            arn = role["Role"]["Arn"]
            names.append(f"bench-{i}")
            fh.write(
                f"\n[profile bench-{i}]\nsource_profile = test-user\nrole_arn = {arn}\n"
                f"endpoint_url = {server.endpoint_url}\nregion = us-east-1\n"
            )
    return server, names, account.users["test-user"].mfa_serial


class Measured(NamedTuple):
    one: list[float]  # seconds, one role refresh each
    fifty: list[float]  # seconds, 50 role refreshes at once each
    server_cpu: float  # the endpoint's CPU seconds for one batch of 50 (median)
    client_cpu: float  # ours, for one batch of 50 (median)


def measure(folder: Path, runs: int, delay_ms: float = 0.0) -> Measured:
    from mfa_tui.aws.files import AwsPaths
    from mfa_tui.core.codes import UsedCodes
    from mfa_tui.core.sessions import SessionService
    from mfa_tui.settings import Settings

    folder.mkdir(parents=True, exist_ok=True)
    os.environ["AWS_CONFIG_FILE"] = str(folder / "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(folder / "credentials")
    server, names, _ = _setup(folder, delay_ms)
    try:
        service = SessionService(
            paths=AwsPaths(folder / "config", folder / "credentials"),
            settings=Settings(),
            used_codes=UsedCodes(folder / "codes.json"),
            keyring_backend=object(),
        )
        service.refresh("test-user", code="123456")
        one: list[float] = []
        many: list[float] = []
        server_cpu: list[float] = []
        client_cpu: list[float] = []
        service.refresh_many(names, force=True)  # warm-up: imports, models, connections
        for _ in range(runs):
            start = time.perf_counter()
            service.refresh(names[0], force=True)
            one.append(time.perf_counter() - start)
            cpu, ours = server.cpu_seconds(), time.process_time()
            start = time.perf_counter()
            results = service.refresh_many(names, force=True)
            many.append(time.perf_counter() - start)
            server_cpu.append(server.cpu_seconds() - cpu)
            client_cpu.append(time.process_time() - ours)
            failed = [r.error for r in results if r.error is not None]
            assert not failed, failed[:1]
        return Measured(one, many, statistics.median(server_cpu), statistics.median(client_cpu))
    finally:
        server.stop()


if __name__ == "__main__":
    import sys
    import tempfile

    delay = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    with tempfile.TemporaryDirectory() as tmp:
        got = measure(Path(tmp), 3, delay)
    print(
        f"one {statistics.median(got.one) * 1000:.0f} ms, {ROLES} roles "
        f"{statistics.median(got.fifty) * 1000:.0f} ms; CPU for the {ROLES}: "
        f"moto {got.server_cpu * 1000:.0f} ms, ours {got.client_cpu * 1000:.0f} ms"
    )
