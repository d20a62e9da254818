"""The app's side of the setup screen: each step it asks for, run in a thread worker.

`run_step` is what the app's worker runs for a `SetupScreen.Request`: it calls the
domain (`mfa_tui.core.setup`) and answers the screen with one reply message. Nothing
here touches a widget; `post_message` is safe from a thread.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from mfa_tui.errors import MfaTuiError

if TYPE_CHECKING:
    from textual.message import Message

    from mfa_tui.core.backend import Backend
    from mfa_tui.core.setup import MfaSetup, PendingDevice
    from mfa_tui.tui.screens.mfa_setup import SetupScreen


def run_step(backend: Backend, request: SetupScreen.Request) -> None:
    """Run one step; the screen gets the reply (a `Failed` for any MfaTuiError)."""
    from mfa_tui.tui.screens.mfa_setup import SetupScreen

    try:
        reply = _step(backend, request)
    except MfaTuiError as exc:
        setup, pending = request.setup, request.pending
        retry = bool(
            setup is not None
            and pending is not None
            and request.step == "enable"
            and setup.can_retry(exc)
        )
        reply = SetupScreen.Failed(exc.title, exc.message, retry=retry)
    request.screen.post_message(reply)


def _step(backend: Backend, request: SetupScreen.Request) -> Message:
    from mfa_tui.tui.screens.mfa_setup import SetupScreen, Step

    if request.step is Step.INSPECT:
        fresh = backend.mfa_setup(request.profile)
        fresh.check_local()
        return SetupScreen.Inspected(fresh, fresh.inspect())
    setup, target = request.setup, request.target
    assert setup is not None and target is not None
    if request.step is Step.CREATE:
        setup.check_local(store_seed=request.store_seed)
        return SetupScreen.Created(setup.create(target, request.device_name or None))
    if request.step is Step.USE:
        return SetupScreen.InUse(
            request.serial, setup.adopt(target, target.device(request.serial).serial)
        )
    pending = request.pending
    assert pending is not None
    if request.step is Step.ABANDON:
        return SetupScreen.Abandoned(setup.abandon(pending))
    codes = setup.codes_from_seed(pending) if request.store_seed else request.codes
    setup.enable(pending, *codes)
    seed = pending.seed if request.store_seed else None
    return SetupScreen.InUse(pending.serial, setup.adopt(target, pending.serial, seed=seed))


def abandon_quietly(setup: MfaSetup, pending: PendingDevice) -> None:
    """Delete an unfinished device when nobody is left to tell (the app is closing)."""
    # abandon says what went wrong in its answer; nobody is left to read it.
    with contextlib.suppress(MfaTuiError):
        setup.abandon(pending)
