"""The command line: argparse, then one small module per subcommand.

Subcommand modules are imported only when chosen, so `mfa-tui credential-process`
(run before every AWS call that uses it) pays for neither boto3 nor Textual, and a
plain `mfa-tui list` not even for argparse (see `main`).
"""

from __future__ import annotations

import importlib
import os
import sys
from types import SimpleNamespace

from mfa_tui import __version__
from mfa_tui.errors import ExitCode, MfaTuiError

# Not typing.TYPE_CHECKING: `list` would pay for importing typing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

EXIT_CODES_HELP = """\
exit codes:
  0  ok
  1  anything else (a file could not be written, an unexpected problem)
  2  usage: bad arguments, unknown profile
  3  an MFA code is needed and none could be obtained without a person
  4  AWS refused: wrong MFA code, invalid or expired key, access denied
  5  network or endpoint problem: STS unreachable, timed out, garbled answer

files: AWS_CONFIG_FILE (default ~/.aws/config), AWS_SHARED_CREDENTIALS_FILE
(default ~/.aws/credentials), MFA_TUI_CONFIG (mfa-tui's own settings).
"""


def build_parser() -> argparse.ArgumentParser:
    import argparse

    # Here, not at the top: the commands that skip argparse (see `_PLAIN`) skip these too.
    from mfa_tui.completion import EXPORT_FORMATS
    from mfa_tui.status_line import DEFAULT_FORMAT as STATUS_FORMAT
    from mfa_tui.status_line import FIELDS as STATUS_FIELDS

    class _Parser(argparse.ArgumentParser):
        """argparse that fails with one line and exit 2, never a usage dump on stderr."""

        def error(self, message: str) -> None:  # type: ignore[override]
            self.exit(ExitCode.USAGE, f"mfa-tui: {message} (see 'mfa-tui --help')\n")

    parser = _Parser(
        prog="mfa-tui",
        description=(
            "Keep MFA-protected AWS sessions fresh. With no command, opens the dashboard."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"mfa-tui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("list", help="list every AWS profile, its kind and session state")
    p.add_argument("--json", action="store_true", help="print a JSON array (no secrets)")
    p.set_defaults(module="list_cmd")

    p = sub.add_parser(
        "refresh",
        help="get a fresh MFA session for a profile (or every due one)",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("profile", nargs="?", help="user or role profile")
    p.add_argument("--due", action="store_true", help="refresh every session inside its margin")
    p.add_argument("--code", help="the 6-digit MFA code (otherwise keyring, code_command, prompt)")
    p.add_argument("--duration", type=int, help="session length in seconds")
    p.add_argument("--force", action="store_true", help="refresh even if still valid")
    p.add_argument(
        "--save-serial",
        action="store_true",
        help="write a discovered MFA device into the config file as mfa_serial",
    )
    p.set_defaults(module="refresh")

    p = sub.add_parser(
        "use",
        help="make a profile's session the active one (what enter does in the dashboard)",
        description=(
            "Get PROFILE's session if it has less than its refresh margin left (silently\n"
            "when it can be, else asking for a code), then copy it into the active profile\n"
            "(mfa-tui), the one AWS_PROFILE=mfa-tui points every tool at."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("profile", help="a user or role profile")
    p.add_argument("--code", help="the 6-digit MFA code (otherwise keyring, code_command, prompt)")
    p.set_defaults(module="use")

    p = sub.add_parser(
        "exec",
        help="run a command (default: your shell) as a profile, credentials kept fresh",
        description=(
            "Run CMD (default: $SHELL) as PROFILE. Credentials reach it through a local\n"
            "container-credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI on 127.0.0.1,\n"
            "a random AWS_CONTAINER_AUTHORIZATION_TOKEN) that this process keeps answering\n"
            "with a fresh session for as long as CMD runs; its AWS tools never see the\n"
            "credentials file. MFA_TUI_PROFILE names the profile; AWS_REGION and\n"
            "AWS_DEFAULT_REGION come from it. The exit status is CMD's."
        ),
        epilog=EXIT_CODES_HELP + "  126, 127  CMD could not be run, or found (as a shell says)\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("profile", help="a user or role profile")
    p.add_argument(
        "--env",
        action="store_true",
        help="put the session's keys and AWS_CREDENTIAL_EXPIRATION in the environment "
        "instead (for tools that do not read the endpoint; they end with the session)",
    )
    p.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        metavar="-- CMD ARGS",
        help="the command and its arguments (default: $SHELL)",
    )
    p.set_defaults(module="exec")

    p = sub.add_parser(
        "console",
        help="open the AWS web console as a role (or print its sign-in URL)",
        description=(
            "Sign in to the AWS web console with PROFILE's role session, through AWS's\n"
            "federation endpoint (MFA_TUI_SIGNIN_URL overrides it), and open it in the\n"
            "browser; the console opens in the profile's region. A user's (GetSessionToken)\n"
            "session cannot sign in to the console: use one of its roles."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("profile", help="a role profile (or a session profile holding one)")
    p.add_argument(
        "--print",
        action="store_true",
        help="print the sign-in URL instead (valid 15 minutes; it signs in whoever has it)",
    )
    p.add_argument("--destination", metavar="URL", help="the console page to open")
    p.set_defaults(module="console")

    p = sub.add_parser(
        "export",
        help="print a session as shell variables or JSON (refreshed first when it can be)",
        description=(
            "Print PROFILE's session in a format of 'aws configure export-credentials', "
            "getting a fresh one first when less than 15 minutes are left (silently when "
            "it can be, else asking for a code). The shell formats add AWS_REGION and "
            "AWS_DEFAULT_REGION when the profile has a region."
        ),
    )
    p.add_argument("profile")
    p.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default="env",
        help="env (default), env-no-export, fish, powershell, windows-cmd, or process "
        "(credential_process JSON; 'json' is the same)",
    )
    p.set_defaults(module="export")

    p = sub.add_parser(
        "credential-process",
        help="credential_process JSON for a profile (for ~/.aws/config)",
    )
    p.add_argument("profile")
    p.set_defaults(module="credential_process")

    p = sub.add_parser(
        "status",
        help="one short line for a shell prompt or tmux: the active session, its time left",
        description=(
            "Print the session the shell is on (the exec'd profile inside 'mfa-tui exec', "
            "else the active profile) and its time left, marked '!' when its next renewal "
            "needs an MFA code. Prints nothing when there is no session."
        ),
        epilog="fields for --format:\n"
        + "".join(f"  {'{' + name + '}':<10} {what}\n" for name, what in STATUS_FIELDS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--format",
        default=STATUS_FORMAT,
        help=f"a template of the fields below (default: '{STATUS_FORMAT}')",
    )
    p.set_defaults(module="status")

    p = sub.add_parser("totp", help="manage the soft-token seed kept in the OS keyring")
    totp = p.add_subparsers(
        dest="totp_command", metavar="ACTION", required=True, parser_class=_Parser
    )
    for action, text in (
        ("set", "store a base32 seed (read from stdin or a hidden prompt, never argv)"),
        ("remove", "forget the seed"),
        ("code", "print the current code"),
    ):
        t = totp.add_parser(action, help=text)
        t.add_argument("profile")
        if action == "set":
            # Caught (and refused without echoing it) rather than left to argparse,
            # whose error would print the seed.
            t.add_argument("seed_in_argv", nargs="*", help=argparse.SUPPRESS)
        t.set_defaults(module="totp")

    p = sub.add_parser(
        "keys",
        help="long-term access keys: into the OS keyring and back, and rotation",
        description=(
            "Move a user's long-term access keys out of the credentials file into the OS "
            "keyring (import), back (restore), delete them from the keyring (remove), or "
            "replace them with a new key (rotate)."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    keys = p.add_subparsers(
        dest="keys_command", metavar="ACTION", required=True, parser_class=_Parser
    )
    k = keys.add_parser(
        "import", help="move a user's keys from the credentials file to the keyring"
    )
    k.add_argument("profile")
    k.add_argument("--keep", action="store_true", help="copy: leave them in the file too")
    k = keys.add_parser("restore", help="write a user's keys from the keyring back into the file")
    k.add_argument("profile")
    k.add_argument("--keep", action="store_true", help="keep them in the keyring too")
    k = keys.add_parser("remove", help="delete a user's keys from the keyring (asks first)")
    k.add_argument("profile")
    k.add_argument("--yes", action="store_true", help="do not ask (scripts)")
    k = keys.add_parser(
        "rotate",
        help="a new access key for the user, stored where the old one was; the old one deleted",
    )
    k.add_argument("profile")
    k.add_argument("--yes", action="store_true", help="do not ask before changing AWS (scripts)")
    k = keys.add_parser(
        "credential-process",
        help="the keys in the keyring as credential_process JSON (what an imported "
        "profile's credential_process line runs; never to a terminal)",
    )
    k.add_argument("profile", help="the keyring entry its credential_process line names")
    p.set_defaults(module="keys")

    p = sub.add_parser(
        "setup",
        help="give a user's access keys an MFA device (QR code), then require it",
        description=(
            "Create and enable a virtual MFA device for the IAM user of PROFILE (or use "
            "one it has), save mfa_serial in the config and get the first session. With "
            "--enforce, show (or with --apply, make) the change that makes its keys need "
            "MFA: AWS's self-managed MFA policy on the user, or a role that requires MFA."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("profile", help="a user profile with long-term access keys")
    p.add_argument("--device", metavar="SERIAL", help="use this existing MFA device of the user")
    p.add_argument("--device-name", metavar="NAME", help="name of a new virtual device")
    p.add_argument(
        "--store-seed",
        action="store_true",
        help="also keep the new device's seed in the OS keyring (see the warning it prints)",
    )
    p.add_argument("--yes", action="store_true", help="do not ask before changing AWS (scripts)")
    p.add_argument(
        "--enforce",
        nargs="+",
        metavar="METHOD",
        help="'user-policy' or 'role NAME': how the keys are made to need MFA (a dry run)",
    )
    p.add_argument("--apply", action="store_true", help="make the --enforce change in AWS")
    p.add_argument(
        "--attach-policy",
        action="append",
        metavar="ARN",
        help="with --enforce role: a managed policy for the role (repeatable)",
    )
    p.set_defaults(module="setup")

    p = sub.add_parser(
        "completion",
        help="print shell completion for subcommands and profile names",
        description=(
            'bash: eval "$(mfa-tui completion bash)" in ~/.bashrc; zsh: eval "$(mfa-tui '
            'completion zsh)" in ~/.zshrc after compinit; fish: mfa-tui completion fish > '
            "~/.config/fish/completions/mfa-tui.fish"
        ),
    )
    p.add_argument("shell", choices=("bash", "zsh", "fish"))
    p.set_defaults(module="completion")

    p = sub.add_parser(
        "doctor",
        help="check the AWS files, this computer and the keys; say what to fix",
        description=(
            "Check what the AWS CLI and SDKs would refuse or read otherwise in the AWS\n"
            "files (naming file and line), the files' modes, the keyring, this computer's\n"
            "clock against STS, and with each user's keys: are they valid, how old, when\n"
            "last used (with an MFA session at hand), and do they work without MFA.\n"
            "Changes nothing and asks for no code."
        ),
        epilog="exit codes:\n  0  nothing needs attention\n  1  something does\n  2  usage\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "profiles",
        nargs="*",
        metavar="PROFILE",
        help="ask AWS about these profiles' users only (default: every user with keys)",
    )
    scope = p.add_mutually_exclusive_group()
    scope.add_argument(
        "--offline", action="store_true", help="ask AWS nothing: files, file modes, keyring"
    )
    scope.add_argument(
        "--files", action="store_true", help="the AWS files alone (fast: for scripts and hooks)"
    )
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.set_defaults(module="doctor")

    p = sub.add_parser("daemon", help="refresh sessions in the background, headless")
    p.add_argument("--once", action="store_true", help="one pass, then exit")
    p.set_defaults(module="daemon")

    p = sub.add_parser("demo", help="the dashboard on an embedded sandbox (no AWS account)")
    p.add_argument("--keep", action="store_true", help="keep the sandbox folder on exit")
    p.set_defaults(module="demo")

    p = sub.add_parser("ui", help="open the dashboard (the default)")
    p.set_defaults(module="ui")
    return parser


# The commands people and scripts run most, as argparse would parse them: run without
# building the parser (argparse and what it pulls in cost a tenth of a 5,000-profile
# `list`). Their answers are the same bytes either way.
_DOCTOR_FILES = {"command": "doctor", "module": "doctor", "files": True, "offline": False}
_PLAIN = {
    ("list",): SimpleNamespace(command="list", module="list_cmd", json=False),
    ("list", "--json"): SimpleNamespace(command="list", module="list_cmd", json=True),
    # The file checks alone, run by editor hooks and pre-commit checks.
    ("doctor", "--files"): SimpleNamespace(**_DOCTOR_FILES, json=False, profiles=[]),
    ("doctor", "--files", "--json"): SimpleNamespace(**_DOCTOR_FILES, json=True, profiles=[]),
    ("doctor", "--json", "--files"): SimpleNamespace(**_DOCTOR_FILES, json=True, profiles=[]),
}


def main(argv: Sequence[str] | None = None) -> int:
    words = tuple(sys.argv[1:] if argv is None else argv)
    plain = _PLAIN.get(words)
    args = plain if plain is not None else build_parser().parse_args(words)
    return run_command(getattr(args, "module", None) or "ui", args)


def run_command(module_name: str, args: argparse.Namespace | SimpleNamespace) -> int:
    """Run one subcommand's module; its errors become one line and an exit code."""
    try:
        module = importlib.import_module(f"mfa_tui.commands.{module_name}")
        code: int = module.run(args)
        return code
    except MfaTuiError as exc:
        print(f"mfa-tui: {exc.message}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("mfa-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return int(ExitCode.OK)
    except Exception as exc:
        # The last line of defence: a bug still gets one line, not a traceback, unless
        # asked for. Secrets never travel in exception messages we raise.
        if os.environ.get("MFA_TUI_DEBUG"):
            raise
        print(
            f"mfa-tui: unexpected {type(exc).__name__}; this is a bug, please report it "
            "(set MFA_TUI_DEBUG=1 to see the details)",
            file=sys.stderr,
        )
        return int(ExitCode.ERROR)
