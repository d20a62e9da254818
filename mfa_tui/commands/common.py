"""Small helpers the subcommands share: loading the world and naming profiles."""

from __future__ import annotations

import sys

from mfa_tui.aws.files import Profile, ProfileSet, load_profiles
from mfa_tui.errors import MfaTuiError, UsageError
from mfa_tui.listing import WARNING
from mfa_tui.settings import Settings, load_settings

# Not typing.TYPE_CHECKING: the full `list` would pay for importing typing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from mfa_tui.core.asking import Asker


def load_world() -> tuple[ProfileSet, Settings]:
    """Settings and profiles; file problems go to stderr once, not as a failure."""
    settings = load_settings()
    profile_set = load_profiles()
    for problem in profile_set.problems:
        print(WARNING.format(problem), file=sys.stderr)
    return profile_set, settings


def say(text: str) -> None:
    """A line on stderr for the person waiting (what mfa-tui is doing, not a problem)."""
    print(f"mfa-tui: {text}", file=sys.stderr, flush=True)


def say_waits(asker: Asker) -> Asker:
    """`asker`, telling stderr when the engine waits for the next code step (a person
    at a command that seems to hang for up to 30 s should know why)."""
    asker.on_wait = lambda _until, text: say(text)
    return asker


def require_profile(profile_set: ProfileSet, name: str | None) -> Profile:
    if not name:
        raise UsageError("name a profile (see 'mfa-tui list')")
    profile = profile_set.get(name)
    if profile is None:
        where = f"{profile_set.paths.config} or {profile_set.paths.credentials}"
        if not profile_set.profiles:
            raise UsageError(
                f"unknown profile '{name}': there is no profile in {where} yet; "
                "'aws configure --profile NAME' makes one ('mfa-tui demo' tries mfa-tui "
                "without an AWS account)"
            )
        known = ", ".join(sorted(profile_set.profiles)[:8])
        raise UsageError(
            f"unknown profile '{name}' in {where} (known: {known}; 'mfa-tui list' shows all)"
        )
    return profile


def require_hangup_signal(face: str) -> None:
    """Refuse, in words, to open `face` (the dashboard) where it could only crash.

    The dashboard leaves cleanly on SIGHUP and SIGTERM (tui/app.py), and Python on
    Windows has no SIGHUP; the commands that need no terminal UI work there.
    """
    import signal

    if not hasattr(signal, "SIGHUP"):
        raise MfaTuiError(
            f"{face} does not run on Windows yet (it needs POSIX signals); 'mfa-tui list', "
            "'refresh', 'export', 'credential-process', 'totp' and 'daemon' do. Under WSL "
            "everything works as on Linux"
        )


def terminal_or_agent(settings: Settings, caller: str) -> Asker:
    """Who a command asks for an MFA code: the person at this terminal (a hidden
    prompt), else, with no terminal (a script, a tool), the running dashboard."""
    from mfa_tui.commands.refresh import prompt_for_code
    from mfa_tui.core.asking import AgentAsker, PromptAsker

    if sys.stdin.isatty():
        return say_waits(PromptAsker(prompt_for_code))
    return say_waits(
        AgentAsker(
            caller,
            settings.agent_wait,
            hint="; or keep 'mfa-tui' open in a terminal: it asks for the code when a "
            "command needs one",
        )
    )
