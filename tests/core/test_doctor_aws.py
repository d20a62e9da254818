"""doctor's questions to AWS, against moto's IAM, STS and EC2 behind the fault proxy: the
keys' age and last use (with a session at hand), whether they work without MFA, whether
they are valid at all, and the clock against STS's `Date`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mfa_tui.aws.files import load_profiles
from mfa_tui.core.doctor_aws import aws_findings, span
from mfa_tui.core.findings import Area, Finding, Severity
from mfa_tui.core.sessions import SessionService
from mfa_tui.errors import UsageError
from mfa_tui.sandbox import ACCOUNT_ID
from mfa_tui.settings import Settings
from tests import stsfault
from tests.core.test_enforcement import EXPLICIT, IMPLICIT
from tests.moto_fixtures import Sandbox

KEY_CALLS = ("GetAccessKeyLastUsed", "ListAccessKeys")


@pytest.fixture(autouse=True)
def ec2(ec2_ready: None) -> None:
    """The probe calls EC2; moto's first EC2 call is slow (see moto_fixtures)."""


def check(sandbox: Sandbox, *names: str) -> list[Finding]:
    """What doctor finds asking AWS about `names` (all users when none), now."""
    profile_set = load_profiles(sandbox.paths)
    return aws_findings(profile_set, Settings(), list(names) or None, datetime.now(UTC))


def of(found: list[Finding], check_name: str, profile: str | None = None) -> Finding:
    (hit,) = [
        f for f in found if f.check == check_name and (profile is None or f.profile == profile)
    ]
    return hit


def with_session(sandbox: Sandbox, service: SessionService) -> None:
    """test-user's MFA session stored, as after `mfa-tui refresh test-user`."""
    service.refresh("test-user", code="123456")
    sandbox.fault.clear()


def moto_key(key_id: str) -> Any:
    """moto's own record of an access key, to set the stage (its age)."""
    from moto.iam.models import iam_backends

    return iam_backends[ACCOUNT_ID]["aws"].access_keys[key_id]


# --- do the keys work without MFA? -------------------------------------------------------


def test_keys_that_work_without_mfa_are_a_problem_pointing_to_setup_enforce(
    sandbox: Sandbox,
) -> None:
    found = check(sandbox)
    test_user = of(found, "mfa-enforced", "test-user")
    assert test_user.severity is Severity.PROBLEM
    assert test_user.message.startswith("These keys work without MFA")
    assert test_user.fix == (
        "'mfa-tui setup test-user --enforce user-policy' (or '--enforce role NAME') shows how "
        "to require MFA"
    )
    # No MFA device in the files at all: setup gives it one first.
    new_user = of(found, "mfa-enforced", "new-user")
    assert new_user.fix is not None
    assert new_user.fix.startswith("'mfa-tui setup new-user' gives it an MFA device first")
    # One harmless call per user, with the long-term keys alone.
    probes = [r for r in sandbox.fault.requests if r.action == "DescribeRegions"]
    keys = {u.access_key_id for u in sandbox.account.users.values()}
    keys.add(sandbox.account.new_user.access_key_id)  # type: ignore[union-attr]
    assert sorted(p.access_key_id or "" for p in probes) == sorted(keys)
    assert all(p.session_token is None for p in probes)


def test_keys_a_policy_denies_without_mfa_are_fine(sandbox: Sandbox) -> None:
    sandbox.fault.queue(stsfault.error("UnauthorizedOperation", EXPLICIT, 403, "DescribeRegions"))
    found = of(check(sandbox, "test-user"), "mfa-enforced")
    assert found.severity is Severity.OK
    assert found.message.startswith("MFA is enforced")
    assert "Encoded authorization" not in found.message


def test_keys_denied_alone_but_allowed_with_the_session_need_mfa(
    sandbox: Sandbox, service: SessionService
) -> None:
    with_session(sandbox, service)
    sandbox.fault.queue(stsfault.error("UnauthorizedOperation", IMPLICIT, 403, "DescribeRegions"))
    found = of(check(sandbox, "test-user"), "mfa-enforced")
    assert found.severity is Severity.OK and "with an MFA session" in found.message
    probes = [r for r in sandbox.fault.requests if r.action == "DescribeRegions"]
    assert [p.session_token is not None for p in probes] == [False, True]


def test_denied_either_way_cannot_be_told_and_needs_no_attention(sandbox: Sandbox) -> None:
    sandbox.fault.queue(stsfault.error("UnauthorizedOperation", IMPLICIT, 403, "DescribeRegions"))
    found = of(check(sandbox, "test-user"), "mfa-enforced")
    assert found.severity is Severity.INFO and found.message.startswith("Cannot tell")


# --- are the keys valid at all? ---------------------------------------------------------


def test_keys_aws_does_not_know_are_a_problem_and_nothing_more_is_asked(
    sandbox: Sandbox,
) -> None:
    sandbox.fault.queue(stsfault.invalid_client_token_id("GetCallerIdentity"))
    found = check(sandbox, "test-user")
    key = of(found, "access-key", "test-user")
    assert key.severity is Severity.PROBLEM
    assert "the access key of profile 'test-user' is not valid" in key.message
    assert "DescribeRegions" not in sandbox.fault.actions()
    assert of(found, "clock").severity is Severity.OK  # the refusal had a Date too


ROOT_IDENTITY = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:root</Arn>"
    b"<UserId>123456789012</UserId><Account>123456789012</Account>"
    b"</GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId>"
    b"</ResponseMetadata></GetCallerIdentityResponse>"
)


def test_root_keys_are_a_problem(sandbox: Sandbox) -> None:
    sandbox.fault.queue(stsfault.Fault(status=200, body=ROOT_IDENTITY, action="GetCallerIdentity"))
    key = of(check(sandbox, "test-user"), "access-key", "test-user")
    assert key.severity is Severity.PROBLEM and "root user keys" in key.message


# --- key age and last use, with a session at hand --------------------------------------


def test_without_a_session_key_age_is_not_asked(sandbox: Sandbox) -> None:
    found = check(sandbox, "test-user")
    info = of(found, "key-age", "test-user")
    assert info.severity is Severity.INFO and "none is at hand" in info.message
    assert info.fix == "mfa-tui refresh test-user, then run doctor again"
    assert not set(KEY_CALLS) & set(sandbox.fault.actions())


def test_an_old_key_is_a_warning_and_its_last_use_is_not_doctors_own(
    sandbox: Sandbox, service: SessionService
) -> None:
    key_id = sandbox.test_user.access_key_id
    with_session(sandbox, service)  # GetSessionToken: the key's last use, by STS
    moto_key(key_id).create_date = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=120)
    found = check(sandbox, "test-user")
    age = of(found, "key-age", "test-user")
    assert age.severity is Severity.WARNING
    assert age.message.startswith(f"its access key {key_id} (IAM user test-user) is 120 days old")
    # The use before doctor's own calls with the key (its probe is by EC2).
    assert "last used" in age.message and "by sts in us-east-1" in age.message
    assert age.fix is not None and "rotate it" in age.fix
    # Asked with the MFA session, before anything is signed with the key itself.
    order = [(r.action, r.session_token is not None) for r in sandbox.fault.requests]
    assert order[:2] == [("GetAccessKeyLastUsed", True), ("ListAccessKeys", True)]
    assert [r.access_key_id for r in sandbox.fault.requests[2:]].count(key_id) >= 2


def test_a_key_is_due_in_doctor_on_the_day_list_and_the_dashboard_call_it_due(
    sandbox: Sandbox, service: SessionService
) -> None:
    from mfa_tui.listing import key_age

    key_id = sandbox.test_user.access_key_id
    with_session(sandbox, service)
    for old, severity in (
        (timedelta(days=89, hours=23), Severity.OK),
        (timedelta(days=90, hours=1), Severity.WARNING),  # doctor once said OK until 91
    ):
        made = datetime.now(UTC) - old
        moto_key(key_id).create_date = made.replace(tzinfo=None)
        age = of(check(sandbox, "test-user"), "key-age", "test-user")
        assert age.severity is severity, (old, age.message)
        due = key_age(made.timestamp(), datetime.now(UTC).timestamp())[1]
        assert due is (severity is Severity.WARNING)


def test_a_young_key_is_fine(sandbox: Sandbox, service: SessionService) -> None:
    with_session(sandbox, service)
    age = of(check(sandbox, "test-user"), "key-age", "test-user")
    assert age.severity is Severity.OK
    assert " is 0 days old (last used " in age.message


def test_another_active_key_nobody_here_holds_is_a_warning(
    sandbox: Sandbox, service: SessionService
) -> None:
    with_session(sandbox, service)
    iam = sandbox.admin("iam")
    other = iam.create_access_key(UserName="test-user")["AccessKey"]["AccessKeyId"]
    inactive = iam.create_access_key(UserName="ops-user")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="ops-user", AccessKeyId=inactive, Status="Inactive")
    found = check(sandbox, "test-user")
    extra = of(found, "other-key", "test-user")
    assert extra.severity is Severity.WARNING
    assert f"another active access key, {other} (0 days old, never used)" in extra.message
    assert extra.fix == "nothing has used it for a long time: deactivate it in IAM, then delete it"
    # Used lately (by another computer?): it may be meant; the advice says so.
    from moto.iam.models import AccessKeyLastUsed

    moto_key(other).last_used = AccessKeyLastUsed(
        timestamp=datetime.now(UTC).replace(tzinfo=None) - timedelta(days=2),
        service="s3",
        region="eu-west-1",
    )
    extra = of(check(sandbox, "test-user"), "other-key", "test-user")
    assert "last used 2 days ago by s3 in eu-west-1" in extra.message
    assert extra.fix is not None and extra.fix.startswith("if it is not in use elsewhere")


def test_a_session_aws_no_longer_takes_is_a_warning_not_a_crash(
    sandbox: Sandbox, service: SessionService
) -> None:
    with_session(sandbox, service)
    sandbox.fault.queue(stsfault.expired_token("GetAccessKeyLastUsed"))
    found = of(check(sandbox, "test-user"), "key-age", "test-user")
    assert found.severity is Severity.WARNING
    assert found.message.startswith("could not read the age of its access key")


# --- the clock ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "severity", "words"),
    [
        (timedelta(0), Severity.OK, "agrees with AWS's"),
        (timedelta(minutes=1), Severity.INFO, " s ahead of AWS's"),
        (timedelta(minutes=-7), Severity.WARNING, "7 minutes behind AWS's"),
        (timedelta(minutes=7), Severity.WARNING, "7 minutes ahead of AWS's"),
    ],
)
def test_the_clock_is_judged_by_stss_date(
    sandbox: Sandbox, offset: timedelta, severity: Severity, words: str
) -> None:
    # STS's clock is `offset` behind ours: its Date header says so.
    sandbox.fault.date_header = stsfault.http_date(datetime.now(UTC) - offset)
    clock = of(check(sandbox, "test-user"), "clock")
    assert clock.area is Area.COMPUTER and clock.severity is severity
    assert words in clock.message and "STS's answer about 'test-user'" in clock.message


def test_a_clock_aws_refuses_is_named_as_the_clock_not_the_key(sandbox: Sandbox) -> None:
    now = datetime.now(UTC)
    sts_time = now + timedelta(minutes=20)
    sandbox.fault.queue(stsfault.signature_expired(now, sts_time, "GetCallerIdentity"))
    found = check(sandbox, "test-user")
    clock = of(found, "clock")
    assert clock.severity is Severity.PROBLEM
    assert "20 minutes behind AWS's" in clock.message
    assert "AWS refuses every request signed more than 15 minutes off" in clock.message
    key = of(found, "access-key", "test-user")
    assert "clock" in key.message and "not valid" not in key.message


def test_no_answer_from_aws_is_a_warning_for_each_user_and_the_clock(sandbox: Sandbox) -> None:
    sandbox.fault.stop()  # nothing listens there any more
    found = check(sandbox, "test-user")
    unreachable = of(found, "aws", "test-user")
    assert unreachable.severity is Severity.WARNING
    assert unreachable.message.startswith("could not ask AWS: ")
    assert unreachable.fix is not None and "--offline" in unreachable.fix
    clock = of(found, "clock")
    assert clock.severity is Severity.WARNING and "not checked" in clock.message


# --- whom to ask ----------------------------------------------------------------------


def test_a_role_names_its_user_and_only_that_user_is_asked(sandbox: Sandbox) -> None:
    found = check(sandbox, "chained-role")
    assert {f.profile for f in found if f.profile} == {"test-user"}
    signed = {r.access_key_id for r in sandbox.fault.requests}
    assert signed == {sandbox.test_user.access_key_id}


@pytest.mark.parametrize(
    ("name", "words"),
    [("nobody", "unknown profile 'nobody'"), ("corp-sso", "whose chain ends at no user")],
)
def test_a_profile_without_a_user_to_ask_about_is_a_usage_error(
    sandbox: Sandbox, name: str, words: str
) -> None:
    with pytest.raises(UsageError, match=words):
        check(sandbox, name)
    assert sandbox.fault.requests == []


def test_no_user_with_keys_means_nothing_to_ask(sandbox: Sandbox) -> None:
    sandbox.paths.credentials.write_text("")
    (only,) = check(sandbox)
    assert only.severity is Severity.INFO and "nothing to ask AWS about" in only.message


def test_span_says_lengths_of_time_as_people_do() -> None:
    assert [span(s) for s in (0, 40, 89, 90, 420, 5400, 7 * 3600, 3 * 86400)] == [
        "0 s",
        "40 s",
        "89 s",
        "2 minutes",
        "7 minutes",
        "2 hours",
        "7 hours",
        "3 days",
    ]


def test_every_call_uses_the_files_doctor_read_not_a_parse_of_its_own(
    sandbox: Sandbox, service: SessionService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before, each call (caller, the probes, the key's last use, the key list, each
    # other key's last use) parsed both AWS files again to find its endpoint: about
    # five parses a user, each a whole read at thousands of profiles.
    from mfa_tui.aws import sts

    with_session(sandbox, service)
    other = sandbox.admin("iam").create_access_key(UserName="test-user")["AccessKey"]
    profile_set = load_profiles(sandbox.paths)
    monkeypatch.setattr(sts, "load_profiles", lambda *a, **k: pytest.fail("files read again"))
    found = aws_findings(profile_set, Settings(), ["test-user"], datetime.now(UTC))
    assert of(found, "key-age", "test-user").severity is Severity.OK
    assert other["AccessKeyId"] in of(found, "other-key", "test-user").message
    assert of(found, "mfa-enforced", "test-user").severity is not Severity.WARNING
    assert len(sandbox.fault.actions()) >= 5  # every call was made, over the network
