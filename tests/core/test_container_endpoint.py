"""The exec endpoint as botocore's own ContainerProvider reads it, and what it refuses."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from botocore.credentials import ContainerProvider
from botocore.exceptions import CredentialRetrievalError
from botocore.utils import ContainerMetadataFetcher

from mfa_tui.core.container_endpoint import AUTHORIZATION_TOKEN, FULL_URI, CredentialsEndpoint
from mfa_tui.core.store import StoredSession
from mfa_tui.errors import AwsRefusedError, MfaTuiError, NeedsCodeError, NetworkError

SESSION = StoredSession(
    "ASIAENDPOINT",
    "end/point+secret",
    "end-point-token",
    (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0),
)


def provider(endpoint: CredentialsEndpoint, token: str | None = None) -> ContainerProvider:
    environ = {FULL_URI: endpoint.url, AUTHORIZATION_TOKEN: token or endpoint.token}
    # botocore retries a failed fetch three times, a second apart: not in a test.
    fetcher = ContainerMetadataFetcher(sleep=lambda s: None)
    return ContainerProvider(environ, fetcher=fetcher)  # type: ignore[arg-type]  # the stubs err


def get(url: str, headers: dict[str, str], method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


def test_botocore_reads_the_session_from_it() -> None:
    with CredentialsEndpoint(lambda: SESSION) as endpoint:
        assert endpoint.url.startswith("http://127.0.0.1:")
        creds = provider(endpoint).load()
        assert creds is not None
        frozen = creds.get_frozen_credentials()
        assert (frozen.access_key, frozen.secret_key, frozen.token) == (
            "ASIAENDPOINT",
            "end/point+secret",
            "end-point-token",
        )
        assert creds.method == "container-role"
        assert creds._expiry_time == SESSION.expiration  # type: ignore[attr-defined]


def test_every_request_goes_to_the_source() -> None:
    calls: list[int] = []

    def source() -> StoredSession:
        calls.append(1)
        return SESSION

    with CredentialsEndpoint(source) as endpoint:
        for _ in range(3):
            status, _ = get(endpoint.url, {"Authorization": endpoint.token})
            assert status == 200
    assert len(calls) == 3


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "wrong"}, 403), ({"Authorization": ""}, 403)],
)
def test_without_the_token_nothing_is_served(headers: dict[str, str], status: int) -> None:
    calls: list[int] = []

    def source() -> StoredSession:
        calls.append(1)
        return SESSION

    with CredentialsEndpoint(source) as endpoint:
        got, body = get(endpoint.url, headers)
        assert got == status
        assert "ASIAENDPOINT" not in body and "secret" not in body
        assert json.loads(body)["code"] in ("Unauthorized", "Forbidden")
        # botocore with a token of the right length but the wrong value.
        with pytest.raises(CredentialRetrievalError, match="403"):
            provider(endpoint, token="x" * len(endpoint.token)).load()
    assert calls == []


def test_a_wrong_path_or_method_is_refused() -> None:
    with CredentialsEndpoint(lambda: SESSION) as endpoint:
        token = {"Authorization": endpoint.token}
        assert get(endpoint.url + "other", token)[0] == 404
        assert get(endpoint.url, token, method="POST")[0] == 405


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NeedsCodeError("my-test-role needs a code from MFA device X"), 503),
        (AwsRefusedError("AWS refused the role"), 502),
        (NetworkError("cannot reach STS"), 504),
        (MfaTuiError("the credentials file cannot be written"), 500),
    ],
)
def test_a_session_that_cannot_be_had_is_said_in_words(error: MfaTuiError, status: int) -> None:
    def source() -> StoredSession:
        raise error

    fail: Callable[[], StoredSession] = source
    with CredentialsEndpoint(fail) as endpoint:
        got, body = get(endpoint.url, {"Authorization": endpoint.token})
        assert got == status
        assert json.loads(body) == {"code": error.title, "message": error.message}
        # What botocore (and so the AWS CLI) tells the person.
        with pytest.raises(CredentialRetrievalError, match=error.message):
            provider(endpoint).load()
