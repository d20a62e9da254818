"""Command palette (ctrl+p): "Switch to" and "Refresh" each profile, "Set up MFA for" users."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from mfa_tui.aws.files import Kind

if TYPE_CHECKING:
    from mfa_tui.tui.app import MfaTuiApp

SETUP_HELP = "Create or choose an MFA device (QR code) for"
# Discovery (an empty query) lists at most this many, so 5,000 profiles stay snappy.
DISCOVER_LIMIT = 40


class ProfileCommands(Provider):
    """One switch and one refresh command per managed profile, fuzzy-matched."""

    def _commands(self) -> list[tuple[str, str, str, bool | None]]:
        app: MfaTuiApp = self.app  # type: ignore[assignment]
        out: list[tuple[str, str, str, bool | None]] = []
        for name in app.managed_profile_names():
            out.append((f"Switch to {name}", f"Make {name}'s session active", name, True))
            out.append((f"Refresh {name}", f"Get a new session for {name} now", name, False))
        users = (s.name for s in app.dashboard.statuses.values() if s.kind is Kind.USER)
        for name in sorted(users, key=str.casefold):
            out.append((f"Set up MFA for {name}", f"{SETUP_HELP} {name}'s access keys", name, None))
        return out

    def _run(self, name: str, activate: bool | None) -> None:
        app: MfaTuiApp = self.app  # type: ignore[assignment]
        if activate is None:
            app.action_setup(name)
        elif activate:
            app.switch_to(name)
        else:
            app.refresh_profile(name, force=True)

    async def discover(self) -> Hits:
        for text, help_text, name, activate in self._commands()[:DISCOVER_LIMIT]:
            yield DiscoveryHit(text, partial(self._run, name, activate), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, name, activate in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(text),
                    partial(self._run, name, activate),
                    help=help_text,
                )
