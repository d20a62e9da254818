"""Small helpers the subcommands share: loading the world and naming profiles."""

from __future__ import annotations

import sys

from mfa_tui.aws.files import Profile, ProfileSet, load_profiles
from mfa_tui.errors import UsageError
from mfa_tui.listing import WARNING
from mfa_tui.settings import Settings, load_settings


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


def require_profile(profile_set: ProfileSet, name: str | None) -> Profile:
    if not name:
        raise UsageError("name a profile (see 'mfa-tui list')")
    profile = profile_set.get(name)
    if profile is None:
        known = ", ".join(sorted(profile_set.profiles)[:8]) or "none"
        raise UsageError(
            f"unknown profile '{name}' in {profile_set.paths.config} or "
            f"{profile_set.paths.credentials} (known: {known})"
        )
    return profile
