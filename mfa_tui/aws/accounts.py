"""An account's alias (iam:ListAccountAliases), asked with a session that exists.

The dashboard names accounts by alias as well as ID. The call is made with a session
mfa-tui already holds (a role's, or a user's MFA session), never with long-term keys and
never at the cost of a code. Errors are translated as sts.py translates them; a caller
that may not list aliases (many roles may not) gets `AliasesDeniedError`, which is an
answer to remember rather than a failure to retry.
"""

from __future__ import annotations

from mfa_tui.aws.connection import Connection
from mfa_tui.aws.sts import CallContext, Credentials, _call, _client
from mfa_tui.errors import AwsRefusedError

DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


class AliasesDeniedError(AwsRefusedError):
    """The session may not call iam:ListAccountAliases."""

    title = "Account alias not allowed"


def list_account_aliases(
    profile: str, creds: Credentials, connection: Connection | None = None
) -> list[str]:
    """The account's aliases (an account has at most one) as IAM lists them.

    Args:
        profile: the profile whose session `creds` is (names it in errors; picks the
            endpoint the way the profile's own calls go).
        creds: that session.
        connection: how `profile` reaches AWS, from files the caller already read
            (None reads them: a whole parse, too much for each of many accounts).

    Raises:
        AliasesDeniedError: the session's policy does not allow the call.
        MfaTuiError: any other failure, in sts.py's words (NetworkError, …).
    """
    ctx = CallContext(
        "ListAccountAliases", profile, profile, with_session=creds.session_token is not None
    )
    try:
        answer = _call(_client("iam", ctx, creds, connection), "list_account_aliases", ctx)
    except AwsRefusedError as exc:
        if exc.code in DENIED_CODES:
            raise AliasesDeniedError(
                f"profile '{profile}' may not list its account's alias "
                "(iam:ListAccountAliases denied); the account is shown by its ID",
                code=exc.code,
            ) from None
        raise
    aliases = answer.get("AccountAliases") or []
    return [str(alias) for alias in aliases if isinstance(alias, str) and alias]
