"""A programmable stand-in for AWS's STS refusals, in front of the moto server.

moto accepts any MFA code and enforces no limits, so the tests that need AWS's real
answers (a wrong code, an expired token, throttling, a 500, garbage, a slow or closed
endpoint, a skewed `Date`) point the profile's `endpoint_url` at this proxy and queue
the answers they want; everything else passes through to moto. Every request is
recorded (action and form parameters) so tests can assert what was, or was not, sent.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

INVALID_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
CHAINED_LIMIT = (
    "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
    "role chaining."
)
ROLE_MAX = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."


@dataclass
class Fault:
    """One programmed answer. `action` limits it to one STS action (None: any)."""

    status: int = 400
    code: str = ""
    message: str = ""
    body: bytes | None = None  # raw body instead of an AWS error document
    delay: float = 0.0
    action: str | None = None
    passthrough: bool = False  # after `delay`, forward to moto


def error(code: str, message: str, status: int = 400, action: str | None = None) -> Fault:
    return Fault(status=status, code=code, message=message, action=action)


def invalid_code(action: str | None = None) -> Fault:
    return error("AccessDenied", INVALID_CODE, 403, action)


def _error_xml(code: str, message: str) -> bytes:
    kind = "Receiver" if code.startswith("Internal") else "Sender"
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>4d1a5b6c-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
    ).encode()


@dataclass
class Recorded:
    action: str
    params: dict[str, str]


@dataclass
class StsFaultServer:
    upstream: str
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    date_header: str | None = None
    always: Fault | None = None
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def queue(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def actions(self) -> list[str]:
        return [r.action for r in self.requests]

    def calls(self, action: str) -> list[dict[str, str]]:
        return [r.params for r in self.requests if r.action == action]

    def _next_fault(self, action: str) -> Fault | None:
        if self.always is not None and self.always.action in (None, action):
            return self.always
        for fault in list(self.faults):
            if fault.action in (None, action):
                self.faults.remove(fault)
                return fault
        return None

    def start(self) -> StsFaultServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                params = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
                action = params.get("Action", "")
                owner.requests.append(Recorded(action, params))
                fault = owner._next_fault(action)
                if fault is not None and fault.delay:
                    time.sleep(fault.delay)
                if fault is not None and not fault.passthrough:
                    payload = (
                        fault.body
                        if fault.body is not None
                        else _error_xml(fault.code, fault.message)
                    )
                    self._send(fault.status, payload, "text/xml")
                    return
                self._forward(body)

            def _forward(self, body: bytes) -> None:
                request = urllib.request.Request(
                    owner.upstream + self.path,
                    data=body,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                    method="POST",
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        self._send(answer.status, answer.read(), answer.headers.get("Content-Type"))
                except urllib.error.HTTPError as exc:
                    self._send(exc.code, exc.read(), exc.headers.get("Content-Type"))

            def _send(self, status: int, payload: bytes, content_type: str | None) -> None:
                try:
                    self.send_response(status)
                    if owner.date_header:
                        self.send_header("Date", owner.date_header)
                    self.send_header("Content-Type", content_type or "text/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def date_time_string(self, timestamp: float | None = None) -> str:
                return owner.date_header or super().date_time_string(timestamp)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StsFaultServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
