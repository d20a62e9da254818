"""IAM calls that set up and check MFA, and their failures in words a person can use.

Built on the plumbing of `aws/sts.py`: a client per connection settings of the
profile (region, `endpoint_url`, `services`), explicit credentials so botocore never
prompts, and the same bounded call policy (`CallPolicy`: 3 s to connect, 5 s to read,
3 attempts), so a dead network fails every call here within about 25 s, never
minutes. boto3 is imported only inside `sts._client`.

Every refusal becomes one of our errors (`AwsRefusedError` with AWS's error code in
`.code`, `NetworkError`...), naming the profile, the IAM user and the action, and
saying what to do: usually which permission is missing and who can grant it. No
message built here contains a key, a token, a code or a seed.

`mfa_devices` and `keys_need_mfa` are meant for more than `setup`: `doctor` asks "do
these keys work without MFA?" with them, and how old a user's keys are and when each was
last used (`access_keys`, `key_last_used`).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from mfa_tui.aws import sts
from mfa_tui.aws.connection import Connection
from mfa_tui.aws.sts import CallContext, Credentials, ServerClock
from mfa_tui.errors import AwsRefusedError, MfaTuiError, NetworkError, UsageError

# AWS lets a user have at most this many MFA devices (of any kind), and access keys.
MAX_MFA_DEVICES = 8
MAX_ACCESS_KEYS = 2
# AWS's policy that lets users rotate their own keys (named in refusals).
OWN_KEYS_POLICY = (
    "AWS's example policy 'IAM: Allows IAM users to rotate their own access keys "
    "programmatically and in the console' grants it"
)
# CreateVirtualMFADevice's VirtualMFADeviceName: [\w+=,.@-]+, 1 to 226 characters.
_DEVICE_NAME = re.compile(r"[\w+=,.@-]{1,226}")
# CreateRole's RoleName: [\w+=,.@-]+, 1 to 64 characters.
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")
_ENCODED = re.compile(r"\s*Encoded authorization failure message:.*", re.S)
# The harmless call `keys_need_mfa` makes: read-only, granted by most permission sets
# (ReadOnlyAccess, PowerUserAccess, ViewOnlyAccess), and the action the README's
# method-1 example conditions on MFA.
PROBE_ACTION = "ec2:DescribeRegions"

# What each action needs, and who can fix a refusal: said after AWS's own words.
_DENIED_HINT = {
    "GetCallerIdentity": "",
    "ListMFADevices": "the user needs iam:ListMFADevices on itself",
    "CreateVirtualMFADevice": (
        "the user needs iam:CreateVirtualMFADevice (AWS's policy for self-managed MFA "
        "grants it: 'mfa-tui setup PROFILE --enforce user-policy' shows it), or an "
        "administrator can assign a device in the IAM console"
    ),
    "EnableMFADevice": "the user needs iam:EnableMFADevice on itself",
    "DeleteVirtualMFADevice": "the user needs iam:DeleteVirtualMFADevice",
    "PutUserPolicy": "the user needs iam:PutUserPolicy on itself",
    "GetRole": "the user needs iam:GetRole",
    "CreateRole": "the user needs iam:CreateRole",
    "AttachRolePolicy": "the user needs iam:AttachRolePolicy",
    "DetachRolePolicy": "the user needs iam:DetachRolePolicy",
    "DeleteRole": "the user needs iam:DeleteRole",
    "ListAccessKeys": f"the user needs iam:ListAccessKeys on itself ({OWN_KEYS_POLICY})",
    "CreateAccessKey": f"the user needs iam:CreateAccessKey on itself ({OWN_KEYS_POLICY})",
    "DeleteAccessKey": f"the user needs iam:DeleteAccessKey on itself ({OWN_KEYS_POLICY})",
    "GetAccessKeyLastUsed": (
        f"the user needs iam:GetAccessKeyLastUsed on itself ({OWN_KEYS_POLICY})"
    ),
}


@dataclass(frozen=True)
class IamUser:
    """The IAM user who owns a pair of access keys, as GetCallerIdentity names it."""

    name: str
    arn: str
    account_id: str

    @property
    def partition(self) -> str:
        """`aws`, `aws-cn` or `aws-us-gov`: policies name ARNs in it."""
        return self.arn.split(":", 2)[1]


class DeviceKind(StrEnum):
    VIRTUAL = "virtual"
    HARDWARE = "hardware TOTP"
    SECURITY_KEY = "security key"


@dataclass(frozen=True)
class MfaDevice:
    """One MFA device assigned to a user."""

    serial: str
    enabled_at: datetime | None = None

    @property
    def kind(self) -> DeviceKind:
        if ":u2f/" in self.serial:
            return DeviceKind.SECURITY_KEY
        if self.serial.startswith("arn:"):
            return DeviceKind.VIRTUAL
        return DeviceKind.HARDWARE

    @property
    def usable(self) -> bool:
        """STS takes codes from TOTP devices only: a FIDO security key signs in to the
        console but can never give GetSessionToken a code."""
        return self.kind is not DeviceKind.SECURITY_KEY


@dataclass(frozen=True)
class NewDevice:
    """A virtual MFA device just created and not enabled yet. The seed is a secret."""

    serial: str
    seed: str = field(repr=False)


@dataclass(frozen=True)
class AccessKey:
    """One access key of a user as ListAccessKeys names it: never its secret."""

    key_id: str
    status: str  # "Active" or "Inactive"
    created: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status == "Active"


@dataclass(frozen=True)
class Role:
    name: str
    arn: str
    trust_policy: dict[str, Any]


def _context(
    action: str, profile: str, creds: Credentials, service: str = "IAM", **extra: Any
) -> CallContext:
    return CallContext(
        action,
        profile,
        profile,
        with_session=creds.session_token is not None,
        service=service,
        **extra,
    )


def _iam(
    action: str,
    profile: str,
    creds: Credentials,
    *,
    connection: Connection | None = None,
    **params: Any,
) -> dict[str, Any]:
    """One IAM call; failures raise our errors (see `client_error`). `connection`: how
    `profile` reaches AWS, when the caller already holds the files (None reads them:
    a whole parse, which a loop over many users must not pay each time)."""
    from botocore import xform_name

    ctx = _context(action, profile, creds, mfa_serial=params.get("SerialNumber"))
    client = sts._client("iam", ctx, creds, connection)
    return sts._call(client, xform_name(action), ctx, **params)


def caller(
    profile: str,
    keys: Credentials,
    server_clock: ServerClock | None = None,
    *,
    connection: Connection | None = None,
) -> IamUser:
    """The IAM user these keys belong to; refuses the root user and roles.

    GetCallerIdentity needs no permission and cannot be denied by any policy, so it
    works for every key that is valid at all. `server_clock` gets STS's `Date` of the
    answer, a refusal's too (a clock too far off is refused); `connection` as `_iam`'s.
    """
    ctx = _context("GetCallerIdentity", profile, keys, service="STS")
    client = sts._client("sts", ctx, keys, connection)
    answer = sts._call(client, "get_caller_identity", ctx, server_clock=server_clock)
    arn = str(answer.get("Arn", ""))
    parts = arn.split(":")
    account = str(answer.get("Account") or (parts[4] if len(parts) > 4 else ""))
    if arn.endswith(":root"):
        raise UsageError(
            f"the keys of profile '{profile}' are the account's root user keys (account "
            f"{account}): set up MFA for the root user in the console, and delete its "
            "access keys (AWS's advice); use an IAM user's keys with mfa-tui"
        )
    if ":user/" not in arn:
        raise UsageError(
            f"the keys of profile '{profile}' belong to {arn or 'an unknown identity'}, "
            "not to an IAM user: only an IAM user's long-term keys get an MFA device"
        )
    return IamUser(arn.rsplit("/", 1)[-1], arn, account)


def _aware(value: object) -> datetime | None:
    """A date IAM gave, as an aware UTC datetime (None if it gave none)."""
    if not isinstance(value, datetime):
        return None
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).astimezone(UTC)


def _listed(
    action: str,
    list_key: str,
    profile: str,
    creds: Credentials,
    *,
    connection: Connection | None = None,
    **params: Any,
) -> list[dict[str, Any]]:
    """The items of a paged IAM list call, every page (a user's devices and keys fit in
    one; ten pages at most, should IAM keep saying there is more)."""
    items: list[dict[str, Any]] = []
    marker: str | None = None
    for _page in range(10):
        more = {"Marker": marker} if marker else {}
        answer = _iam(action, profile, creds, connection=connection, **params, **more)
        items.extend(item for item in answer.get(list_key, []) if isinstance(item, dict))
        marker = answer.get("Marker") if answer.get("IsTruncated") else None
        if not marker:
            break
    return items


def mfa_devices(profile: str, creds: Credentials, user: IamUser) -> list[MfaDevice]:
    """Every MFA device assigned to `user`, oldest first (ListMFADevices, all pages)."""
    devices = [
        MfaDevice(str(item["SerialNumber"]), _aware(item.get("EnableDate")))
        for item in _listed("ListMFADevices", "MFADevices", profile, creds, UserName=user.name)
        if item.get("SerialNumber")
    ]
    return sorted(devices, key=lambda d: d.enabled_at or datetime.min.replace(tzinfo=UTC))


def access_keys(
    profile: str,
    creds: Credentials,
    user: IamUser | str,
    *,
    connection: Connection | None = None,
) -> list[AccessKey]:
    """Every access key of `user` (an IamUser, or its name), oldest first
    (ListAccessKeys, all pages)."""
    name = user if isinstance(user, str) else user.name
    listed = _listed(
        "ListAccessKeys",
        "AccessKeyMetadata",
        profile,
        creds,
        connection=connection,
        UserName=name,
    )
    found = [
        AccessKey(
            str(item["AccessKeyId"]), str(item.get("Status", "")), _aware(item.get("CreateDate"))
        )
        for item in listed
        if item.get("AccessKeyId")
    ]
    return sorted(found, key=lambda k: k.created or datetime.min.replace(tzinfo=UTC))


def create_access_key(
    profile: str, creds: Credentials, user: IamUser
) -> tuple[AccessKey, Credentials]:
    """CreateAccessKey for `user`: the new key, and its secret (which AWS gives once)."""
    answer = _iam("CreateAccessKey", profile, creds, UserName=user.name)
    key = answer.get("AccessKey") or {}
    key_id, secret = key.get("AccessKeyId"), key.get("SecretAccessKey")
    if not (isinstance(key_id, str) and key_id and isinstance(secret, str) and secret):
        raise NetworkError(
            f"CreateAccessKey for '{profile}': IAM answered without the new key (a proxy in "
            "the way?)"
        )
    made = AccessKey(key_id, str(key.get("Status", "Active")), _aware(key.get("CreateDate")))
    return made, Credentials(key_id, secret)


def delete_access_key(profile: str, creds: Credentials, user: IamUser, key_id: str) -> None:
    """DeleteAccessKey: the key stops working for good."""
    _iam("DeleteAccessKey", profile, creds, UserName=user.name, AccessKeyId=key_id)


@dataclass(frozen=True)
class KeyUse:
    """When an access key was last used, and for what (GetAccessKeyLastUsed).

    `when` is None for a key never used; AWS then says "N/A" for service and region.
    """

    user: str
    when: datetime | None
    service: str | None
    region: str | None


def key_last_used(
    profile: str,
    creds: Credentials,
    access_key_id: str,
    *,
    connection: Connection | None = None,
) -> KeyUse:
    """When `access_key_id` was last used, and whose key it is (GetAccessKeyLastUsed).

    Ask with an MFA session, not with the key itself: that call would be its last use.
    `connection` as `_iam`'s.
    """
    answer = _iam(
        "GetAccessKeyLastUsed", profile, creds, connection=connection, AccessKeyId=access_key_id
    )
    used = answer.get("AccessKeyLastUsed") or {}

    def named(key: str) -> str | None:
        value = used.get(key)
        return str(value) if value and value != "N/A" else None

    return KeyUse(
        str(answer.get("UserName", "")),
        _aware(used.get("LastUsedDate")),
        named("ServiceName"),
        named("Region"),
    )


def check_device_name(name: str) -> str:
    """AWS's rule for a virtual device's name, checked before any call."""
    if not _DEVICE_NAME.fullmatch(name):
        raise UsageError(
            f"'{name}' cannot name an MFA device: use 1 to 226 letters, digits and "
            "_+=,.@- (no spaces)"
        )
    return name


def check_role_name(name: str) -> str:
    """AWS's rule for a role's name, checked before any call."""
    if not _ROLE_NAME.fullmatch(name):
        raise UsageError(
            f"'{name}' cannot name an IAM role: use 1 to 64 letters, digits and _+=,.@-"
        )
    return name


def create_virtual_device(profile: str, keys: Credentials, name: str) -> NewDevice:
    """CreateVirtualMFADevice: a new, unassigned device and its base32 seed."""
    answer = _iam(
        "CreateVirtualMFADevice", profile, keys, VirtualMFADeviceName=check_device_name(name)
    )
    device = answer.get("VirtualMFADevice") or {}
    serial, raw = device.get("SerialNumber"), device.get("Base32StringSeed")
    # botocore models the seed as a blob: the base32 text arrives as its bytes.
    seed = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
    if not serial or not isinstance(seed, str) or not seed:
        raise NetworkError(
            f"CreateVirtualMFADevice for '{profile}': IAM answered without the device's "
            "serial or seed (a proxy in the way?)"
        )
    return NewDevice(str(serial), seed.strip())


def enable_device(
    profile: str, keys: Credentials, user: IamUser, serial: str, code1: str, code2: str
) -> None:
    """EnableMFADevice: assign `serial` to `user`, proven by two consecutive codes."""
    _iam(
        "EnableMFADevice",
        profile,
        keys,
        UserName=user.name,
        SerialNumber=serial,
        AuthenticationCode1=code1,
        AuthenticationCode2=code2,
    )


def delete_virtual_device(profile: str, keys: Credentials, serial: str) -> None:
    """DeleteVirtualMFADevice (AWS refuses it for a device still assigned to a user)."""
    _iam("DeleteVirtualMFADevice", profile, keys, SerialNumber=serial)


def put_user_policy(
    profile: str, creds: Credentials, user: IamUser, name: str, document: dict[str, Any]
) -> None:
    """PutUserPolicy: add (or replace) an inline policy of `user`."""
    _iam(
        "PutUserPolicy",
        profile,
        creds,
        UserName=user.name,
        PolicyName=name,
        PolicyDocument=json.dumps(document),
    )


def get_role(profile: str, creds: Credentials, name: str) -> Role | None:
    """The role and its trust policy; None when there is no such role."""
    try:
        answer = _iam("GetRole", profile, creds, RoleName=check_role_name(name))
    except AwsRefusedError as exc:
        if exc.code == "NoSuchEntity":
            return None
        raise
    role = answer.get("Role") or {}
    return Role(
        name, str(role.get("Arn", "")), _policy_document(role.get("AssumeRolePolicyDocument"))
    )


def _policy_document(raw: object) -> dict[str, Any]:
    """A policy as IAM returns it: a dict, or URL-encoded JSON text."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            value = json.loads(urllib.parse.unquote(raw))
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


def create_role(
    profile: str, creds: Credentials, name: str, trust: dict[str, Any], description: str
) -> str:
    """CreateRole; returns the new role's ARN."""
    answer = _iam(
        "CreateRole",
        profile,
        creds,
        RoleName=check_role_name(name),
        AssumeRolePolicyDocument=json.dumps(trust),
        Description=description,
        MaxSessionDuration=3600,
    )
    return str((answer.get("Role") or {}).get("Arn", ""))


def attach_role_policy(profile: str, creds: Credentials, role: str, policy_arn: str) -> None:
    _iam("AttachRolePolicy", profile, creds, RoleName=role, PolicyArn=policy_arn)


def detach_role_policy(profile: str, creds: Credentials, role: str, policy_arn: str) -> None:
    _iam("DetachRolePolicy", profile, creds, RoleName=role, PolicyArn=policy_arn)


def delete_role(profile: str, creds: Credentials, role: str) -> None:
    _iam("DeleteRole", profile, creds, RoleName=role)


def policy_exists(profile: str, creds: Credentials, policy_arn: str) -> bool | None:
    """Whether a managed policy exists (GetPolicy); None when the user may not ask."""
    try:
        _iam("GetPolicy", profile, creds, PolicyArn=policy_arn)
    except AwsRefusedError as exc:
        if exc.code == "NoSuchEntity":
            return False
        if exc.code in ("AccessDenied", "AccessDeniedException"):
            return None
        raise
    return True


# --- is MFA really enforced? -----------------------------------------------------------


class Enforcement(StrEnum):
    ENFORCED = "enforced"
    NOT_ENFORCED = "not enforced"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class EnforcementCheck:
    """What one harmless call told about the keys: a verdict and one sentence."""

    state: Enforcement
    message: str

    @property
    def sentence(self) -> str:
        return f"{self.message[0].upper()}{self.message[1:]}."


def keys_need_mfa(
    profile: str,
    keys: Credentials,
    session: Credentials | None = None,
    *,
    connection: Connection | None = None,
) -> EnforcementCheck:
    """Do these long-term keys work without MFA? One harmless call tells.

    `ec2:DescribeRegions` is called with the keys alone. It works: the keys work
    without MFA. AWS denies it *explicitly* (a Deny, as the self-managed MFA policy
    has): MFA is enforced. Denied only because nothing allows it: the same call with
    an MFA `session` decides (it works there, so the permission needs MFA); without
    one, or denied there too, the answer is unknown. Raises NetworkError and the like
    when AWS cannot be asked. `connection` as `_iam`'s.
    """
    alone = _probe(profile, keys, connection)
    if alone is None:
        return EnforcementCheck(
            Enforcement.NOT_ENFORCED,
            f"these keys work without MFA: {PROBE_ACTION} succeeded with the long-term keys "
            f"of '{profile}' alone",
        )
    if "explicit deny" in alone.lower():
        return EnforcementCheck(
            Enforcement.ENFORCED,
            f"MFA is enforced: a policy explicitly denies {PROBE_ACTION} to the keys of "
            f"'{profile}' without MFA",
        )
    if session is not None and _probe(profile, session, connection) is None:
        return EnforcementCheck(
            Enforcement.ENFORCED,
            f"MFA is enforced for {PROBE_ACTION}: it works with an MFA session of "
            f"'{profile}' and not with its keys alone",
        )
    return EnforcementCheck(
        Enforcement.UNKNOWN,
        f"cannot tell whether the keys of '{profile}' need MFA: nothing allows them "
        f"{PROBE_ACTION}, with or without MFA, and other actions may work without it",
    )


def _probe(profile: str, creds: Credentials, connection: Connection | None = None) -> str | None:
    """None when the probe call works; AWS's refusal text when it is denied."""
    import botocore.exceptions as bx

    ctx = _context("DescribeRegions", profile, creds, service="EC2")
    client = sts._client("ec2", ctx, creds, connection)
    try:
        sts.within_deadline(client, "describe_regions", ctx)
    except bx.ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            return str(error.get("Message", "")) or code
        raise sts.translate(exc, ctx, str(client.meta.endpoint_url)) from None
    except bx.BotoCoreError as exc:
        raise sts.translate(exc, ctx, str(client.meta.endpoint_url)) from None
    except (KeyError, ValueError):
        # botocore's parsers fail this way on a body that is not an AWS document.
        from botocore.parsers import ResponseParserError

        garbled = ResponseParserError("unexpected body")
        raise sts.translate(garbled, ctx, str(client.meta.endpoint_url)) from None
    return None


# --- errors ---------------------------------------------------------------------------


def client_error(code: str, text: str, status: int, ctx: CallContext, endpoint: str) -> MfaTuiError:
    """An IAM (or probe) refusal in words: what happened, and what to do."""
    who = f"profile '{ctx.key_profile}'"
    said = _ENCODED.sub("", text).strip()
    said_part = f" AWS said: {said}" if said else ""
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        hint = _DENIED_HINT.get(ctx.action, "")
        return AwsRefusedError(
            f"AWS denied {ctx.action} to {who}" + (f": {hint}." if hint else ".") + said_part,
            code=code,
            title="Access denied",
        )
    if code == "InvalidAuthenticationCode":
        return AwsRefusedError(
            f"AWS did not accept the two codes for {ctx.mfa_serial or 'the new device'} "
            f"({who}): they must be two consecutive codes of that device, typed while "
            "fresh. Wait for a new code and type two in a row",
            code=code,
            title="Codes not accepted",
        )
    if code == "EntityAlreadyExists" and ctx.action == "CreateVirtualMFADevice":
        return AwsRefusedError(
            f"a virtual MFA device with that name already exists in the account ({who}); "
            "it may be left from a setup that did not finish. Choose another name "
            "(--device-name), or delete the unassigned one in the IAM console",
            code=code,
            title="Device name taken",
        )
    if code == "LimitExceeded":
        limit = (
            f"{MAX_ACCESS_KEYS} access keys"
            if ctx.action == "CreateAccessKey"
            else f"{MAX_MFA_DEVICES} MFA devices"
        )
        return AwsRefusedError(
            f"{ctx.action} for {who}: IAM refused a limit (a user has at most {limit}).{said_part}",
            code=code,
            title="Limit reached",
        )
    if code in ("EntityTemporarilyUnmodifiable", "ConcurrentModification"):
        return AwsRefusedError(
            f"{ctx.action} for {who}: IAM is still applying another change; try again in "
            f"a moment.{said_part}",
            code=code,
            title="Try again",
        )
    if code in ("Throttling", "ThrottlingException", "RequestLimitExceeded"):
        return AwsRefusedError(
            f"{ctx.service} is throttling requests for {who}; wait a minute and try again",
            code=code,
            title="Throttled",
        )
    if status >= 500 or code in ("ServiceFailure", "InternalFailure", "ServiceUnavailable"):
        return NetworkError(
            f"{ctx.action} for {who}: {ctx.service} at {endpoint} had an internal error "
            f"({code or status}); try again in a moment"
        )
    if code in ("InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "RequestExpired"):
        # The key itself is the problem: the engine's words for that hold here too.
        return sts._client_error(code, text, status, ctx, endpoint)
    return AwsRefusedError(
        f"{ctx.action} for {who} was refused: {code or status}: {said}", code=code
    )
