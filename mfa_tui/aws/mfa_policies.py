"""The two ways to make access keys need MFA, as IAM policy documents, and checks of them.

Enabling an MFA device does not make a user's access keys need it. Either the user's
own policy denies everything without MFA (method 1: AWS's documented policy for
IAM users who self-manage their MFA device), or the permissions live on a role whose
trust policy requires MFA (method 2). The documents are built here; so are the checks
`doctor` can reuse ("does this trust policy require MFA?").
"""

from __future__ import annotations

from typing import Any

# The inline policy `setup --enforce user-policy` puts on the user.
USER_POLICY_NAME = "mfa-tui-require-mfa"
MFA_PRESENT = "aws:multifactorauthpresent"
MFA_AGE = "aws:multifactorauthage"


def self_managed_mfa_policy(partition: str = "aws") -> dict[str, Any]:
    """AWS's "IAM: Allows IAM users to self-manage an MFA device" policy, in full.

    Without MFA it denies every action except those a person needs to set up a device
    (create, enable, list, resync); STS's GetSessionToken is not subject to policies
    at all, so a person can always turn a code into an MFA session. With MFA, the
    user's other policies apply as before. Deactivating a device needs MFA.
    """
    user = f"arn:{partition}:iam::*:user/${{aws:username}}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowListActions",
                "Effect": "Allow",
                "Action": ["iam:ListUsers", "iam:ListVirtualMFADevices"],
                "Resource": "*",
            },
            {
                "Sid": "AllowUserToCreateVirtualMFADevice",
                "Effect": "Allow",
                "Action": ["iam:CreateVirtualMFADevice"],
                "Resource": f"arn:{partition}:iam::*:mfa/*",
            },
            {
                "Sid": "AllowUserToManageTheirOwnMFA",
                "Effect": "Allow",
                "Action": [
                    "iam:EnableMFADevice",
                    "iam:GetMFADevice",
                    "iam:ListMFADevices",
                    "iam:ResyncMFADevice",
                ],
                "Resource": user,
            },
            {
                "Sid": "AllowUserToDeactivateTheirOwnMFAOnlyWhenUsingMFA",
                "Effect": "Allow",
                "Action": ["iam:DeactivateMFADevice"],
                "Resource": [user],
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            },
            {
                "Sid": "BlockMostAccessUnlessSignedInWithMFA",
                "Effect": "Deny",
                "NotAction": [
                    "iam:CreateVirtualMFADevice",
                    "iam:EnableMFADevice",
                    "iam:ListMFADevices",
                    "iam:ListUsers",
                    "iam:ListVirtualMFADevices",
                    "iam:ResyncMFADevice",
                ],
                "Resource": "*",
                # BoolIfExists: requests signed with long-term keys carry no
                # aws:MultiFactorAuthPresent at all, and must be denied too.
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            },
        ],
    }


def mfa_trust_policy(user_arn: str) -> dict[str, Any]:
    """A role trust policy: only `user_arn` may assume the role, and only with MFA.

    Naming the user (not the account root) means the user needs no sts:AssumeRole
    permission of its own: in one account, the trust policy alone allows it.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": user_arn},
                "Action": "sts:AssumeRole",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ],
    }


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("Statement", [])
    items = found if isinstance(found, list) else [found]
    return [s for s in items if isinstance(s, dict)]


def _conditions(statement: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Operator -> {key (lower-case): value}: condition keys are case-insensitive."""
    found = statement.get("Condition", {})
    if not isinstance(found, dict):
        return {}
    return {
        str(op).lower(): {str(k).lower(): v for k, v in keys.items()}
        for op, keys in found.items()
        if isinstance(keys, dict)
    }


def _is(value: object, wanted: str) -> bool:
    values = value if isinstance(value, list) else [value]
    return bool(values) and all(str(v).lower() == wanted for v in values)


def _actions(statement: dict[str, Any], key: str) -> list[str]:
    found = statement.get(key, [])
    return [str(a).lower() for a in (found if isinstance(found, list) else [found])]


def trust_requires_mfa(document: dict[str, Any]) -> bool:
    """True when every statement that lets someone assume the role demands MFA.

    MFA counts when the statement has `Bool: aws:MultiFactorAuthPresent = true` or a
    `NumericLessThan(Equals)` on `aws:MultiFactorAuthAge`. A trust policy with no
    statement allowing sts:AssumeRole requires nothing and returns False.
    """
    allowing = [
        s
        for s in _statements(document)
        if s.get("Effect") == "Allow"
        and any(a in ("sts:assumerole", "sts:*", "*") for a in _actions(s, "Action"))
    ]
    if not allowing:
        return False
    for statement in allowing:
        conditions = _conditions(statement)
        present = conditions.get("bool", {}).get(MFA_PRESENT)
        aged = any(
            MFA_AGE in conditions.get(op, {}) for op in ("numericlessthan", "numericlessthanequals")
        )
        if not (_is(present, "true") or aged):
            return False
    return True


def denies_without_mfa(document: dict[str, Any]) -> bool:
    """True when the policy denies (nearly) everything to requests without MFA.

    That is a Deny with `"NotAction"` (or `"Action": "*"`) on every resource, under
    `BoolIfExists: aws:MultiFactorAuthPresent = false`. Plain `Bool` does not count:
    a request signed with long-term keys has no such key, so `Bool` never matches it.
    """
    for statement in _statements(document):
        if statement.get("Effect") != "Deny":
            continue
        broad = "NotAction" in statement or "*" in _actions(statement, "Action")
        resources = _actions(statement, "Resource")
        if not broad or resources != ["*"]:
            continue
        if _is(_conditions(statement).get("boolifexists", {}).get(MFA_PRESENT), "false"):
            return True
    return False
