"""`setup PROFILE --enforce ...`: make the user's access keys need MFA.

Method 1 (`user-policy`) puts AWS's self-managed MFA policy on the user as an inline
policy: without MFA, everything but setting up a device is denied. Method 2 (`role
NAME`) creates a role only this user may assume, and only with MFA, and writes its
`[profile NAME]` into the config file. Both are a dry run unless applied: the plan
shows the policy documents and the exact `aws iam` commands, which is also what an
administrator runs when the user's own permissions do not allow the change.

After a change, the check is real, not assumed: method 1 asks AWS with one harmless
call whether the keys alone still work (`iam.keys_need_mfa`); method 2 assumes the
new role through the engine, from the user's MFA session.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any

from mfa_tui.aws import iam
from mfa_tui.aws.files import config_section_for
from mfa_tui.aws.mfa_policies import (
    USER_POLICY_NAME,
    mfa_trust_policy,
    self_managed_mfa_policy,
    trust_requires_mfa,
)
from mfa_tui.aws.sts import Credentials
from mfa_tui.core.setup import MfaSetup, SetupTarget
from mfa_tui.errors import AwsRefusedError, MfaTuiError, NeedsCodeError, UsageError

_DENIED = ("AccessDenied", "AccessDeniedException")


@dataclass(frozen=True)
class EnforcementPlan:
    """What a method changes: documents (file name -> JSON), commands, config lines."""

    method: str
    summary: str
    documents: dict[str, dict[str, Any]]
    commands: list[str]
    profile_name: str | None = None
    profile_values: dict[str, str] = field(default_factory=dict)

    def script(self) -> str:
        """Shell lines that do it: each document written to its file, then the commands."""
        lines: list[str] = []
        for name, document in self.documents.items():
            lines.append(f"cat > {shlex.quote(name)} <<'EOF'")
            lines.append(json.dumps(document, indent=2))
            lines.append("EOF")
        lines.extend(self.commands)
        return "\n".join(lines)

    def profile_text(self) -> str:
        """The config section the role method writes, as it will read in the file."""
        if self.profile_name is None:
            return ""
        body = "".join(f"{k} = {v}\n" for k, v in self.profile_values.items())
        return f"[{config_section_for(self.profile_name)}]\n{body}"


class EnforcementRefused(AwsRefusedError):
    """The user may not make the change itself; `plan` is what an administrator runs."""

    def __init__(self, message: str, plan: EnforcementPlan, *, code: str) -> None:
        super().__init__(message, code=code, title="Administrator needed")
        self.plan = plan


# --- method 1 ---------------------------------------------------------------------------


def user_policy_plan(target: SetupTarget) -> EnforcementPlan:
    user = target.user.name
    document_file = f"{USER_POLICY_NAME}.json"
    return EnforcementPlan(
        method="user-policy",
        summary=(
            f"Method 1: put AWS's self-managed MFA policy on IAM user {user} as the inline "
            f"policy '{USER_POLICY_NAME}'. Without MFA, its keys may then do nothing but "
            "set up an MFA device (and get an MFA session, which no policy can deny); "
            "with an MFA session, its other policies apply as before."
        ),
        documents={document_file: self_managed_mfa_policy(target.user.partition)},
        commands=[
            f"aws iam put-user-policy --user-name {shlex.quote(user)} --policy-name "
            f"{USER_POLICY_NAME} --policy-document file://{document_file}"
        ],
    )


def apply_user_policy(setup: MfaSetup, target: SetupTarget) -> list[str]:
    """PutUserPolicy with the user's own permissions, then check that it holds.

    Raises EnforcementRefused (with the plan an administrator runs) when the user may
    not change its own policies.
    """
    plan = user_policy_plan(target)
    session = setup.session_credentials()
    creds = session or setup.long_term_keys()
    document = plan.documents[f"{USER_POLICY_NAME}.json"]
    try:
        iam.put_user_policy(setup.name, creds, target.user, USER_POLICY_NAME, document)
    except AwsRefusedError as exc:
        if exc.code not in _DENIED:
            raise
        raise EnforcementRefused(
            f"IAM user {target.user.name} may not change its own policies "
            "(iam:PutUserPolicy denied), so nothing was changed; an administrator can "
            "run the commands below",
            plan,
            code=exc.code,
        ) from None
    done = [f"Put the inline policy '{USER_POLICY_NAME}' on IAM user {target.user.name}."]
    check = iam.keys_need_mfa(setup.name, setup.long_term_keys(), session)
    done.append(check.sentence)
    if check.state is iam.Enforcement.NOT_ENFORCED:
        done.append(
            "IAM can take a few seconds to apply a new policy everywhere: run this command "
            "again in a minute to ask again (it puts the same policy)."
        )
    return done


# --- method 2 ---------------------------------------------------------------------------


def role_arn_for(target: SetupTarget, role: str) -> str:
    return f"arn:{target.user.partition}:iam::{target.user.account_id}:role/{role}"


def role_plan(
    setup: MfaSetup, target: SetupTarget, role: str, serial: str, policy_arns: list[str]
) -> EnforcementPlan:
    iam.check_role_name(role)
    trust_file = f"{role}-trust.json"
    commands = [
        f"aws iam create-role --role-name {shlex.quote(role)} --assume-role-policy-document "
        f"file://{trust_file} --max-session-duration 3600 --description "
        + shlex.quote(f"Assumed by {target.user.name} with MFA (mfa-tui setup)")
    ]
    commands += [
        f"aws iam attach-role-policy --role-name {shlex.quote(role)} --policy-arn "
        f"{shlex.quote(arn)}"
        for arn in policy_arns
    ]
    user_values = setup.service.profile(setup.name).values
    from mfa_tui.core.store import CONNECTION_KEYS

    values = {
        "role_arn": role_arn_for(target, role),
        "source_profile": setup.name,
        "mfa_serial": serial,
        **{k: user_values[k] for k in CONNECTION_KEYS if user_values.get(k)},
    }
    permissions = (
        f"with {', '.join(policy_arns)} attached"
        if policy_arns
        else "with no permissions yet (attach some with --attach-policy ARN)"
    )
    return EnforcementPlan(
        method="role",
        summary=(
            f"Method 2: create the role {role}, which only IAM user {target.user.name} may "
            f"assume and only with MFA, {permissions}; then write [profile {role}] with "
            f"source_profile = {setup.name}. The user's own policies still apply to its "
            "keys without MFA: move its permissions to the role, or add "
            "'--enforce user-policy'."
        ),
        documents={trust_file: mfa_trust_policy(target.user.arn)},
        commands=commands,
        profile_name=role,
        profile_values=values,
    )


def check_role_profile(setup: MfaSetup, plan: EnforcementPlan) -> bool:
    """Before any call: False when the profile is free, True when it is already exactly
    this role's; a UsageError when the name is taken by something else."""
    assert plan.profile_name is not None
    existing = setup.service.profile_set.get(plan.profile_name)
    if existing is None:
        return False
    same = all(existing.values.get(k) == v for k, v in plan.profile_values.items())
    if same:
        return True
    raise UsageError(
        f"a profile named '{plan.profile_name}' already exists in "
        f"{setup.service.paths.config} and is not this role's; choose another role name"
    )


def apply_role(
    setup: MfaSetup, target: SetupTarget, role: str, serial: str, policy_arns: list[str]
) -> list[str]:
    """Create (or find) the role, write its profile, and assume it once to prove it.

    An existing role is used only when its trust policy requires MFA. Raises
    EnforcementRefused with the administrator's plan when the user may not create it.
    """
    plan = role_plan(setup, target, role, serial, policy_arns)
    configured = check_role_profile(setup, plan)
    creds = setup.session_credentials() or setup.long_term_keys()
    done: list[str] = []
    try:
        found = iam.get_role(setup.name, creds, role)
    except AwsRefusedError as exc:
        if exc.code not in _DENIED:
            raise
        found = None  # may not look: try to create it, which says the same if denied
    if found is not None:
        if not trust_requires_mfa(found.trust_policy):
            raise UsageError(
                f"the role {role} already exists and its trust policy does not require MFA "
                "(aws:MultiFactorAuthPresent); choose another role name, or have its trust "
                "policy changed to require MFA"
            )
        done.append(f"The role {found.arn} exists and its trust policy requires MFA.")
    else:
        for policy in policy_arns:
            if iam.policy_exists(setup.name, creds, policy) is False:
                raise UsageError(
                    f"the managed policy {policy} does not exist in account "
                    f"{target.user.account_id}; nothing was changed"
                )
        done += _create_role(setup, target, plan, role, policy_arns, creds)
    if not configured:
        write_profile(setup, plan)
        done.append(f"Wrote [{config_section_for(role)}] into {setup.service.paths.config}.")
    try:
        result = setup.service.refresh(role)
    except NeedsCodeError:
        done.append(f"Get its first session with 'mfa-tui refresh {role}' (it asks for a code).")
    except MfaTuiError as exc:
        done.append(
            f"Assuming {role} did not work yet ({exc.message}); IAM can take a few seconds "
            f"to apply a new role: try 'mfa-tui refresh {role}' in a minute."
        )
    else:
        done.append(f"Assumed {role} from the MFA session: {result.message}.")
    return done


def _create_role(
    setup: MfaSetup,
    target: SetupTarget,
    plan: EnforcementPlan,
    role: str,
    policy_arns: list[str],
    creds: Credentials,
) -> list[str]:
    """CreateRole and AttachRolePolicy; a failure part-way deletes the role again."""
    try:
        arn = iam.create_role(
            setup.name,
            creds,
            role,
            plan.documents[f"{role}-trust.json"],
            f"Assumed by {target.user.name} with MFA (mfa-tui setup)",
        )
    except AwsRefusedError as exc:
        if exc.code not in _DENIED:
            raise
        raise EnforcementRefused(
            f"IAM user {target.user.name} may not create roles (iam:CreateRole denied), so "
            "nothing was changed; an administrator can run the commands below, then run "
            "this command again to write the profile",
            plan,
            code=exc.code,
        ) from None
    done = [f"Created the role {arn}: only {target.user.name} may assume it, with MFA."]
    attached: list[str] = []
    try:
        for policy in policy_arns:
            iam.attach_role_policy(setup.name, creds, role, policy)
            attached.append(policy)
            done.append(f"Attached {policy} to {role}.")
    except MfaTuiError as exc:
        exc.message += ". " + _remove_role(setup, creds, role, attached)
        exc.args = (exc.message,)
        raise
    return done


def _remove_role(setup: MfaSetup, creds: Credentials, role: str, attached: list[str]) -> str:
    """Undo `_create_role`; says whether that worked."""
    try:
        for policy in attached:
            iam.detach_role_policy(setup.name, creds, role, policy)
        iam.delete_role(setup.name, creds, role)
    except MfaTuiError as exc:
        return (
            f"The new role {role} could not be deleted again ({exc.message}); delete it in "
            "the IAM console before trying again"
        )
    return f"The new role {role} was deleted again; nothing is left behind"


def write_profile(setup: MfaSetup, plan: EnforcementPlan) -> None:
    """Add the role's `[profile NAME]` at the end of the config file, losslessly."""
    from mfa_tui.aws.credentials import set_profile_keys

    assert plan.profile_name is not None
    set_profile_keys(setup.service.paths.config, plan.profile_name, plan.profile_values)
    setup.service.reload()
