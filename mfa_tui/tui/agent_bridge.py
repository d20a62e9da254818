"""The dashboard as the refresh agent: tools that need a code ask the person here.

A `credential-process` run by terraform or an IDE cannot prompt. While the dashboard is
open it listens on the agent socket, and the agent serves each request through the
engine's door with the dashboard's PromptBroker as the one who is asked: a request that
needs a code joins (or opens) that device's prompt, and the broker's listener posts
messages to the app. No agent thread touches a widget or an app member.
"""

from __future__ import annotations

from mfa_tui.core.agent import AgentServer
from mfa_tui.core.agent_service import AgentService
from mfa_tui.core.asking import PromptBroker
from mfa_tui.core.backend import Backend
from mfa_tui.errors import MfaTuiError


class AgentBridge:
    """Starts and stops the agent for the dashboard."""

    def __init__(self, backend: Backend, broker: PromptBroker) -> None:
        self.broker = broker
        self.service = AgentService(backend, broker)
        self.server: AgentServer | None = None

    def start(self) -> str | None:
        """Listen; returns why not when the agent cannot start (another one runs...)."""
        server = AgentServer(self.service.handle)
        try:
            server.start()
        except (MfaTuiError, OSError) as exc:
            return str(exc)
        self.server = server
        return None

    def stop(self) -> None:
        """Stop listening; callers still waiting for a code are told at once."""
        self.broker.cancel_all()
        if self.server is not None:
            self.server.stop()
            self.server = None
