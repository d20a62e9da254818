"""A local stand-in for AWS's federation endpoint (signin.aws.amazon.com/federation).

It follows AWS's rules for what `mfa-tui console` sends: `getSigninToken` takes a
session only if STS (moto, asked with the session itself) knows it as a role's, so a
GetSessionToken (user) session is refused; `SessionDuration` is refused for a role
session assumed with temporary credentials (role chaining: every role session unless
its access key is in `direct_keys`); `login` accepts only a token it gave. The refusal
texts are this fake's own words; AWS answers such requests with an error page.

`fail = (status, body)` makes every request fail that way.
"""

from __future__ import annotations

import json
import secrets
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import boto3


@dataclass
class Signin:
    """A token the fake gave: for which identity, with which SessionDuration."""

    arn: str
    access_key_id: str
    session_duration: int | None


@dataclass
class FakeSignin:
    moto_url: str
    direct_keys: set[str] = field(default_factory=set)
    fail: tuple[int, str] | None = None
    requests: list[dict[str, str]] = field(default_factory=list)
    tokens: dict[str, Signin] = field(default_factory=dict)
    logins: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/federation"

    def __enter__(self) -> FakeSignin:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def identity(self, session: dict[str, str]) -> str | None:
        client = boto3.client(
            "sts",
            endpoint_url=self.moto_url,
            region_name="us-east-1",
            aws_access_key_id=session.get("sessionId"),
            aws_secret_access_key=session.get("sessionKey"),
            aws_session_token=session.get("sessionToken"),
        )
        try:
            arn: str = client.get_caller_identity()["Arn"]
        except Exception:
            return None
        return arn

    def get_signin_token(self, query: dict[str, str]) -> tuple[int, str]:
        try:
            session = json.loads(query["Session"])
        except (KeyError, ValueError):
            return 400, "<html><body>Session is missing or not JSON</body></html>"
        arn = self.identity(session)
        if arn is None:
            return 400, "<html><body>The session is not valid</body></html>"
        if ":assumed-role/" not in arn:
            return 400, (
                "<html><body>Credentials from GetSessionToken cannot sign in to the "
                "console</body></html>"
            )
        duration = query.get("SessionDuration")
        chained = session["sessionId"] not in self.direct_keys
        if duration is not None and chained:
            return 400, (
                "<html><body>SessionDuration is not allowed for a role assumed with "
                "temporary credentials (role chaining)</body></html>"
            )
        if duration is not None and not 900 <= int(duration) <= 43200:
            return 400, "<html><body>SessionDuration out of range</body></html>"
        token = secrets.token_urlsafe(48)
        self.tokens[token] = Signin(
            arn, session["sessionId"], int(duration) if duration is not None else None
        )
        return 200, json.dumps({"SigninToken": token})

    def login(self, query: dict[str, str]) -> tuple[int, str, str | None]:
        self.logins.append(query)
        signin = self.tokens.get(query.get("SigninToken", ""))
        if signin is None or query.get("Issuer") is None or not query.get("Destination"):
            return 400, "<html><body>Invalid sign-in request</body></html>", None
        return 302, "", query["Destination"]


def _handler(fake: FakeSignin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parts.query))
            fake.requests.append(query)
            location = None
            if fake.fail is not None:
                status, body = fake.fail
            elif parts.path != "/federation":
                status, body = 404, "not found"
            elif query.get("Action") == "getSigninToken":
                status, body = fake.get_signin_token(query)
            elif query.get("Action") == "login":
                status, body, location = fake.login(query)
            else:
                status, body = 400, "<html><body>Unknown Action</body></html>"
            data = body.encode()
            self.send_response(status)
            if location is not None:
                self.send_header("Location", location)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler
