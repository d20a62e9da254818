"""The AWS web console, signed in with a role's session: AWS's federation endpoint.

AWS's documented way (a custom identity broker): send the session to the federation
endpoint's `getSigninToken`, then open its `login` URL with the token, which lands on
the console. Two rules of AWS's decide what is sent:

- A GetSessionToken (user) session cannot sign in to the console at all; only a role's
  session can. Asked for a user, this says so before anything is sent, and names the
  user's roles and the console's own MFA sign-in.
- `SessionDuration` (how long the console session lasts) is refused for a role
  assumed with temporary credentials: a chained role, which every role mfa-tui assumes
  from a user session is. It is sent only for a session longer than an hour (which
  only a role assumed straight from long-term keys can have, `refresh --duration`);
  otherwise AWS gives the console session the role session's own time.

The endpoint is `MFA_TUI_SIGNIN_URL` when set (tests point it at a local fake), else
AWS's for the profile's partition; the console lands in the profile's region.

The sign-in URL is a secret for its 15 minutes: it is handed to the browser through a
one-shot redirect on 127.0.0.1 (`open_in_browser`), so it never appears on a command
line (a browser is started with its URL in argv, which other users can read).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from mfa_tui.aws.files import Kind, parse_expiration
from mfa_tui.core.asking import Asker
from mfa_tui.core.sessions import SessionService
from mfa_tui.core.store import REFRESHED_KEY, StoredSession
from mfa_tui.errors import NetworkError, UsageError

SIGNIN_VARIABLE = "MFA_TUI_SIGNIN_URL"
ISSUER = "mfa-tui"
# The console session's bounds (AWS's, for SessionDuration).
CONSOLE_MIN, CONSOLE_MAX = 900, 43_200
# Longer than this, a role session cannot come from chaining (AWS's one-hour cap).
CHAINED_MAX = 3600
# A session is renewed first when it has less than this left: a console session shorter
# than a quarter of an hour is not worth opening.
MIN_LEFT = CONSOLE_MIN
TIMEOUT = 15.0
# How long the browser has to fetch the one-shot redirect.
BROWSER_WAIT = 120.0
# (region prefix, sign-in host, console host): the partitions with a public console.
_PARTITIONS = (
    ("cn-", "signin.amazonaws.cn", "console.amazonaws.cn"),
    ("us-gov-", "signin.amazonaws-us-gov.com", "console.amazonaws-us-gov.com"),
)
_DEFAULT_HOSTS = ("signin.aws.amazon.com", "console.aws.amazon.com")


@dataclass(frozen=True)
class ConsoleLink:
    """A sign-in URL (secret: never logged or shown but on request) and what it opens."""

    profile: str
    url: str
    destination: str
    session_duration: int | None


def _hosts(region: str | None) -> tuple[str, str]:
    for prefix, signin, console in _PARTITIONS:
        if region and region.startswith(prefix):
            return signin, console
    return _DEFAULT_HOSTS


def signin_endpoint(region: str | None, environ: dict[str, str] | None = None) -> str:
    """MFA_TUI_SIGNIN_URL, else the federation endpoint of the region's partition."""
    override = (environ if environ is not None else os.environ).get(SIGNIN_VARIABLE)
    if override:
        return override
    return f"https://{_hosts(region)[0]}/federation"


def console_home(region: str | None) -> str:
    """The console's home page in `region` (the console picks one when None)."""
    console = _hosts(region)[1]
    if not region:
        return f"https://{console}/console/home"
    return f"https://{region}.{console}/console/home?region={region}"


def session_duration(length: float | None, left: float) -> int | None:
    """SessionDuration to send for a role session that lasted `length` seconds in all
    and has `left`: only where AWS allows it (not chained: longer than an hour)."""
    if length is None or length <= CHAINED_MAX + 60:
        return None
    return int(min(CONSOLE_MAX, max(CONSOLE_MIN, left)))


def check_destination(destination: str) -> str:
    parts = urllib.parse.urlsplit(destination)
    if parts.scheme != "https" or not parts.netloc:
        raise UsageError(
            f"--destination must be an https:// URL of the console, not {destination!r}"
        )
    return destination


def _refuse_user(service: SessionService, user: str) -> UsageError:
    # Its own roles first (chained ones after), by name.
    mine = [
        p
        for p in service.profile_set.profiles.values()
        if p.kind is Kind.ROLE and p.managed and p.chain and p.chain[-1] == user
    ]
    roles = [p.name for p in sorted(mine, key=lambda p: (len(p.chain), p.name))]
    which = f"one of its roles ({', '.join(roles[:5])})" if roles else "a role of it"
    first = roles[0] if roles else "ROLE"
    return UsageError(
        f"'{user}' has a GetSessionToken (user) session, which AWS does not let sign in "
        f"to the console: open {which} with 'mfa-tui console {first}', or sign in to "
        "the console itself with the user's password and MFA device"
    )


def console_link(
    service: SessionService,
    name: str,
    *,
    asker: Asker | None = None,
    destination: str | None = None,
    fetch: Callable[[str], bytes] | None = None,
    cancel: threading.Event | None = None,
) -> ConsoleLink:
    """A sign-in URL for `name`'s session (a role, or a session profile holding one),
    got through the door first when it has less than MIN_LEFT left.

    Raises:
        UsageError: an unknown profile, a user's session, a bad destination.
        NetworkError: the federation endpoint failed; its answer in words.
        MfaTuiError: the session could not be had (NeedsCodeError, AwsRefusedError...).
    """
    profile = service.profile(name)
    owner = profile
    if profile.kind is Kind.SESSION and profile.session_of:
        owner = service.profile(profile.session_of)
    if owner.kind is Kind.USER:
        raise _refuse_user(service, owner.name)
    if destination is not None:
        check_destination(destination)
    served = service.serve(name, min_valid=MIN_LEFT, asker=asker, cancel=cancel)
    now = service.clock.now()
    values = service.store.session_values(owner.name) or {}
    refreshed = parse_expiration(values.get(REFRESHED_KEY))
    length = (served.session.expiration - refreshed).total_seconds() if refreshed else None
    duration = session_duration(length, served.session.seconds_left(now))
    region = profile.region or owner.region
    target = destination or console_home(region)
    endpoint = signin_endpoint(region)
    token = _signin_token(served.session, endpoint, duration, fetch or _fetch)
    query = urllib.parse.urlencode(
        {"Action": "login", "Issuer": ISSUER, "Destination": target, "SigninToken": token}
    )
    return ConsoleLink(name, f"{endpoint}?{query}", target, duration)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as answer:  # noqa: S310 - https/fake
        data: bytes = answer.read()
        return data


def _signin_token(
    session: StoredSession, endpoint: str, duration: int | None, fetch: Callable[[str], bytes]
) -> str:
    credentials = json.dumps(
        {
            "sessionId": session.access_key_id,
            "sessionKey": session.secret_access_key,
            "sessionToken": session.session_token,
        }
    )
    params = {"Action": "getSigninToken"}
    if duration is not None:
        params["SessionDuration"] = str(duration)
    params["Session"] = credentials
    url = f"{endpoint}?{urllib.parse.urlencode(params)}"
    try:
        body = fetch(url)
    except urllib.error.HTTPError as exc:
        said = _words(exc.read())
        raise NetworkError(
            f"the AWS federation endpoint {endpoint} refused the sign-in: HTTP {exc.code}"
            + (f": {said}" if said else "")
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NetworkError(
            f"cannot reach the AWS federation endpoint {endpoint}: {reason}"
        ) from None
    try:
        token = json.loads(body)["SigninToken"]
    except (ValueError, KeyError, TypeError):
        raise NetworkError(
            f"the AWS federation endpoint {endpoint} answered without a sign-in token: "
            f"{_words(body) or 'an empty answer'}"
        ) from None
    if not isinstance(token, str) or not token:
        raise NetworkError(f"the AWS federation endpoint {endpoint} gave an empty sign-in token")
    return token


def _words(body: bytes) -> str:
    """An endpoint's answer as one short line (HTML tags and spacing dropped)."""
    text = body.decode("utf-8", "replace")
    text = re.sub(r"<[^>]*>", " ", text)
    text = " ".join(text.split())
    return text[:200] + ("…" if len(text) > 200 else "")


# --- the browser ---------------------------------------------------------------------


class _Redirect(BaseHTTPRequestHandler):
    """Answers the one path it knows, once, with a redirect to the sign-in URL."""

    server: _OneShot

    def do_GET(self) -> None:
        server = self.server
        if self.path != server.path or server.served.is_set():
            self.send_error(404)
            return
        server.served.set()
        self.send_response(302)
        self.send_header("Location", server.target)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


class _OneShot(HTTPServer):
    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _Redirect)
        self.target = target
        self.path = "/" + secrets.token_urlsafe(24)
        self.served = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"


# What `webbrowser` falls back to without a desktop: they would take over the terminal
# (the dashboard's too), and the console needs a graphical browser anyway.
TEXT_BROWSERS = frozenset({"www-browser", "links", "elinks", "lynx", "w3m"})


def graphical_browser(url: str) -> bool:
    """Open `url` in the browser `webbrowser` picks ($BROWSER first), unless that is a
    text browser; False when none could be started."""
    import os
    import webbrowser

    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    name = os.path.basename(str(getattr(browser, "name", "")))
    if name in TEXT_BROWSERS:
        return False
    try:
        return bool(browser.open(url))
    except (webbrowser.Error, OSError):
        return False


def open_in_browser(
    url: str,
    *,
    wait: float = BROWSER_WAIT,
    opener: Callable[[str], bool] | None = None,
    cancel: threading.Event | None = None,
) -> bool:
    """Open `url` in the browser without putting it on a command line: the browser is
    given a one-shot local address that redirects to it. True once the browser fetched
    it; False when no browser started, or none fetched it within `wait` seconds."""
    with _OneShot(url) as server:
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        thread.start()
        started = (opener or graphical_browser)(server.url)
        try:
            if not started:
                return False
            waited = 0.0
            while not server.served.wait(0.2):
                waited += 0.2
                if waited >= wait or (cancel is not None and cancel.is_set()):
                    return False
            return True
        finally:
            server.shutdown()
            thread.join(timeout=5)
