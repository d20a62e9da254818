"""Command palette (ctrl+p): "Switch to" and "Refresh" each profile, "Set up MFA for" users."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher

from mfa_tui.aws.files import Kind

if TYPE_CHECKING:
    from mfa_tui.tui.app import MfaTuiApp

SETUP_HELP = "Create or choose an MFA device (QR code) for its access keys"
# Discovery (an empty query) lists at most this many, so 5,000 profiles stay snappy.
DISCOVER_LIMIT = 40


def highlighted(matcher: Matcher, text: str) -> Content:
    """`text` with the letters the query matched highlighted, as `Matcher.highlight`
    does, but never read as markup: a profile named `x[/]` is a name."""
    content = Content(text)
    _, offsets = matcher.fuzzy_search.match(matcher.query, text)
    for offset in offsets:
        if not text[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class ProfileCommands(Provider):
    """One switch and one refresh command per managed profile, fuzzy-matched."""

    def _commands(self) -> list[tuple[str, str, str, bool | None]]:
        app: MfaTuiApp = self.app  # type: ignore[assignment]
        out: list[tuple[str, str, str, bool | None]] = []
        for name in app.managed_profile_names():
            # The help lines are read as markup by the palette: no names in them.
            out.append((f"Switch to {name}", "Make its session the active one", name, True))
            out.append((f"Refresh {name}", "Get a new session for it now", name, False))
        users = (s.name for s in app.dashboard.statuses.values() if s.kind is Kind.USER)
        for name in sorted(users, key=str.casefold):
            out.append((f"Set up MFA for {name}", SETUP_HELP, name, None))
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
            yield DiscoveryHit(Content(text), partial(self._run, name, activate), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, name, activate in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(
                    score,
                    highlighted(matcher, text),
                    partial(self._run, name, activate),
                    help=help_text,
                )
