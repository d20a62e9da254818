"""The dashboard's event loop, whose blocking work never holds up quitting.

Textual runs thread workers in the event loop's default executor, and `asyncio.run`
joins every thread of that executor before it returns (and Python joins them again at
exit): one STS call or keyring look-up still in flight would keep the dashboard on
screen after `q`, for as long as the far end likes. So the dashboard runs on a loop of
its own whose executor's threads are daemons nobody joins. Quitting leaves at once;
whatever was still in flight is dropped with the process, its result unwanted (a write
cut short leaves the files whole: see docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class DaemonExecutor(ThreadPoolExecutor):
    """A bounded pool of daemon threads; `shutdown` never waits for them.

    A ThreadPoolExecutor only because asyncio takes no other kind as a loop's default;
    none of its own threads (which Python joins at exit) is ever started.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        super().__init__(max_workers)
        self._max = self._max_workers
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._daemons: list[threading.Thread] = []
        self._idle = 0  # threads waiting for a job
        self._waiting = 0  # jobs no thread has taken yet
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # the future carries it to whoever awaits it
                future.set_exception(exc)
            else:
                future.set_result(result)

        with self._lock:
            if self._closed:
                raise RuntimeError("the dashboard's executor is shut down")
            self._jobs.put(job)
            self._waiting += 1
            if self._waiting > self._idle and len(self._daemons) < self._max:
                thread = threading.Thread(
                    target=self._work, name=f"mfa-tui-worker-{len(self._daemons)}", daemon=True
                )
                self._daemons.append(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._jobs.get()
            with self._lock:
                self._idle -= 1
                if job is not None:
                    self._waiting -= 1
            if job is None:
                return
            job()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work; threads still busy are left to finish or die with the process."""
        with self._lock:
            self._closed = True
            threads = list(self._daemons)
        for _ in threads:
            self._jobs.put(None)


@contextlib.contextmanager
def leaving_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A new event loop with a `DaemonExecutor`, closed afterwards without waiting."""
    loop = asyncio.new_event_loop()
    loop.set_default_executor(DaemonExecutor())
    try:
        yield loop
    finally:
        with contextlib.suppress(RuntimeError):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()  # shuts the executor down with wait=False


def run_app(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`App.run(*args, **kwargs)` on a `leaving_loop`, unless a loop was given."""
    if "loop" in kwargs:
        return run(*args, **kwargs)
    with leaving_loop() as loop:
        return run(*args, loop=loop, **kwargs)
