"""What the agent does with "session for PROFILE": the door's `serve`, for a caller who
cannot be asked itself.

UI-free. The dashboard passes its `PromptBroker`, so a request that needs a code is
shown in its one prompt for that device, which every caller of the device shares; the
daemon passes none, so a code it cannot get itself is a clear NeedsCodeError for the
caller. A caller that hangs up stops waiting (its prompt closes if it was the last).
Concurrent callers for one profile make one STS call: the door serialises them.
"""

from __future__ import annotations

import threading
from typing import Any

from mfa_tui.core.agent import SessionRequest
from mfa_tui.core.asking import PromptBroker
from mfa_tui.core.backend import Backend
from mfa_tui.core.codes import Cancelled
from mfa_tui.errors import NeedsCodeError


class AgentService:
    """Answers agent requests through `backend.serve`.

    Args:
        backend: the engine's door for faces.
        broker: the dashboard's prompts (None for the daemon: nobody to ask).
    """

    def __init__(self, backend: Backend, broker: PromptBroker | None = None) -> None:
        self.backend = backend
        self.broker = broker

    def handle(
        self, request: SessionRequest, gone: threading.Event | None = None
    ) -> dict[str, Any]:
        profile = request.profile
        asker = self.broker.asker(request.caller, profile) if self.broker is not None else None
        try:
            served = self.backend.serve(
                profile, min_valid=request.min_valid, asker=asker, cancel=gone
            )
        except Cancelled:
            raise NeedsCodeError(
                f"the MFA prompt for '{profile}' was cancelled in the dashboard"
            ) from None
        except NeedsCodeError as exc:
            if self.broker is not None:
                raise
            raise NeedsCodeError(
                f"'{profile}' needs an MFA code and the mfa-tui daemon cannot ask for one; "
                f"open the 'mfa-tui' dashboard, or run 'mfa-tui refresh {profile}'",
                request=exc.request,
            ) from None
        body = served.session.to_process_json()
        body.pop("Version", None)
        return {"credentials": body}
