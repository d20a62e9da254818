"""mfa-tui's benchmark harness: every speed figure README quotes, with its baseline.

Run: `uv run --group bench python bench/run.py` (about two minutes on two cores).

Machines are noisy and absolute times do not compare between runs, so each figure is
measured beside a baseline in the same run and reported as a ratio; each is the median
of several runs after a warm-up, with the spread (min–max). The markdown table goes to
stdout and to bench/results.md, which README's performance section shows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.generate import write as write_files  # noqa: E402

PYTHON = sys.executable
BIN = Path(PYTHON).parent


@dataclass
class Figure:
    name: str
    value: str
    baseline: str
    ratio: str
    target: str
    ok: bool | None


def _times(fn: Callable[[], object], runs: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _interleaved(fns: list[Callable[[], object]], runs: int) -> list[list[float]]:
    """Samples of each of `fns`, run in turn: a burst of load on a shared machine then
    slows every one of them, not only the one that happened to run during it."""
    for fn in fns:
        fn()  # warm-up
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, out in zip(fns, samples, strict=True):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return samples


def _paired(
    first: Callable[[], object], second: Callable[[], object], runs: int
) -> tuple[list[float], list[float]]:
    """`_interleaved` for two commands."""
    ones, twos = _interleaved([first, second], runs)
    return ones, twos


def _run(cmd: list[str], env: dict[str, str]) -> Callable[[], None]:
    def go() -> None:
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)

    return go


def _fmt(samples: list[float], unit: str = "ms") -> str:
    scale = 1000 if unit == "ms" else 1
    med = statistics.median(samples) * scale
    return f"{med:.1f} {unit} ({min(samples) * scale:.1f}–{max(samples) * scale:.1f})"


def _env(folder: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        AWS_CONFIG_FILE=str(folder / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(folder / "credentials"),
        MFA_TUI_CONFIG=str(folder / "mfa-tui.toml"),
        HOME=str(folder / "home"),
        XDG_STATE_HOME=str(folder / "state"),
        XDG_CACHE_HOME=str(folder / "cache"),
        XDG_RUNTIME_DIR=str(folder / "run"),
    )
    # An installed package runs from compiled bytecode; measure that, not a compile of
    # every module at every start (some shells and CI images set this).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    (folder / "home").mkdir(parents=True, exist_ok=True)
    return env


# What a settings file a person has used for a while looks like: a few keys, a few
# profiles of their own. The fast path reads and checks it on every answer.
SETTINGS = """\
# mfa-tui settings
session_profile_pattern = "{profile}-session"
user_refresh_margin = 900
code_command = "ykman oath accounts code -s aws"  # my YubiKey

[profiles."role-00000"]
duration = 3600
auto_refresh = false

[profiles."user-00001"]
session_profile = "user-00001-mine"
"""
# The cached answers come from the fast path on these systems (mfa_tui/locations.py);
# elsewhere (Windows) the full command answers every time.
FAST_PATH_SYSTEMS = "Linux, macOS"


def _check_fast_and_same(cmd: list[str], env: dict[str, str], name: str) -> None:
    """The figure is void unless the fast path answers, with the full command's bytes."""
    probe = f"from mfa_tui.fastpath import cached_answer; assert cached_answer({name!r})"
    subprocess.run([PYTHON, "-c", probe], env=env, check=True)
    fast = subprocess.run(cmd, env=env, capture_output=True, check=True).stdout
    full_env = {**env, "MFA_TUI_NO_FASTPATH": "1"}
    if subprocess.run(cmd, env=full_env, capture_output=True, check=True).stdout != fast:
        raise SystemExit("bench: the cached credential-process answer differs from the full one")


def bench_credential_process(work: Path, runs: int) -> list[Figure]:
    from mfa_tui.aws.credentials import write_section

    folder = work / "cp"
    write_files(folder, 60)
    expires = (datetime.now(UTC) + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for section in ("user-00000-mfa", "user-00000-session"):
        write_section(
            folder / "credentials",
            section,
            {
                "aws_access_key_id": "ASIABENCH",
                "aws_secret_access_key": "benchsecret",
                "aws_session_token": "benchtoken",
                "expiration": expires,
                "mfa_tui_source": "user-00000",
            },
        )
    cmd = [str(BIN / "mfa-tui"), "credential-process", "user-00000"]
    env = _env(folder)  # MFA_TUI_CONFIG names a file that does not exist
    settings = folder / "settings.toml"
    settings.write_text(SETTINGS)
    with_settings = {**env, "MFA_TUI_CONFIG": str(settings)}
    for case in (env, with_settings):
        _check_fast_and_same(cmd, case, "user-00000")
    base, plain, ours, full = _interleaved(
        [
            _run([PYTHON, "-c", "pass"], env),
            _run(cmd, env),
            _run(cmd, with_settings),
            _run(cmd, {**with_settings, "MFA_TUI_NO_FASTPATH": "1"}),
        ],
        runs,
    )
    baseline = f"`python -c pass` {_fmt(base)}"
    figures = []
    for name, samples in (
        (f"`credential-process`, session cached (fast path: {FAST_PATH_SYSTEMS})", plain),
        (
            "`credential-process`, session cached, with a settings file "
            f"(fast path: {FAST_PATH_SYSTEMS})",
            ours,
        ),
    ):
        ratio = statistics.median(samples) / statistics.median(base)
        figures.append(
            Figure(name, _fmt(samples), baseline, f"{ratio:.2f}×", "≤ 1.5×", ratio <= 1.5)
        )
    ratio = statistics.median(full) / statistics.median(base)
    figures.append(
        Figure(
            "`credential-process`, session cached, full command (Windows; `MFA_TUI_NO_FASTPATH=1`)",
            _fmt(full),
            baseline,
            f"{ratio:.2f}×",
            "-",
            None,
        )
    )
    return figures


def bench_status(work: Path, runs: int) -> list[Figure]:
    """`status` (a prompt's line) and a completion, each beside `python -c pass`."""
    from mfa_tui.aws.credentials import write_section

    folder = work / "status"
    write_files(folder, 60)
    expires = (datetime.now(UTC) + timedelta(minutes=42)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_section(
        folder / "credentials",
        "mfa-tui",
        {
            "aws_access_key_id": "ASIABENCH",
            "aws_secret_access_key": "benchsecret",
            "aws_session_token": "benchtoken",
            "expiration": expires,
            "mfa_tui_source": "role-00000",
        },
    )
    env = _env(folder)
    settings = folder / "settings.toml"
    settings.write_text(SETTINGS)
    with_settings = {**env, "MFA_TUI_CONFIG": str(settings)}
    status = [str(BIN / "mfa-tui"), "status"]
    complete = [str(BIN / "mfa-tui"), "__complete", "bash", "mfa-tui use role-0000"]
    for case in (env, with_settings):
        probe = "from mfa_tui.status_line import fast_facts; assert fast_facts()[0]"
        subprocess.run([PYTHON, "-c", probe], env=case, check=True)
        fast = subprocess.run(status, env=case, capture_output=True, check=True).stdout
        full_env = {**case, "MFA_TUI_NO_FASTPATH": "1"}
        if subprocess.run(status, env=full_env, capture_output=True, check=True).stdout != fast:
            raise SystemExit("bench: the fast status line differs from the full one")
        if not fast.startswith(b"role-00000 4"):
            raise SystemExit(f"bench: unexpected status line {fast!r}")
    answered = subprocess.run(complete, env=env, capture_output=True, check=True).stdout
    if b"role-00001" not in answered:
        raise SystemExit("bench: the completion did not answer")
    big = work / "status-5k"
    write_files(big, 5000)
    big_env = _env(big)
    base, plain, ours, completion, large, full = _interleaved(
        [
            _run([PYTHON, "-c", "pass"], env),
            _run(status, env),
            _run(status, with_settings),
            _run(complete, env),
            _run(complete, big_env),
            _run(status, {**with_settings, "MFA_TUI_NO_FASTPATH": "1"}),
        ],
        runs,
    )
    baseline = f"`python -c pass` {_fmt(base)}"
    figures = []
    for name, samples, target in (
        (f"`status`, a prompt's line (fast path: {FAST_PATH_SYSTEMS})", plain, 1.5),
        (f"`status`, with a settings file (fast path: {FAST_PATH_SYSTEMS})", ours, 1.5),
        ("completion of a profile name (bash, 60 profiles)", completion, 1.5),
        ("completion of a profile name (bash, 5,000 profiles)", large, None),
        ("`status`, full command (Windows; `MFA_TUI_NO_FASTPATH=1`)", full, None),
    ):
        ratio = statistics.median(samples) / statistics.median(base)
        figures.append(
            Figure(
                name,
                _fmt(samples),
                baseline,
                f"{ratio:.2f}×",
                f"≤ {target}×" if target else "-",
                ratio <= target if target else None,
            )
        )
    return figures


def bench_exec(work: Path, runs: int) -> list[Figure]:
    from bench.exec_endpoint import measure

    got = measure(work / "exec", runs, STS_LATENCY_MS)
    stored = statistics.median(got.stored)
    renewed, alone = statistics.median(got.renewed), statistics.median(got.assume_role)
    return [
        Figure(
            "`exec` endpoint's answer to the program's SDK, session stored "
            "(botocore's own fetcher, from inside the program)",
            _fmt(got.stored),
            "botocore waits up to 2 s for it",
            f"{stored / 2:.2%} of that",
            "≤ 50 ms",
            stored <= 0.050,
        ),
        Figure(
            f"same, the role renewed first (one AssumeRole; moto, {STS_LATENCY_MS} ms per STS "
            "call as over a network)",
            _fmt(got.renewed),
            f"that AssumeRole alone (boto3) {_fmt(got.assume_role)}",
            f"{renewed / alone:.2f}×",
            "≤ 1 s (botocore waits 2 s)",
            renewed <= 1.0,
        ),
    ]


def bench_list(work: Path, runs: int) -> list[Figure]:
    from mfa_tui import listing

    folder = work / "list"
    config, _ = write_files(folder, 5000)
    env = _env(folder)
    ours_cmd = [str(BIN / "mfa-tui"), "list", "--json"]
    run_ours = _run(ours_cmd, env)

    def after_an_edit() -> None:
        os.utime(config)  # as an editor's save does: the cached listing no longer fits
        run_ours()

    parse = (
        "import botocore.configloader as c;"
        f"c.raw_config_parse({str(folder / 'config')!r});"
        f"c.raw_config_parse({str(folder / 'credentials')!r})"
    )
    # Taken in turns, one of each: a machine that gets busier during the run weighs
    # on both sides of the ratio alike.
    cold, base = _paired(after_an_edit, _run([PYTHON, "-c", parse], env), runs)
    # `awsume` is a shell wrapper to be sourced; `awsumepy` is the program it runs.
    awsume = shutil.which("awsumepy", path=str(BIN)) or shutil.which("awsumepy")
    peer = _times(_run([awsume, "-l"], env), max(3, runs // 2)) if awsume else None

    # Files people list are not being edited that second: wait until these have been
    # still as long as the cache asks, then the warm-up run keeps the listing.
    settled = max(config.stat().st_mtime, config.stat().st_ctime) + listing.STILL_SECONDS
    time.sleep(max(0.0, settled + 0.1 - time.time()))
    warm = _times(run_ours, runs)
    if not (folder / "cache" / "mfa-tui" / listing.CACHE_NAME).exists():
        raise SystemExit("bench: the listing cache was not written; the warm figure is void")
    full = subprocess.run(
        ours_cmd, env={**env, "MFA_TUI_NO_FASTPATH": "1"}, capture_output=True, check=True
    ).stdout
    cached = subprocess.run(ours_cmd, env=env, capture_output=True, check=True).stdout
    if full != cached:
        raise SystemExit("bench: the cached listing differs from the full one")

    ratio = statistics.median(warm) / statistics.median(base)
    cold_ratio = statistics.median(cold) / statistics.median(base)
    figures = [
        Figure(
            "`list --json`, 5,000 profiles (files unchanged since the last list; "
            f"fast path: {FAST_PATH_SYSTEMS})",
            _fmt(warm),
            f"botocore parse {_fmt(base)}",
            f"{ratio:.2f}×",
            "≤ 0.6×",
            ratio <= 0.6,
        ),
        Figure(
            "`list --json`, 5,000 profiles, first run after an edit (full parse)",
            _fmt(cold),
            f"botocore parse {_fmt(base)}",
            f"{cold_ratio:.2f}×",
            "≤ 1.0×",
            cold_ratio <= 1.0,
        ),
    ]
    if peer is not None:
        speedup = statistics.median(peer) / statistics.median(warm)
        figures.append(
            Figure(
                "`list --json` vs `awsume -l`, 5,000 profiles (files unchanged)",
                _fmt(warm),
                f"`awsume -l` {_fmt(peer)}",
                f"{speedup:.1f}× faster "
                f"({statistics.median(peer) / statistics.median(cold):.1f}× after an edit)",
                "≥ 6× faster",
                speedup >= 6,
            )
        )
    else:
        figures.append(
            Figure(
                "`list --json` vs `awsume -l`",
                "-",
                "awsume not installed (uv run --group bench)",
                "-",
                "≥ 6× faster",
                None,
            )
        )
    return figures


def bench_write(work: Path, runs: int) -> Figure:
    from mfa_tui.aws import ini
    from mfa_tui.aws.credentials import write_section

    folder = work / "write"
    _, creds = write_files(folder, 5000)
    before = creds.read_bytes()
    counter = iter(range(10**6))

    def one() -> None:
        write_section(
            creds,
            "user-00042-mfa",
            {
                "aws_access_key_id": "ASIABENCH",
                "aws_secret_access_key": "benchsecret",
                "aws_session_token": f"token{next(counter)}",
                "expiration": "2030-01-01T00:00:00Z",
                "mfa_tui_source": "user-00042",
            },
        )

    before_doc = ini.parse_bytes(before, creds)
    first = before_doc.find("user-00042-mfa")[0]
    samples = _times(one, runs * 3)
    doc = ini.parse_bytes(creds.read_bytes(), creds)
    section = doc.find("user-00042-mfa")[0]
    # Every byte outside the rewritten section is the same, and it kept its place.
    lossless = (
        doc.lines[: section.start] == before_doc.lines[: first.start]
        and doc.lines[section.end :] == before_doc.lines[first.end :]
    )
    med = statistics.median(samples)
    return Figure(
        "write one session into a 5,000-profile file",
        _fmt(samples),
        "-",
        "lossless" if lossless else "LOST BYTES",
        "≤ 30 ms, lossless",
        med <= 0.030 and lossless,
    )


DOCTOR_PROFILES = 1000
DOCTOR_TARGET = 0.300  # seconds: the file checks alone, issue 18


def _doctor(cmd: list[str], env: dict[str, str], exit_code: int) -> Callable[[], None]:
    def go() -> None:
        done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=False)
        if done.returncode != exit_code:
            raise SystemExit(f"bench: doctor exited {done.returncode}, not {exit_code}")

    return go


def bench_doctor(work: Path, runs: int) -> list[Figure]:
    """`doctor --files`: every file check (lines, values, chains, programs, session
    names) at 1,000 profiles; once on clean files, once with a bad line, where doctor
    also asks botocore's own parser whether the AWS CLI can read the file at all."""
    clean = work / "doctor"
    config, _ = write_files(clean, DOCTOR_PROFILES)
    broken = work / "doctor-broken"
    shutil.copytree(clean, broken)
    text = (broken / "config").read_text()
    (broken / "config").write_text(text + "[profile team dev]\njust words\n")
    cmd = [str(BIN / "mfa-tui"), "doctor", "--files"]
    env, broken_env = _env(clean), _env(broken)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    if not out.endswith("Nothing needs attention.\n"):
        raise SystemExit(f"bench: doctor found problems in the generated files:\n{out}")
    parse = (
        "import botocore.configloader as c;"
        f"c.raw_config_parse({str(config)!r});"
        f"c.raw_config_parse({str(clean / 'credentials')!r})"
    )
    base, ok, bad = _interleaved(
        [_run([PYTHON, "-c", parse], env), _doctor(cmd, env, 0), _doctor(cmd, broken_env, 1)],
        runs,
    )
    baseline = f"botocore parse {_fmt(base)}"
    figures = []
    for name, samples in (
        (f"`doctor --files`, {DOCTOR_PROFILES:,} profiles, nothing wrong", ok),
        (f"`doctor --files`, {DOCTOR_PROFILES:,} profiles, a bad line (botocore asked too)", bad),
    ):
        med = statistics.median(samples)
        ratio = med / statistics.median(base)
        figures.append(
            Figure(name, _fmt(samples), baseline, f"{ratio:.2f}×", "≤ 300 ms", med <= DOCTOR_TARGET)
        )
    return figures


# The dashboard asks IAM for account aliases with the sessions it finds; the generated
# sessions are fake, and a benchmark calls no real endpoint: a closed local port.
NO_AWS = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "MFA_TUI_STS_ATTEMPTS": "1"}


def bench_filter(runs: int) -> Figure:
    from bench.filter_keys import KEYS, measure

    got = measure(5000, runs)
    p95s = [p95 for p95, _ in got]
    medians = [median for _, median in got]
    med = statistics.median(p95s)
    return Figure(
        f"dashboard filter, keystroke to updated screen, 5,000 profiles ({len(KEYS)} keys "
        "typed and erased, Textual pilot; p95 of each run)",
        f"p95 {_fmt(p95s)}, median {statistics.median(medians) * 1000:.1f} ms",
        "-",
        "-",
        "p95 ≤ 16 ms, no key lost",
        med <= 0.016,
    )


def _tmux(*args: str) -> str:
    out = subprocess.run(
        ["tmux", "-L", "mfa-bench", *args], check=False, capture_output=True, text=True
    )
    return out.stdout


def _launch_dashboard(folder: Path, env: dict[str, str]) -> int:
    _tmux("kill-server")
    env_args = [
        f"{k}={v}"
        for k, v in env.items()
        if k.startswith(("AWS_", "MFA_", "XDG_", "HOME", "PYTHON_KEYRING"))
    ]
    cmd = ["env", *env_args, str(BIN / "mfa-tui")]
    subprocess.run(
        ["tmux", "-L", "mfa-bench", "new-session", "-d", "-x", "200", "-y", "60", *cmd],
        check=True,
    )
    return int(_tmux("list-panes", "-F", "#{pane_pid}").strip() or 0)


def _wait_for(text: str, timeout: float) -> float | None:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if text in _tmux("capture-pane", "-p"):
            return time.perf_counter() - start
        time.sleep(0.01)
    return None


def _child_pid(pane_pid: int) -> int:
    # `env` execs mfa-tui, so the pane's process is the dashboard itself.
    return pane_pid


def bench_dashboard(work: Path, runs: int) -> list[Figure]:
    if not shutil.which("tmux"):
        return [Figure("dashboard", "-", "tmux not installed", "-", "-", None)]
    figures = []
    for profiles in (1000, 5000):
        folder = work / f"tui{profiles}"
        write_files(folder, profiles)
        env = _env(folder, **NO_AWS)
        tti: list[float] = []
        for _ in range(runs):
            start = time.perf_counter()
            _launch_dashboard(folder, env)
            seen = _wait_for("user-00000", 10)
            if seen is not None:
                tti.append(time.perf_counter() - start)
            _tmux("kill-server")
        med = statistics.median(tti) if tti else float("inf")
        figures.append(
            Figure(
                f"dashboard time-to-interactive, {profiles:,} profiles (tmux)",
                _fmt(tti) if tti else "never appeared",
                "-",
                "-",
                "≤ 1.0 s median",
                med <= 1.0,
            )
        )
    folder = work / "tui5000"
    env = _env(folder, **NO_AWS)
    pid = _child_pid(_launch_dashboard(folder, env))
    _wait_for("user-00000", 20)
    time.sleep(2)
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    # A few windows, as one can catch a burst (a file poll, a garbage collection).
    windows = []
    for _ in range(3):
        c0, t0 = cpu(), time.perf_counter()
        time.sleep(8)
        windows.append((cpu() - c0) / (time.perf_counter() - t0) * 100)
    idle = statistics.median(windows)
    rss_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            rss_kb = int(line.split()[1])
    _tmux("kill-server")
    figures.append(
        Figure(
            "dashboard idle CPU, 5,000 profiles, countdowns ticking",
            f"{idle:.1f} % ({min(windows):.1f}–{max(windows):.1f}, 3 × 8 s)",
            "-",
            "-",
            "≤ 3 % of one core",
            idle <= 3,
        )
    )
    figures.append(
        Figure(
            "dashboard peak RSS, 5,000 profiles",
            f"{rss_kb / 1024:.0f} MB",
            "-",
            "-",
            "≤ 150 MB",
            rss_kb / 1024 <= 150,
        )
    )
    return figures


# A real AssumeRole waits 50-150 ms on the network and in AWS; moto on loopback only
# burns CPU. The figure is measured with the low end of that put back in front of moto's
# STS (bench/moto_latency.py), and again on bare loopback to show what is CPU.
STS_LATENCY_MS = 50


def bench_role_refresh(work: Path, runs: int) -> list[Figure]:
    from bench.refresh import ROLES, measure

    figures = []
    for delay in (STS_LATENCY_MS, 0):
        got = measure(work / f"refresh-{delay}", runs, delay)
        one, fifty = statistics.median(got.one), statistics.median(got.fifty)
        ratio = fifty / one
        if delay:
            figures.append(
                Figure(
                    f"refresh {ROLES} role sessions from one user session "
                    f"(moto, {delay} ms per STS call as over a network)",
                    _fmt(got.fifty),
                    f"one role refresh {_fmt(got.one)}",
                    f"{ratio:.2f}×",
                    "≤ 4×",
                    ratio <= 4,
                )
            )
        else:
            # On loopback the ratio is CPU: moto's own CPU for the batch, already
            # several times one whole refresh, sets a floor no client can go under.
            figures.append(
                Figure(
                    f"same, moto on bare loopback (CPU only: moto used "
                    f"{got.server_cpu * 1000:.0f} ms = {got.server_cpu / one:.1f}× one "
                    f"refresh, mfa-tui {got.client_cpu * 1000 / ROLES:.1f} ms a role)",
                    _fmt(got.fifty),
                    f"one role refresh {_fmt(got.one)}",
                    f"{ratio:.2f}×",
                    "-",
                    None,
                )
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--only", help="comma-separated: cp,status,exec,list,write,doctor,tui,refresh"
    )
    args = parser.parse_args()
    every = {"cp", "status", "exec", "list", "write", "doctor", "tui", "refresh"}
    only = set(args.only.split(",")) if args.only else every
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="mfa-tui-bench-") as tmp:
        work = Path(tmp)
        if "cp" in only:
            figures.extend(bench_credential_process(work, args.runs))
        if "status" in only:
            figures.extend(bench_status(work, args.runs))
        if "exec" in only:
            figures.extend(bench_exec(work, args.runs))
        if "list" in only:
            figures.extend(bench_list(work, args.runs))
        if "write" in only:
            figures.append(bench_write(work, args.runs))
        if "doctor" in only:
            figures.extend(bench_doctor(work, args.runs))
        if "refresh" in only:
            figures.extend(bench_role_refresh(work, max(3, args.runs // 2)))
        if "tui" in only:
            figures.append(bench_filter(max(3, args.runs // 2)))
            figures.extend(bench_dashboard(work, max(3, args.runs // 2)))
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}; median (min–max) of {args.runs} runs after a warm-up.",
        "",
        "| figure | mfa-tui | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        met = "—" if f.ok is None else ("yes" if f.ok else "**no**")
        lines.append(f"| {f.name} | {f.value} | {f.baseline} | {f.ratio} | {f.target} | {met} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if not args.only:
        (HERE / "results.md").write_text(table)


if __name__ == "__main__":
    main()
