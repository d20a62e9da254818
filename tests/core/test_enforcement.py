"""`setup --enforce`: the policies, the checks of them, and applying them on moto's IAM."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mfa_tui.aws import iam
from mfa_tui.aws.files import load_profiles
from mfa_tui.aws.mfa_policies import (
    USER_POLICY_NAME,
    denies_without_mfa,
    mfa_trust_policy,
    self_managed_mfa_policy,
    trust_requires_mfa,
)
from mfa_tui.clock import FrozenClock
from mfa_tui.core import enforcement
from mfa_tui.core.codes import UsedCodes
from mfa_tui.core.setup import MfaSetup, SetupTarget
from mfa_tui.errors import AwsRefusedError, UsageError
from tests import stsfault
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox

EXPLICIT = (
    "You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/"
    "test-user is not authorized to perform: ec2:DescribeRegions with an explicit deny in an "
    "identity-based policy. Encoded authorization failure message: AbCdEf"
)
IMPLICIT = (
    "You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/"
    "test-user is not authorized to perform: ec2:DescribeRegions because no identity-based "
    "policy allows the ec2:DescribeRegions action"
)


@pytest.fixture
def ready(
    ec2_ready: None, sandbox: Sandbox, tmp_path: Path, clock: FrozenClock, keyring: MemoryKeyring
) -> Callable[[], tuple[MfaSetup, SetupTarget]]:
    """test-user set up as `setup` leaves it: mfa_serial saved, a valid MFA session."""

    def make() -> tuple[MfaSetup, SetupTarget]:
        setup = MfaSetup(
            "test-user",
            paths=sandbox.paths,
            clock=clock,
            keyring_backend=keyring,
            used_codes=UsedCodes(tmp_path / "codes.json"),
            sleep=clock.advance,
        )
        target = setup.inspect()
        setup.adopt(target, sandbox.test_user.mfa_serial)
        setup.first_session(code="123456")
        return setup, setup.inspect()

    return make


# --- the documents ----------------------------------------------------------------------


def test_the_user_policy_is_awss_self_managed_mfa_policy_and_denies_without_mfa() -> None:
    policy = self_managed_mfa_policy()
    assert denies_without_mfa(policy)
    block = policy["Statement"][-1]
    assert block["Sid"] == "BlockMostAccessUnlessSignedInWithMFA"
    assert block["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    assert "iam:EnableMFADevice" in block["NotAction"]
    assert "iam:CreateVirtualMFADevice" in block["NotAction"]
    china = self_managed_mfa_policy("aws-cn")
    assert china["Statement"][1]["Resource"] == "arn:aws-cn:iam::*:mfa/*"
    # A plain Bool never matches a request signed with long-term keys: not enforcement.
    weak = json.loads(json.dumps(policy).replace("BoolIfExists", "Bool"))
    assert not denies_without_mfa(weak)
    assert not denies_without_mfa({"Statement": {"Effect": "Allow", "Action": "*"}})


def test_trust_policies_are_read_for_an_mfa_condition() -> None:
    user = "arn:aws:iam::123456789012:user/ana"
    assert trust_requires_mfa(mfa_trust_policy(user))
    aged = mfa_trust_policy(user)
    aged["Statement"][0]["Condition"] = {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}
    assert trust_requires_mfa(aged)
    lax = mfa_trust_policy(user)
    del lax["Statement"][0]["Condition"]
    assert not trust_requires_mfa(lax)
    # One statement without the condition is a way in without MFA.
    mixed = mfa_trust_policy(user)
    mixed["Statement"].append(lax["Statement"][0])
    assert not trust_requires_mfa(mixed)
    # Keys are case-insensitive in IAM.
    shouting = mfa_trust_policy(user)
    shouting["Statement"][0]["Condition"] = {"Bool": {"AWS:MULTIFACTORAUTHPRESENT": "TRUE"}}
    assert trust_requires_mfa(shouting)
    assert not trust_requires_mfa({"Statement": []})


# --- is MFA really enforced -------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "state"),
    [
        ([], iam.Enforcement.NOT_ENFORCED),
        ([stsfault.error("UnauthorizedOperation", EXPLICIT, 403)], iam.Enforcement.ENFORCED),
        ([stsfault.error("UnauthorizedOperation", IMPLICIT, 403)], iam.Enforcement.ENFORCED),
        (
            [stsfault.error("UnauthorizedOperation", IMPLICIT, 403)] * 2,
            iam.Enforcement.UNKNOWN,
        ),
    ],
    ids=["keys-work", "explicit-deny", "needs-mfa-session", "denied-either-way"],
)
def test_keys_need_mfa_asks_aws_with_one_harmless_call(
    sandbox: Sandbox,
    ready: Callable[[], tuple[MfaSetup, SetupTarget]],
    answers: list[stsfault.Fault],
    state: iam.Enforcement,
) -> None:
    setup, _ = ready()
    sandbox.fault.clear()
    sandbox.fault.queue(*answers)
    check = iam.keys_need_mfa("test-user", setup.long_term_keys(), setup.session_credentials())
    assert check.state is state
    assert "Encoded authorization" not in check.message
    calls = [r for r in sandbox.fault.requests if r.action == "DescribeRegions"]
    # The first call is always the long-term keys alone; the session only when needed.
    assert [c.session_token is not None for c in calls] == (
        [False, True] if answers and "no identity-based" in answers[0].message else [False]
    )


def test_the_probe_is_given_up_at_the_deadline_like_every_other_call(
    sandbox: Sandbox,
    ready: Callable[[], tuple[MfaSetup, SetupTarget]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Before, DescribeRegions was the one call not run under the overall deadline: an
    # answer coming a byte at a time kept doctor and setup --enforce waiting for minutes.
    from mfa_tui.errors import NetworkError

    setup, _ = ready()
    monkeypatch.setenv("MFA_TUI_STS_DEADLINE", "1.5")
    sandbox.fault.clear()
    sandbox.fault.always = stsfault.trickle(0.1, "body", action="DescribeRegions")
    with pytest.raises(NetworkError, match=r"DescribeRegions .* within 1\.5 s") as info:
        iam.keys_need_mfa("test-user", setup.long_term_keys(), setup.session_credentials())
    assert int(info.value.exit_code) == 5
    assert [r.action for r in sandbox.fault.requests] == ["DescribeRegions"]


# --- method 1 ---------------------------------------------------------------------------


def test_user_policy_dry_run_shows_the_policy_and_the_exact_command(
    sandbox: Sandbox, ready: Callable[[], tuple[MfaSetup, SetupTarget]]
) -> None:
    _, target = ready()
    plan = enforcement.user_policy_plan(target)
    script = plan.script()
    assert script.startswith("cat > mfa-tui-require-mfa.json <<'EOF'\n")
    document = json.loads(script.split("<<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0])
    assert document == self_managed_mfa_policy()
    assert script.endswith(
        "aws iam put-user-policy --user-name test-user --policy-name mfa-tui-require-mfa "
        "--policy-document file://mfa-tui-require-mfa.json"
    )


def test_user_policy_applied_with_the_mfa_session_then_checked(
    sandbox: Sandbox, ready: Callable[[], tuple[MfaSetup, SetupTarget]]
) -> None:
    setup, target = ready()
    sandbox.fault.clear()
    sandbox.fault.queue(stsfault.error("UnauthorizedOperation", EXPLICIT, 403, "DescribeRegions"))
    done = enforcement.apply_user_policy(setup, target)
    put = sandbox.admin("iam").get_user_policy(UserName="test-user", PolicyName=USER_POLICY_NAME)
    assert put["PolicyDocument"] == self_managed_mfa_policy()
    (call,) = [r for r in sandbox.fault.requests if r.action == "PutUserPolicy"]
    assert call.session_token is not None  # made with the MFA session, not the bare keys
    assert done[-1].startswith("MFA is enforced")


def test_user_policy_refused_gives_the_administrators_commands_and_changes_nothing(
    sandbox: Sandbox, ready: Callable[[], tuple[MfaSetup, SetupTarget]]
) -> None:
    setup, target = ready()
    before = sandbox.paths.config.read_bytes()
    sandbox.fault.queue(
        stsfault.error("AccessDenied", "not authorized: iam:PutUserPolicy", 403, "PutUserPolicy")
    )
    with pytest.raises(enforcement.EnforcementRefused) as refused:
        enforcement.apply_user_policy(setup, target)
    assert "put-user-policy --user-name test-user" in refused.value.plan.script()
    assert refused.value.exit_code == 4
    assert sandbox.admin("iam").list_user_policies(UserName="test-user")["PolicyNames"] == [
        "assume-roles"
    ]
    assert sandbox.paths.config.read_bytes() == before


# --- method 2 ---------------------------------------------------------------------------


def test_role_applied_creates_an_mfa_role_writes_its_profile_and_assumes_it(
    sandbox: Sandbox, ready: Callable[[], tuple[MfaSetup, SetupTarget]]
) -> None:
    setup, target = ready()
    serial = sandbox.test_user.mfa_serial
    sandbox.admin("iam").create_policy(
        PolicyName="read-things", PolicyDocument=json.dumps(self_managed_mfa_policy())
    )
    policy = "arn:aws:iam::123456789012:policy/read-things"
    before = sandbox.paths.config.read_bytes()
    done = enforcement.apply_role(setup, target, "mfa-admin", serial, [policy])
    role = sandbox.admin("iam").get_role(RoleName="mfa-admin")["Role"]
    assert trust_requires_mfa(role["AssumeRolePolicyDocument"])
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"AWS": target.user.arn}
    attached = sandbox.admin("iam").list_attached_role_policies(RoleName="mfa-admin")
    assert [p["PolicyArn"] for p in attached["AttachedPolicies"]] == [policy]
    after = sandbox.paths.config.read_bytes()
    assert after.startswith(before)  # appended; every byte before it kept
    profile = load_profiles(sandbox.paths).profiles["mfa-admin"]
    assert profile.role_arn == role["Arn"]
    assert profile.source_profile == "test-user" and profile.mfa_serial == serial
    assert profile.values["endpoint_url"] == sandbox.fault.url  # connects like its user
    assert [c["RoleArn"] for c in sandbox.fault.calls("AssumeRole")] == [role["Arn"]]
    assert done[-1].startswith("Assumed mfa-admin from the MFA session")
    # Again: the role and the profile are found, nothing is created or written twice.
    again = enforcement.apply_role(setup, target, "mfa-admin", serial, [policy])
    assert again[0].startswith("The role arn:aws:iam::123456789012:role/mfa-admin exists")
    assert sandbox.paths.config.read_bytes() == after


def test_a_role_whose_attach_fails_is_deleted_again(
    sandbox: Sandbox, ready: Callable[[], tuple[MfaSetup, SetupTarget]]
) -> None:
    setup, target = ready()
    before = sandbox.paths.config.read_bytes()
    policy = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    # The user may not look the policy up, so the role is made; then attaching fails.
    sandbox.fault.queue(
        stsfault.error("AccessDenied", "not authorized: iam:GetPolicy", 403, "GetPolicy"),
        stsfault.error("AccessDenied", "not authorized", 403, "AttachRolePolicy"),
    )
    with pytest.raises(AwsRefusedError, match="was deleted again; nothing is left behind"):
        enforcement.apply_role(setup, target, "half-role", sandbox.test_user.mfa_serial, [policy])
    names = [r["RoleName"] for r in sandbox.admin("iam").list_roles()["Roles"]]
    assert "half-role" not in names
    assert sandbox.fault.calls("DeleteRole") == [
        {"Action": "DeleteRole", "Version": "2010-05-08", "RoleName": "half-role"}
    ]
    assert sandbox.paths.config.read_bytes() == before


def test_role_refusals_come_before_anything_is_changed(
    sandbox: Sandbox, ready: Callable[[], tuple[MfaSetup, SetupTarget]]
) -> None:
    setup, target = ready()
    serial = sandbox.test_user.mfa_serial
    before = sandbox.paths.config.read_bytes()
    # A profile of that name that is something else.
    with pytest.raises(UsageError, match="already exists"):
        enforcement.apply_role(setup, target, "ops-user", serial, [])
    # An existing role whose trust policy lets the user in without MFA.
    sandbox.admin("iam").create_role(
        RoleName="open-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": target.user.arn},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    with pytest.raises(UsageError, match="does not require MFA"):
        enforcement.apply_role(setup, target, "open-role", serial, [])
    # A managed policy that does not exist.
    with pytest.raises(UsageError, match="does not exist"):
        enforcement.apply_role(
            setup, target, "new-role", serial, ["arn:aws:iam::123456789012:policy/nothing"]
        )
    # The user may not create roles: the administrator's commands, nothing changed.
    sandbox.fault.queue(stsfault.error("AccessDenied", "not authorized", 403, "CreateRole"))
    with pytest.raises(enforcement.EnforcementRefused) as refused:
        enforcement.apply_role(setup, target, "new-role", serial, [])
    script = refused.value.plan.script()
    assert "aws iam create-role --role-name new-role" in script
    assert "[profile new-role]\nrole_arn = arn:aws:iam::123456789012:role/new-role\n" in (
        refused.value.plan.profile_text()
    )
    assert sandbox.fault.calls("AttachRolePolicy") == []
    assert sandbox.paths.config.read_bytes() == before
