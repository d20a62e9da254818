"""`mfa-tui setup`'s steps against moto's IAM, through the fault proxy.

moto accepts any codes at EnableMFADevice, so what these tests check is what was
sent: exactly two consecutive codes of the seed the new device was created with. The
proxy also plays IAM's refusals (AccessDenied, a dropped connection) mid-flow, and
every one must leave no device behind and the files byte for byte as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest

from mfa_tui.aws import ini
from mfa_tui.clock import FrozenClock
from mfa_tui.core.codes import UsedCodes
from mfa_tui.core.setup import MfaSetup, PendingDevice, SetupTarget, default_device_name
from mfa_tui.errors import AwsRefusedError, NetworkError, UsageError
from tests import stsfault
from tests.memkeyring import MemoryKeyring
from tests.moto_fixtures import Sandbox

SetupFactory = Callable[..., MfaSetup]
DENIED = "User: arn:aws:iam::123456789012:user/new-user is not authorized to perform: {}"


@pytest.fixture
def make_setup(
    sandbox: Sandbox, tmp_path: Path, clock: FrozenClock, keyring: MemoryKeyring
) -> SetupFactory:
    def sleep(seconds: float) -> None:
        clock.advance(seconds)

    def make(profile: str = "new-user", **kwargs: Any) -> MfaSetup:
        return MfaSetup(
            profile,
            paths=sandbox.paths,
            clock=clock,
            keyring_backend=keyring,
            used_codes=UsedCodes(tmp_path / "state" / "codes.json"),
            sleep=sleep,
            **kwargs,
        )

    return make


def virtual_devices(sandbox: Sandbox) -> list[str]:
    answer = sandbox.admin("iam").list_virtual_mfa_devices()
    return [d["SerialNumber"] for d in answer["VirtualMFADevices"]]


def files(sandbox: Sandbox) -> tuple[bytes, bytes]:
    return sandbox.paths.config.read_bytes(), sandbox.paths.credentials.read_bytes()


def consecutive_codes_of(seed: str, code1: str, code2: str, near: float) -> bool:
    totp, now = pyotp.TOTP(seed), int(near // 30)
    return any(
        (totp.at(s * 30), totp.at((s + 1) * 30)) == (code1, code2) for s in range(now - 12, now + 2)
    )


def started(setup: MfaSetup) -> tuple[SetupTarget, PendingDevice]:
    setup.check_local()
    target = setup.inspect()
    return target, setup.create(target)


def test_a_new_device_gets_two_consecutive_codes_of_its_seed_then_a_session(
    sandbox: Sandbox, make_setup: SetupFactory, clock: FrozenClock
) -> None:
    config_before, creds_before = files(sandbox)
    setup = make_setup()
    setup.check_local(store_seed=True)
    target = setup.inspect()
    assert target.user.name == "new-user" and target.devices == ()
    assert target.configured is None
    with setup.new_device(target) as pending:
        assert pending.serial == "arn:aws:iam::123456789012:mfa/new-user"
        assert pending.seed not in repr(pending)
        setup.enable(pending, *setup.codes_from_seed(pending))
    done = setup.adopt(target, pending.serial, seed=pending.seed)
    result = setup.first_session()

    enables = sandbox.fault.calls("EnableMFADevice")
    assert len(enables) == 1
    sent = enables[0]
    assert sent["UserName"] == "new-user" and sent["SerialNumber"] == pending.serial
    assert consecutive_codes_of(
        pending.seed, sent["AuthenticationCode1"], sent["AuthenticationCode2"], clock.time()
    )
    devices = sandbox.admin("iam").list_mfa_devices(UserName="new-user")["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [pending.serial]
    # The config gained exactly one line, in [profile new-user]; every other byte stays.
    line = f"mfa_serial = {pending.serial}\n".encode()
    config_after = sandbox.paths.config.read_bytes()
    anchor = config_before.index(b"[profile new-user]\n")
    end = config_before.index(b"\n\n", anchor) + 1
    assert config_after == config_before[:end] + line + config_before[end:]
    assert any("Saved mfa_serial" in d for d in done)
    # The session used a code of the next step: AWS takes each code once.
    (asked,) = sandbox.fault.calls("GetSessionToken")
    assert asked["SerialNumber"] == pending.serial
    assert asked["TokenCode"] not in (sent["AuthenticationCode1"], sent["AuthenticationCode2"])
    assert consecutive_codes_of(
        pending.seed, sent["AuthenticationCode2"], asked["TokenCode"], clock.time()
    )
    assert result.session_profile == "new-user-mfa"
    # The credentials file only gained the session section.
    creds_after = sandbox.paths.credentials.read_bytes()
    assert creds_after.startswith(creds_before)
    assert (
        ini.read(sandbox.paths.credentials).section_values()["new-user-mfa"]["mfa_tui_source"]
        == "new-user"
    )
    assert setup.service.devices.seeds.get(pending.serial) == pending.seed


def test_typed_codes_that_do_not_fit_the_seed_are_refused_before_aws_is_asked(
    sandbox: Sandbox, make_setup: SetupFactory, clock: FrozenClock
) -> None:
    setup = make_setup()
    _, pending = started(setup)
    totp, step = pyotp.TOTP(pending.seed), int(clock.time() // 30)
    code = totp.at(step * 30)
    with pytest.raises(UsageError, match="two different codes"):
        setup.enable(pending, code, code)
    with pytest.raises(UsageError, match="not the one that follows"):
        setup.enable(pending, totp.at(step * 30), totp.at((step - 1) * 30))
    other = pyotp.TOTP(pyotp.random_base32())
    with pytest.raises(UsageError, match="not from the new device"):
        setup.enable(pending, other.at(step * 30), other.at((step + 1) * 30))
    with pytest.raises(UsageError, match="6 digits"):
        setup.enable(pending, "12345", code)
    assert sandbox.fault.calls("EnableMFADevice") == []
    # Two codes a person typed a minute apart still fit.
    setup.enable(pending, totp.at((step - 2) * 30), totp.at((step - 1) * 30))
    assert len(sandbox.fault.calls("EnableMFADevice")) == 1


@pytest.mark.parametrize(
    "fault",
    [
        stsfault.error(
            "AccessDenied", DENIED.format("iam:EnableMFADevice"), 403, "EnableMFADevice"
        ),
        stsfault.disconnect("EnableMFADevice"),
        stsfault.internal_error("EnableMFADevice"),
    ],
    ids=["access-denied", "connection-dropped", "internal-error"],
)
def test_an_iam_failure_at_enable_deletes_the_new_device_and_writes_nothing(
    sandbox: Sandbox, make_setup: SetupFactory, fault: stsfault.Fault
) -> None:
    before = files(sandbox)
    setup = make_setup()
    target = setup.inspect()
    sandbox.fault.always = fault
    with (
        pytest.raises((AwsRefusedError, NetworkError)) as caught,
        setup.new_device(target) as pending,
    ):
        setup.enable(pending, *setup.codes_from_seed(pending))
    sandbox.fault.always = None
    assert "was deleted again; nothing is left behind" in caught.value.message
    assert pending.seed not in caught.value.message
    assert sandbox.fault.calls("DeleteVirtualMFADevice") == [
        {
            "Action": "DeleteVirtualMFADevice",
            "Version": "2010-05-08",
            "SerialNumber": pending.serial,
        }
    ]
    assert virtual_devices(sandbox) == [
        d for d in virtual_devices(sandbox) if not d.endswith("/new-user")
    ]
    assert sandbox.admin("iam").list_mfa_devices(UserName="new-user")["MFADevices"] == []
    assert files(sandbox) == before


def test_an_enable_that_worked_behind_a_dropped_answer_is_kept(
    sandbox: Sandbox, make_setup: SetupFactory
) -> None:
    """A timeout can hide an EnableMFADevice that AWS did: the device is asked about
    (ListMFADevices) before anything is deleted, and then kept."""
    setup = make_setup()
    target = setup.inspect()
    sandbox.fault.queue(stsfault.lost_answer("EnableMFADevice"))
    with setup.new_device(target) as pending:
        setup.enable(pending, *setup.codes_from_seed(pending))
    assert sandbox.fault.calls("DeleteVirtualMFADevice") == []
    assert sandbox.fault.pending() == []
    devices = sandbox.admin("iam").list_mfa_devices(UserName="new-user")["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [pending.serial]


def test_codes_aws_refuses_keep_the_device_for_two_new_ones(
    sandbox: Sandbox, make_setup: SetupFactory, clock: FrozenClock
) -> None:
    setup = make_setup()
    target = setup.inspect()
    sandbox.fault.queue(
        stsfault.error(
            "InvalidAuthenticationCode",
            "Authentication code for device is not valid.",
            403,
            "EnableMFADevice",
        )
    )
    with setup.new_device(target) as pending:
        with pytest.raises(AwsRefusedError) as refused:
            setup.enable(pending, *setup.codes_from_seed(pending))
        assert setup.can_retry(refused.value)
        assert "two consecutive codes" in refused.value.message
        assert sandbox.fault.calls("DeleteVirtualMFADevice") == []
        clock.advance(60)
        setup.enable(pending, *setup.codes_from_seed(pending))
    assert len(sandbox.fault.calls("EnableMFADevice")) == 2
    assert sandbox.fault.calls("DeleteVirtualMFADevice") == []


def test_giving_up_before_enabling_deletes_the_device(
    sandbox: Sandbox, make_setup: SetupFactory
) -> None:
    before = files(sandbox)
    setup = make_setup()
    target = setup.inspect()
    with pytest.raises(KeyboardInterrupt), setup.new_device(target) as pending:
        raise KeyboardInterrupt
    assert [c["SerialNumber"] for c in sandbox.fault.calls("DeleteVirtualMFADevice")] == [
        pending.serial
    ]
    assert not any(d.endswith("/new-user") for d in virtual_devices(sandbox))
    assert files(sandbox) == before


def test_a_device_that_cannot_be_deleted_is_named_with_how_to_delete_it(
    sandbox: Sandbox, make_setup: SetupFactory
) -> None:
    setup = make_setup()
    target = setup.inspect()
    sandbox.fault.queue(
        stsfault.error(
            "AccessDenied", DENIED.format("iam:EnableMFADevice"), 403, "EnableMFADevice"
        ),
        stsfault.error(
            "AccessDenied",
            DENIED.format("iam:DeleteVirtualMFADevice"),
            403,
            "DeleteVirtualMFADevice",
        ),
    )
    with pytest.raises(AwsRefusedError) as caught, setup.new_device(target) as pending:
        setup.enable(pending, *setup.codes_from_seed(pending))
    message = caught.value.message
    assert "AWS denied EnableMFADevice" in message
    assert f"aws iam delete-virtual-mfa-device --serial-number {pending.serial}" in message
    assert len(sandbox.fault.calls("DeleteVirtualMFADevice")) == 1  # once, not twice


def test_iam_refusals_at_create_say_what_to_do_and_change_nothing(
    sandbox: Sandbox, make_setup: SetupFactory
) -> None:
    before = files(sandbox)
    setup = make_setup()
    target = setup.inspect()
    sandbox.fault.queue(
        stsfault.error(
            "AccessDenied",
            DENIED.format("iam:CreateVirtualMFADevice"),
            403,
            "CreateVirtualMFADevice",
        )
    )
    with pytest.raises(AwsRefusedError, match="iam:CreateVirtualMFADevice") as denied:
        setup.create(target)
    assert denied.value.exit_code == 4
    sandbox.admin("iam").create_virtual_mfa_device(VirtualMFADeviceName="new-user")
    with pytest.raises(AwsRefusedError, match="--device-name") as taken:
        setup.create(target)
    assert taken.value.title == "Device name taken"
    assert files(sandbox) == before


def test_a_user_with_devices_is_offered_them_and_one_is_saved_as_mfa_serial(
    sandbox: Sandbox, make_setup: SetupFactory
) -> None:
    """test-user has a device but no mfa_serial of its own in the config."""
    setup = make_setup("test-user")
    setup.check_local()
    target = setup.inspect()
    serial = sandbox.test_user.mfa_serial
    assert [d.serial for d in target.devices] == [serial]
    assert target.configured_device is None  # only its roles name the device
    assert target.device(serial).usable
    with pytest.raises(UsageError, match="not an MFA device of IAM user test-user"):
        target.device("arn:aws:iam::123456789012:mfa/ops-user")
    done = setup.adopt(target, serial)
    assert done == [
        f"Saved mfa_serial = {serial} in [profile test-user] in {sandbox.paths.config}."
    ]
    assert (
        ini.read(sandbox.paths.config).section_values()["profile test-user"]["mfa_serial"] == serial
    )
    assert sandbox.fault.calls("CreateVirtualMFADevice") == []


def test_setup_refuses_what_it_could_not_finish_before_asking_aws(
    sandbox: Sandbox, make_setup: SetupFactory
) -> None:
    with pytest.raises(UsageError, match="role profile"):
        make_setup("my-test-role").check_local()
    with pytest.raises(UsageError, match="unknown profile"):
        make_setup("nobody").check_local()
    with sandbox.paths.credentials.open("a") as fh:
        fh.write("\n[new-user-mfa]\naws_access_key_id = AKIAMINE\naws_secret_access_key = x\n")
    with pytest.raises(Exception, match="was not written by mfa-tui"):
        make_setup().check_local()
    assert sandbox.fault.requests == []


def test_default_device_names_skip_the_users_own() -> None:
    from mfa_tui.aws.iam import MfaDevice

    mine = (MfaDevice("arn:aws:iam::1:mfa/ana"), MfaDevice("arn:aws:iam::1:mfa/ana-2"))
    assert default_device_name("ana", ()) == "ana"
    assert default_device_name("ana", mine) == "ana-3"


def test_a_device_made_again_under_its_old_name_loses_the_old_seeds_refusal(
    sandbox: Sandbox, make_setup: SetupFactory, tmp_path: Path
) -> None:
    # AWS refused the codes of new-user's earlier seed; the person deleted that device
    # and runs setup again: the new virtual device gets the same name, so the same serial.
    used = UsedCodes(tmp_path / "state" / "codes.json")
    used.refuse_seed("arn:aws:iam::123456789012:mfa/new-user", "JBSWY3DPEHPK3PXP")
    setup = make_setup()
    setup.check_local(store_seed=True)
    target = setup.inspect()
    with setup.new_device(target) as pending:
        assert pending.serial == "arn:aws:iam::123456789012:mfa/new-user"
        setup.enable(pending, *setup.codes_from_seed(pending))
    setup.adopt(target, pending.serial, seed=pending.seed)
    # The dashboard marks refused devices by serial: the new seed is not shown refused.
    assert used.refused_serials() == set()
    assert setup.service.devices.seeds.get(pending.serial) == pending.seed
