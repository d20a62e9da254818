"""A programmable stand-in for AWS's STS refusals, in front of the moto server.

Why: moto accepts any MFA code and enforces no limits (see the facts below), so tests
that need AWS's real answers -- a wrong code or serial, an expired or unknown token,
throttling, a duration over the limit, a 500, garbage, a slow or dropped connection, a
skewed `Date` -- point the profile's `endpoint_url` at this proxy and program the
answers they want; everything else passes through to moto. Every request is recorded
(action, form parameters, signing key) so tests can assert what was, or was not, sent.

Protocol: botocore 1.44's STS model speaks only the AWS Query protocol (metadata
`protocols == ["query"]`): POST `/`, `Content-Type: application/x-www-form-urlencoded;
charset=utf-8`, body `Action=GetSessionToken&Version=2011-06-15&...`; errors are
`<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
botocore's query parser reads Code, Message and RequestId from that document.
(Should STS move to JSON/rpc-v2 one day, the action is also taken from `X-Amz-Target`.)

A `trickle` fault sends moto's answer a byte at a time; `trickles_cut` counts those the
client cut off (a connection shut mid-answer), so a test can see a call was dropped.

Programming: `queue(...)` answers in order (a fault with `action=` waits for that
action; others pass it by); when nothing queued fits, `always` answers if set, else
the request goes to moto. `date_header` (or a fault's `date`) sets `Date` for clock-skew
tests. botocore retries throttling, 5xx and dropped connections (legacy mode: up to 5
attempts), so tests asserting counts should pin `retries={"total_max_attempts": 1}`.

moto 5.2.5 facts (checked with boto3 against the sandbox; pinned in tests/test_sandbox.py):
* TokenCode and SerialNumber are not validated at all: any 6 digits, an unknown serial,
  or none at all succeed. Only botocore's client-side checks apply (TokenCode exactly
  6 chars, DurationSeconds >= 900), raising ParamValidationError before any request.
* No duration limits: GetSessionToken takes DurationSeconds beyond AWS's 129600;
  AssumeRole ignores the role's MaxSessionDuration (7200 on my-test-role) and the
  one-hour role-chaining cap. Trust policies (the MFA condition) are not evaluated, and
  a role that does not exist can be "assumed".
* Expiration = now + DurationSeconds (UTC, parsed by botocore to an aware datetime);
  defaults 43200 s for GetSessionToken and 3600 s for AssumeRole, like AWS.
* GetSessionToken always returns the same fixed AKIAIOSFODNN7EXAMPLE keys and token;
  AssumeRole returns fresh ASIA... keys each time.
* GetCallerIdentity with session credentials answers, but as moto's default identity
  (arn:aws:sts::123456789012:user/moto); with role credentials it names the role.

AWS's wording, from captured aws-cli output (assumption where noted):
* wrong code: AccessDenied, 403, "MultiFactorAuthentication failed with invalid MFA one
  time pass code. " (trailing space included, as AWS sends it);
* serial not valid or not this user's: AccessDenied, 403, "MultiFactorAuthentication
  failed, unable to validate MFA code.  Please verify your MFA serial number is valid
  and associated with this user." (two spaces, as AWS sends it);
* ExpiredToken 400 "The security token included in the request is expired";
  InvalidClientTokenId 403 "The security token included in the request is invalid.";
  Throttling 400 "Rate exceeded"; the two DurationSeconds ValidationErrors below;
  SignatureDoesNotMatch 403 "Signature expired: ..." for a skewed clock (format assumed
  from SigV4 services); InternalFailure 500 (message assumed).
"""

from __future__ import annotations

import contextlib
import email.utils
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from xml.sax.saxutils import escape

from mfa_tui.sandbox import INVALID_CODE, INVALID_SERIAL

EXPIRED_TOKEN = "The security token included in the request is expired"
INVALID_TOKEN = "The security token included in the request is invalid."
SESSION_CREDS_GST = "Cannot call GetSessionToken with session credentials"
RATE_EXCEEDED = "Rate exceeded"
INTERNAL = "An internal error has occurred"
CHAINED_LIMIT = (
    "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
    "role chaining."
)
ROLE_MAX = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
GARBLED = b"\x00\x9f<<not xml at all\xff"
CAPTIVE_PORTAL = b"<html><body>Please sign in to the hotel Wi-Fi</body></html>"
# botocore turns a 5xx whose body starts with <html> (or is empty) into a generic
# ClientError with Code "502"; any other non-XML 5xx body is a ResponseParserError.
BAD_GATEWAY = b"<html><head><title>502 Bad Gateway</title></head><body>upstream down</body></html>"

_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


@dataclass
class Fault:
    """One programmed answer. `action` limits it to one STS action (None: any).

    Without `body` an AWS error document is built from `code`/`message`; `passthrough`
    forwards to moto after `delay` (a slow but correct STS); `disconnect` closes the
    connection without answering (after `delay`); `date` overrides the `Date` header.
    `on_arrival` runs in the proxy when the request arrives, before anything else (a
    test changes the world at that exact step). `hold` keeps the caller waiting: the
    request goes to moto first if `passthrough`, then `reached` is set and nothing is
    answered until `hold` is set (the test kills the caller meanwhile); then the
    connection drops.
    """

    status: int = 400
    code: str = ""
    message: str = ""
    body: bytes | None = None  # raw body instead of an AWS error document
    delay: float = 0.0
    action: str | None = None
    passthrough: bool = False  # after `delay`, forward to moto
    disconnect: bool = False
    date: str | None = None
    content_type: str = "text/xml"
    # Seconds between bytes of the answer: the status line and headers ("headers"), the
    # body after whole headers ("body"), or a chunked body one byte a chunk ("chunks").
    trickle: float = 0.0
    trickle_part: str = "body"
    # Held until the test sets it (bounded by 120 s): a slow STS whose end the test decides,
    # where a `delay` is a race with the test's own steps on a busy machine.
    gate: threading.Event | None = None
    on_arrival: Callable[[], None] | None = None
    hold: threading.Event | None = None
    reached: threading.Event = field(default_factory=threading.Event)


def error(code: str, message: str, status: int = 400, action: str | None = None) -> Fault:
    return Fault(status=status, code=code, message=message, action=action)


def invalid_code(action: str | None = None) -> Fault:
    """A wrong or reused MFA code (another code may fix it)."""
    return error("AccessDenied", INVALID_CODE, 403, action)


def invalid_serial(action: str | None = None) -> Fault:
    """A serial that is not a device of the calling user (no code will ever fix it)."""
    return error("AccessDenied", INVALID_SERIAL, 403, action)


def expired_token(action: str | None = None) -> Fault:
    return error("ExpiredToken", EXPIRED_TOKEN, 400, action)


def invalid_client_token_id(action: str | None = None) -> Fault:
    """Unknown or deleted access key (or a session token from elsewhere)."""
    return error("InvalidClientTokenId", INVALID_TOKEN, 403, action)


def session_credentials_gst() -> Fault:
    """GetSessionToken called with session (not long-term) credentials."""
    return error("AccessDenied", SESSION_CREDS_GST, 403, "GetSessionToken")


def not_authorized(caller_arn: str, role_arn: str) -> Fault:
    """AssumeRole refused by the trust or identity policy."""
    message = (
        f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    )
    return error("AccessDenied", message, 403, "AssumeRole")


def throttling(action: str | None = None) -> Fault:
    return error("Throttling", RATE_EXCEEDED, 400, action)


def validation_error(message: str, action: str | None = None) -> Fault:
    return error("ValidationError", message, 400, action)


def chained_limit() -> Fault:
    return validation_error(CHAINED_LIMIT, "AssumeRole")


def role_max() -> Fault:
    return validation_error(ROLE_MAX, "AssumeRole")


def internal_error(action: str | None = None, status: int = 500) -> Fault:
    return error("InternalFailure", INTERNAL, status, action)


def garbled(action: str | None = None, body: bytes = GARBLED, status: int = 200) -> Fault:
    """A body that is not an AWS response (a broken proxy, a captive portal)."""
    return Fault(status=status, body=body, action=action, content_type="text/html")


def slow(seconds: float, action: str | None = None) -> Fault:
    """The right answer, late."""
    return Fault(delay=seconds, passthrough=True, action=action)


def passthrough(action: str | None = None) -> Fault:
    """Explicitly forward one call (e.g. to let one through before `always` answers)."""
    return Fault(passthrough=True, action=action)


def trickle(seconds_per_byte: float, part: str = "body", action: str | None = None) -> Fault:
    """The right answer, a byte at a time (a tarpit, a broken proxy): each read gets
    data well inside any read timeout, and the answer still never ends in time.
    `part` is "headers" (all of it, from the status line), "body" or "chunks"."""
    assert part in ("headers", "body", "chunks"), part
    return Fault(passthrough=True, action=action, trickle=seconds_per_byte, trickle_part=part)


def disconnect(action: str | None = None, delay: float = 0.0) -> Fault:
    return Fault(disconnect=True, action=action, delay=delay)


def lost_answer(action: str | None = None) -> Fault:
    """The call reaches moto (and takes effect), then the connection drops unanswered:
    a timeout that hides a change AWS did make."""
    return Fault(disconnect=True, passthrough=True, action=action)


def http_date(when: datetime) -> str:
    """`when` (timezone-aware) as an HTTP `Date` header value."""
    return email.utils.format_datetime(when, usegmt=True)


def signature_expired(client: datetime, server: datetime, action: str | None = None) -> Fault:
    """What AWS says to a request signed on a clock more than 5 minutes off."""

    def stamp(t: datetime) -> str:
        return t.strftime("%Y%m%dT%H%M%SZ")

    message = (
        f"Signature expired: {stamp(client)} is now earlier than "
        f"{stamp(server - timedelta(minutes=5))} "
        f"({stamp(server)} - 5 min.)"
    )
    fault = error("SignatureDoesNotMatch", message, 403, action)
    fault.date = http_date(server)
    return fault


def error_xml(code: str, message: str, status: int = 400, request_id: str = "") -> bytes:
    """An STS error document exactly as the Query protocol carries it."""
    kind = "Receiver" if status >= 500 else "Sender"
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id or uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


@dataclass
class Recorded:
    """One request as received: enough to assert what the client sent and how."""

    action: str
    params: dict[str, str]
    access_key_id: str | None = None  # from the SigV4 Authorization header
    session_token: str | None = None  # X-Amz-Security-Token: signed with session creds
    path: str = "/"
    at: float = 0.0  # time.monotonic() on arrival


@dataclass
class StsFaultServer:
    """A loopback HTTP server in front of `upstream`; a context manager."""

    upstream: str
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    date_header: str | None = None
    always: Fault | None = None
    trickles_cut: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _connections: set[socket.socket] = field(default_factory=set)
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def queue(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def pending(self) -> list[Fault]:
        """Queued faults not yet used (a test can assert its faults were reached)."""
        with self._lock:
            return list(self.faults)

    def clear(self) -> None:
        """Forget recorded requests, queued faults and `always`."""
        with self._lock:
            self.requests.clear()
            self.faults.clear()
            self.always = None

    def actions(self) -> list[str]:
        with self._lock:
            return [r.action for r in self.requests]

    def calls(self, action: str) -> list[dict[str, str]]:
        with self._lock:
            return [r.params for r in self.requests if r.action == action]

    def _record(self, recorded: Recorded) -> Fault | None:
        """Record a request and pick its fault, atomically (requests run in threads)."""
        with self._lock:
            self.requests.append(recorded)
            for fault in self.faults:
                if fault.action in (None, recorded.action):
                    self.faults.remove(fault)
                    return fault
            if self.always is not None and self.always.action in (None, recorded.action):
                return self.always
            return None

    def start(self) -> StsFaultServer:
        owner = self
        self._stopping.clear()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects

            def setup(self) -> None:
                super().setup()
                with owner._lock:
                    owner._connections.add(self.connection)

            def finish(self) -> None:
                with owner._lock:
                    owner._connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                params = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
                target = self.headers.get("X-Amz-Target", "")
                action = params.get("Action") or target.rsplit(".", 1)[-1]
                key = _CREDENTIAL.search(self.headers.get("Authorization", ""))
                fault = owner._record(
                    Recorded(
                        action,
                        params,
                        key.group(1) if key else None,
                        self.headers.get("X-Amz-Security-Token"),
                        self.path,
                        time.monotonic(),
                    )
                )
                if fault is None:
                    self._forward(body)
                    return
                if fault.on_arrival is not None:
                    fault.on_arrival()
                if fault.hold is not None:
                    if fault.passthrough:
                        self._forward(body, reply=False)
                    fault.reached.set()
                    fault.hold.wait(120)
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.gate is not None:
                    fault.gate.wait(120)
                if fault.disconnect and fault.passthrough:
                    self._forward(body, reply=False)
                if fault.disconnect:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault.passthrough:
                    self._forward(body, fault.date, fault)
                    return
                request_id = str(uuid.uuid4())
                payload = (
                    fault.body
                    if fault.body is not None
                    else error_xml(fault.code, fault.message, fault.status, request_id)
                )
                self._send(fault.status, payload, fault.content_type, fault.date, request_id)

            def _forward(
                self,
                body: bytes,
                date: str | None = None,
                fault: Fault | None = None,
                reply: bool = True,
            ) -> None:
                skip = {"host", "connection", "keep-alive", "proxy-connection"}
                request = urllib.request.Request(
                    owner.upstream + self.path,
                    data=body,
                    headers={k: v for k, v in self.headers.items() if k.lower() not in skip},
                    method="POST",
                )
                try:
                    with _LOOPBACK.open(request, timeout=30) as answer:
                        status, payload, headers = answer.status, answer.read(), answer.headers
                except urllib.error.HTTPError as exc:
                    status, payload, headers = exc.code, exc.read(), exc.headers
                except OSError:  # upstream down: answer like a gateway (nginx) would
                    self._send(502, BAD_GATEWAY, "text/html", date)
                    return
                if not reply:
                    return
                if fault is not None and fault.trickle:
                    self._trickle(status, payload, headers.get("Content-Type"), fault)
                    return
                self._send(
                    status,
                    payload,
                    headers.get("Content-Type"),
                    date,
                    headers.get("x-amzn-RequestId"),
                )

            def _send(
                self,
                status: int,
                payload: bytes,
                content_type: str | None,
                date: str | None = None,
                request_id: str | None = None,
            ) -> None:
                self._date = date or owner.date_header
                try:
                    self.send_response(status)  # adds Date via date_time_string()
                    self.send_header("Content-Type", content_type or "text/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    if request_id:
                        self.send_header("x-amzn-RequestId", request_id)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (a timeout test) or stop() cut it off

            def _trickle(
                self, status: int, payload: bytes, content_type: str | None, fault: Fault
            ) -> None:
                chunked = fault.trickle_part == "chunks"
                head = (
                    f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"
                    f"Date: {self.date_time_string()}\r\n"
                    f"Content-Type: {content_type or 'text/xml'}\r\n"
                    + (
                        "Transfer-Encoding: chunked\r\n"
                        if chunked
                        else f"Content-Length: {len(payload)}\r\n"
                    )
                    + "\r\n"
                ).encode()
                if chunked:
                    pieces = [b"1\r\n" + payload[i : i + 1] + b"\r\n" for i in range(len(payload))]
                    pieces.append(b"0\r\n\r\n")
                else:
                    pieces = [payload[i : i + 1] for i in range(len(payload))]
                if fault.trickle_part == "headers":
                    pieces = [head[i : i + 1] for i in range(len(head))] + pieces
                else:
                    pieces.insert(0, head)
                self.close_connection = True
                try:
                    for piece in pieces:
                        self.wfile.write(piece)
                        if owner._stopping.wait(fault.trickle):
                            return
                except OSError:
                    with owner._lock:
                        owner.trickles_cut += 1

            def date_time_string(self, timestamp: float | None = None) -> str:
                date: str | None = getattr(self, "_date", None)
                return date or super().date_time_string(timestamp)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll keeps stop() quick: the 0.5 s default is paid by every test.
        threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="stsfault", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Stop listening and cut open keep-alive connections: the port is dead after."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> StsFaultServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
