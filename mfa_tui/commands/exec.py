"""`mfa-tui exec PROFILE [-- CMD ARGS...]`: run a program (default: your shell) as PROFILE.

The program gets no keys in its environment. It gets a local container-credentials
endpoint instead (`AWS_CONTAINER_CREDENTIALS_FULL_URI` on 127.0.0.1 and a random
`AWS_CONTAINER_AUTHORIZATION_TOKEN`), which every AWS SDK and the AWS CLI read, and
which this process answers through the engine's door for as long as the program runs
(core/keeper.py): a terraform run longer than the role's hour keeps working, and a code
needed on the way is asked in the running dashboard, else on this terminal. `--env`
puts the session's keys and AWS_CREDENTIAL_EXPIRATION in the environment instead, for
tools that read only those (they stop working when the session ends).

Either way the program's AWS tools do not see the credentials file, where the
long-term keys are (`AWS_SHARED_CREDENTIALS_FILE` points at an empty file; a `[default]`
with keys would otherwise win over the endpoint), nor the caller's AWS_PROFILE or keys.
mfa-tui inside still finds the file (MFA_TUI_CREDENTIALS_FILE), and `MFA_TUI_PROFILE`
names the profile, for a prompt (`mfa-tui status` shows it). AWS_REGION and
AWS_DEFAULT_REGION come from the profile. The exit status is the program's (128+N when
signal N ended it; 127 when it cannot be found, 126 when it cannot be run, as a shell
says).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mfa_tui.aws.files import (
    CREDENTIAL_VARIABLES,
    AwsPaths,
    Profile,
    ProfileSet,
    config_values,
)
from mfa_tui.commands.common import load_world, require_profile, say_waits, terminal_or_agent
from mfa_tui.commands.export import render
from mfa_tui.core.store import StoredSession
from mfa_tui.errors import CodeRequest, MfaTuiError, UsageError
from mfa_tui.fastpath import MIN_SERVE_SECONDS
from mfa_tui.locations import CREDENTIALS_VARIABLE
from mfa_tui.status_line import PROFILE_VARIABLE

# What the caller's environment may hold that would make the program something other
# than PROFILE, or point it at other credentials: never passed on.
STRIPPED = (
    *CREDENTIAL_VARIABLES,
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_CREDENTIAL_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
)
# Keys that give a config-file [default] credentials of its own: the SDKs would use
# those before the endpoint (the default profile comes before the container provider).
DEFAULT_CREDENTIAL_KEYS = (
    "aws_access_key_id",
    "role_arn",
    "credential_process",
    "sso_session",
    "sso_start_url",
    "web_identity_token_file",
)
NOT_FOUND = 127
NOT_EXECUTABLE = 126


def child_environment(
    base: Mapping[str, str],
    profile: Profile,
    paths: AwsPaths,
    *,
    endpoint: Mapping[str, str] | None = None,
    session: StoredSession | None = None,
) -> dict[str, str]:
    """The program's environment: `base` without other credentials, with the endpoint's
    variables (or, for --env, the session's keys), the region and MFA_TUI_PROFILE."""
    env = {k: v for k, v in base.items() if k not in STRIPPED}
    env[PROFILE_VARIABLE] = profile.name
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env[CREDENTIALS_VARIABLE] = str(paths.credentials)
    if profile.region:
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = profile.region
    if endpoint is not None:
        env.update(endpoint)
    if session is not None:
        for line in render(session, "env-no-export").splitlines():
            name, _, value = line.partition("=")
            env[name] = value
    return env


def check_default_profile(profile_set: ProfileSet, name: str) -> None:
    """Refuse, before anything runs, a config-file [default] that would win over the
    endpoint: the program would not run as `name`."""
    values = config_values(profile_set, "default")
    found = [k for k in DEFAULT_CREDENTIAL_KEYS if values.get(k)]
    if found:
        raise UsageError(
            f"[default] in {profile_set.paths.config} has credentials of its own "
            f"({found[0]}), which the AWS tools use before mfa-tui's endpoint: the "
            f"program would not run as '{name}'. Move them to a named profile, or use "
            "'mfa-tui exec --env' (keys in the environment come first)"
        )


def resolve(argv: list[str], env: Mapping[str, str]) -> str:
    """The program to run, found on the child's PATH; exit 127/126 as a shell would."""
    command = argv[0]
    found = shutil.which(command, path=env.get("PATH", os.defpath))
    if found is not None:
        return found
    if os.sep in command and Path(command).exists():
        raise ExecFailed(f"{command}: permission denied", NOT_EXECUTABLE)
    raise ExecFailed(f"{command}: command not found", NOT_FOUND)


class ExecFailed(MfaTuiError):
    """The program could not be started: a shell's exit status for it."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class TerminalPrompt:
    """Asks for a code on the controlling terminal (/dev/tty), which the program shares:
    the question starts on a line of its own. `restore` puts the terminal back if the
    program ends while the question is open (getpass turned echo off)."""

    def __init__(self) -> None:
        self.saved: Any = None
        self.open = False
        with contextlib.suppress(ImportError, OSError):
            import termios

            with open("/dev/tty", "rb") as tty:
                self.saved = termios.tcgetattr(tty.fileno())

    def __call__(self, request: CodeRequest) -> str | None:
        from mfa_tui.commands.refresh import prompt_for_code

        if self.saved is None:
            return None  # no terminal: nobody to ask here
        self.open = True
        try:
            with open("/dev/tty", "w") as tty:
                tty.write(f"\nmfa-tui exec: {request.profile}'s session needs a new MFA code\n")
            return prompt_for_code(request, terminal=True)
        finally:
            self.open = False

    def restore(self) -> None:
        if not self.open or self.saved is None:
            return
        with contextlib.suppress(ImportError, OSError):
            import termios

            with open("/dev/tty", "rb") as tty:
                termios.tcsetattr(tty.fileno(), termios.TCSANOW, self.saved)


def _report(line: str) -> None:
    print(f"mfa-tui exec: {line}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _signals_to(child: subprocess.Popen[bytes]) -> Iterator[None]:
    """While the program runs: the terminal's ctrl+c and ctrl+\\ are the program's alone
    (it gets them too, from the terminal); SIGTERM and SIGHUP sent to exec reach it."""
    previous: list[tuple[int, Any]] = []

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    for name, handler in (
        ("SIGINT", signal.SIG_IGN),
        ("SIGQUIT", signal.SIG_IGN),
        ("SIGTERM", forward),
        ("SIGHUP", forward),
    ):
        signum = getattr(signal, name, None)
        if signum is not None:
            previous.append((signum, signal.signal(signum, handler)))
    try:
        yield
    finally:
        for signum, handler in previous:
            signal.signal(signum, handler)


def _status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def run(args: argparse.Namespace) -> int:
    if os.environ.get(PROFILE_VARIABLE):
        raise UsageError(
            f"already inside 'mfa-tui exec {os.environ[PROFILE_VARIABLE]}' "
            f"({PROFILE_VARIABLE} is set): exit it first, or unset {PROFILE_VARIABLE} "
            "to run one inside it"
        )
    argv = list(args.command or [])
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        argv = [os.environ.get("SHELL") or os.environ.get("COMSPEC") or "/bin/sh"]
    profile_set, settings = load_world()
    profile = require_profile(profile_set, args.profile)
    if not args.env:
        check_default_profile(profile_set, profile.name)
    from mfa_tui.core.asking import AgentAsker
    from mfa_tui.core.sessions import SessionService

    # First, before the program has the terminal: a code is asked here, as `use` does.
    service = SessionService(settings=settings)
    served = service.serve(
        profile.name,
        min_valid=MIN_SERVE_SECONDS,
        asker=terminal_or_agent(settings, "mfa-tui exec"),
    )
    try:
        if args.env:
            env = child_environment(os.environ, profile, service.paths, session=served.session)
            return _run(argv, env, None)
        prompt = TerminalPrompt()
        asker = say_waits(
            AgentAsker(
                f"mfa-tui exec {argv[0]}",
                settings.agent_wait,
                hint="; keep 'mfa-tui' open: it asks for the code when 'mfa-tui exec' needs one",
                prompt=prompt,
            )
        )
        from mfa_tui.core.container_endpoint import CredentialsEndpoint
        from mfa_tui.core.keeper import SessionKeeper

        keeper = SessionKeeper(service, profile.name, asker, _report)
        with CredentialsEndpoint(keeper.answer) as endpoint:
            env = child_environment(
                os.environ, profile, service.paths, endpoint=endpoint.environment()
            )
            keeper.start()
            try:
                return _run(argv, env, prompt)
            finally:
                keeper.stop()
    except ExecFailed as exc:
        print(f"mfa-tui: exec: {exc.message}", file=sys.stderr)
        return exc.status


def _run(argv: list[str], env: dict[str, str], prompt: TerminalPrompt | None) -> int:
    path = resolve(argv, env)
    sys.stdout.flush()
    sys.stderr.flush()
    if prompt is None and hasattr(os, "execve") and sys.platform != "win32":
        # --env: nothing to serve, so the program takes this process's place.
        try:
            os.execve(path, argv, env)  # noqa: S606 - argv is the person's own command
        except OSError as exc:
            raise ExecFailed(f"{argv[0]}: {exc.strerror}", NOT_EXECUTABLE) from None
    try:
        child = subprocess.Popen(argv, env=env, executable=path)
    except OSError as exc:
        raise ExecFailed(f"{argv[0]}: {exc.strerror}", NOT_EXECUTABLE) from None
    try:
        with _signals_to(child):
            returncode = child.wait()
    finally:
        if prompt is not None:
            prompt.restore()
    return _status(returncode)


__all__ = ["ExecFailed", "child_environment", "run"]
