"""The local container-credentials endpoint `mfa-tui exec` gives the program it runs.

Every AWS SDK and the AWS CLI read credentials from an HTTP endpoint when
`AWS_CONTAINER_CREDENTIALS_FULL_URI` names one (ECS tasks use it); on a loopback
address they accept plain HTTP, and they send `AWS_CONTAINER_AUTHORIZATION_TOKEN` as
the `Authorization` header. They ask again before the credentials they hold expire
(botocore 15 minutes before, at the latest 10), so a program that runs for hours keeps
working while the exec process renews the role behind this endpoint.

The answer is the JSON botocore's ContainerProvider reads (`AccessKeyId`,
`SecretAccessKey`, `Token`, `Expiration`); a failure is a JSON `code` and `message` (the
Go SDK's fields; botocore shows the body) with a status that says what went wrong.

Only 127.0.0.1, and every request must carry the token, a random one per exec, compared
in constant time: without it, 401; with a wrong one, 403; nothing is served either way.
No request is logged.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mfa_tui.aws.files import format_expiration
from mfa_tui.core.store import StoredSession
from mfa_tui.errors import AwsRefusedError, MfaTuiError, NeedsCodeError, NetworkError

FULL_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
AUTHORIZATION_TOKEN = "AWS_CONTAINER_AUTHORIZATION_TOKEN"  # noqa: S105 - its name
PATH = "/"
# A client that opens a connection and says nothing does not hold a thread for long.
REQUEST_TIMEOUT = 10.0


def status_for(error: MfaTuiError) -> int:
    """The HTTP status of a failure to get a session: 503 while a code is needed (it
    may come), 502 when AWS refused, 504 when it could not be reached, else 500."""
    if isinstance(error, NeedsCodeError):
        return 503
    if isinstance(error, AwsRefusedError):
        return 502
    if isinstance(error, NetworkError):
        return 504
    return 500


def body_of(session: StoredSession) -> dict[str, str]:
    """The answer botocore's ContainerProvider (and every SDK's) reads."""
    return {
        "AccessKeyId": session.access_key_id,
        "SecretAccessKey": session.secret_access_key,
        "Token": session.session_token,
        "Expiration": format_expiration(session.expiration),
    }


class CredentialsEndpoint:
    """An HTTP endpoint on 127.0.0.1 that answers with `source()` (called per request).

    Args:
        source: a session with enough time left, or an MfaTuiError saying why not.
        token: the Authorization value callers must send (default: a random one).
    """

    def __init__(self, source: Callable[[], StoredSession], *, token: str | None = None) -> None:
        self.source = source
        self.token = token or secrets.token_urlsafe(32)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{PATH}"

    def environment(self) -> dict[str, str]:
        """What a child needs in its environment to ask this endpoint."""
        return {FULL_URI: self.url, AUTHORIZATION_TOKEN: self.token}

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name="mfa-tui-endpoint",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> CredentialsEndpoint:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, path: str, authorization: str | None) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for one GET."""
        if path.split("?", 1)[0] != PATH:
            return 404, {"code": "NotFound", "message": f"no such path: {path}"}
        if authorization is None:
            return 401, {
                "code": "Unauthorized",
                "message": f"no Authorization header (send {AUTHORIZATION_TOKEN})",
            }
        if not hmac.compare_digest(authorization.encode(), self.token.encode()):
            return 403, {"code": "Forbidden", "message": "wrong Authorization token"}
        try:
            session = self.source()
        except MfaTuiError as exc:
            return status_for(exc), {"code": exc.title, "message": exc.message}
        return 200, body_of(session)


def _handler_for(endpoint: CredentialsEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT
        server_version = "mfa-tui"
        sys_version = ""

        def do_GET(self) -> None:
            status, body = endpoint.answer(self.path, self.headers.get("Authorization"))
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                return  # the caller gave up (its own timeout): nothing to tell it

        def _refuse(self) -> None:
            self.send_error(405)

        do_POST = do_PUT = do_DELETE = do_PATCH = _refuse

        def log_message(self, format: str, *args: Any) -> None:
            return  # stderr is the child's; and a request line is nobody's business

    return Handler
