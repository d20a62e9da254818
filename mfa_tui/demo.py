"""`mfa-tui demo`: the whole flow on a throw-away sandbox, no AWS account needed.

A moto server on 127.0.0.1 plays AWS. The sandbox — AWS config and credentials files,
settings, state, the agent socket and an in-memory keyring — lives in one temporary
folder, and every path mfa-tui could use (HOME, XDG dirs, AWS_* variables) points into
it, so the user's real ~/.aws, settings and keyring are never read or written. The
folder is removed on exit unless `--keep`.

`test-user` gets a TOTP seed in the (in-memory) keyring, so it refreshes silently;
`ops-user` has none, so the dashboard asks for its code, and the demo shows the code
its virtual device would display, as a hint in the prompt. `new-user` has keys and no
MFA device: `m` sets one up; its QR code, scanned by a phone, makes the codes the
sandbox accepts, and the hint shows them too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mfa_tui.aws.files import CREDENTIAL_VARIABLES
from mfa_tui.errors import MfaTuiError

# Variables that could lead mfa-tui (or botocore) to the user's real files or accounts.
_CLEARED = (
    *CREDENTIAL_VARIABLES,
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "PYTHON_KEYRING_BACKEND",
)


def memory_keyring() -> Any:
    """A keyring that lives and dies with the demo process."""
    from keyring.backend import KeyringBackend
    from keyring.errors import PasswordDeleteError

    class DemoKeyring(KeyringBackend):
        priority = 1

        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            self._store: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self._store.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self._store[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            if self._store.pop((service, username), None) is None:
                raise PasswordDeleteError(username)

    return DemoKeyring()


@dataclass
class DemoSandbox:
    folder: Path
    endpoint_url: str
    seeds: dict[str, str]  # MFA serial -> seed, for the hint; never written anywhere
    # The seed of a device made during the demo (`mfa-tui setup`), from the sandbox.
    seed_of: Callable[[str], str | None] | None = None

    def hint(self, serial: str) -> str | None:
        """What the visitor's phone would show for a device without a stored seed."""
        from mfa_tui.core.codes import totp_at

        seed = self.seeds.get(serial)
        if seed is None and self.seed_of is not None:
            seed = self.seed_of(serial)
        if seed is None:
            return None
        import time

        code, _ = totp_at(seed, time.time())
        return f"demo: the virtual device {serial.rsplit('/', 1)[-1]} shows {code} now"

    def remove(self) -> None:
        """Delete the throw-away folder (also what a forced exit still does)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _require_moto() -> None:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        raise MfaTuiError(
            "the demo needs its embedded AWS stand-in (moto[server]). From a clone of the "
            "repository run 'uv run mfa-tui demo', or install 'mfa-tui[demo]'",
            title="Demo not installed",
        ) from None


def point_env_at(folder: Path, environ: dict[str, str] | None = None) -> None:
    """Point every path mfa-tui and botocore use into the sandbox folder."""
    env = os.environ if environ is None else environ
    for name in _CLEARED:
        env.pop(name, None)
    home = folder / "home"
    home.mkdir(mode=0o700, exist_ok=True)
    env.update(
        HOME=str(home),
        AWS_CONFIG_FILE=str(folder / "aws" / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(folder / "aws" / "credentials"),
        MFA_TUI_CONFIG=str(folder / "mfa-tui.toml"),
        MFA_TUI_AGENT_DIR=str(folder / "run"),
        MFA_TUI_STATE_DIR=str(folder / "state"),
        XDG_CONFIG_HOME=str(folder / "xdg" / "config"),
        XDG_STATE_HOME=str(folder / "xdg" / "state"),
        XDG_DATA_HOME=str(folder / "xdg" / "data"),
        XDG_CACHE_HOME=str(folder / "xdg" / "cache"),
        XDG_RUNTIME_DIR=str(folder / "xdg" / "run"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    (folder / "xdg" / "run").mkdir(mode=0o700, parents=True, exist_ok=True)


def _exit_on_hangup() -> dict[int, Any]:
    """A closed terminal (SIGHUP) or a kill (SIGTERM) still removes the sandbox.

    By default either ends Python without running `finally`, which would leave the
    throw-away files behind; raising SystemExit in the main thread runs the clean-up
    below instead. That covers starting and stopping the sandbox: while the dashboard
    runs, it takes both signals itself (raising from inside it would leave Textual's
    input thread spinning on the dead terminal) and, when it must end the process at
    once, removes the sandbox first (`DemoSandbox.remove` as its last words).
    """
    import threading

    saved: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return saved

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    for signum in (signal.SIGHUP, signal.SIGTERM):
        saved[signum] = signal.signal(signum, leave)
    return saved


@contextlib.contextmanager
def demo_sandbox(keep: bool = False) -> Iterator[DemoSandbox]:
    """Start moto, seed the account, write the files, store one seed; clean up after."""
    _require_moto()
    import keyring

    from mfa_tui.sandbox import MotoServer, name_account, seed_account, write_aws_files

    folder = Path(tempfile.mkdtemp(prefix="mfa-tui-demo-"))
    saved_env = dict(os.environ)
    saved_ring = keyring.get_keyring()
    saved_signals = _exit_on_hangup()
    try:
        point_env_at(folder)
        with MotoServer() as server:
            server.reset()  # moto keeps its state per process, not per server
            account = seed_account(server.endpoint_url)
            name_account(server.endpoint_url, "sandbox-demo")
            # AWS checks each code against its device and takes it once; so does the demo.
            assert server.mfa is not None
            server.mfa.devices = {u.mfa_serial: u.seed for u in account.users.values()}
            write_aws_files(folder / "aws", account, server.endpoint_url)
            ring = memory_keyring()
            keyring.set_keyring(ring)
            test_user = account.users["test-user"]
            from mfa_tui.core.codes import SeedStore

            SeedStore(ring).set(test_user.mfa_serial, test_user.seed)
            hints = {u.mfa_serial: u.seed for n, u in account.users.items() if n != "test-user"}
            yield DemoSandbox(folder, server.endpoint_url, hints, server.mfa.seed_of)
    finally:
        for signum, handler in saved_signals.items():
            signal.signal(signum, handler)
        keyring.set_keyring(saved_ring)
        os.environ.clear()
        os.environ.update(saved_env)
        if keep:
            print(f"mfa-tui demo: sandbox kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
