"""`mfa-tui setup PROFILE`: give a user's access keys an MFA device, then require it.

Asks before it changes anything in AWS (`--yes` for scripts). The QR code and the
secret are shown only on a terminal; without one, only `--store-seed` (the seed goes
straight to the keyring) can finish a new device. Codes are read with a hidden prompt.
`--enforce` is a dry run (the policy and the exact `aws iam` commands) unless `--apply`.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Callable

from mfa_tui.aws.iam import (
    Enforcement,
    MfaDevice,
    check_device_name,
    check_role_name,
    keys_need_mfa,
)
from mfa_tui.commands.common import load_world, require_profile
from mfa_tui.core import enforcement
from mfa_tui.core.qr import grouped, qr_for_terminal
from mfa_tui.core.setup import (
    STORE_SEED_WARNING,
    MfaSetup,
    PendingDevice,
    SetupTarget,
    default_device_name,
)
from mfa_tui.errors import ExitCode, MfaTuiError, NeedsCodeError, UsageError

CODE_TRIES = 3
_POLICY_ARN = re.compile(r"arn:aws[\w-]*:iam::(aws|\d{12}):policy/[\w+=,.@/-]+")


def _say(text: str = "") -> None:
    print(text, flush=True)


def _warn(text: str) -> None:
    print(f"mfa-tui: {text}", file=sys.stderr, flush=True)


def parse_enforce(words: list[str] | None) -> tuple[str, str | None] | None:
    """`--enforce user-policy` or `--enforce role NAME`, checked before anything else."""
    if not words:
        return None
    if words == ["user-policy"]:
        return ("user-policy", None)
    if len(words) == 2 and words[0] == "role":
        return ("role", check_role_name(words[1]))
    raise UsageError("--enforce takes 'user-policy' or 'role NAME'")


def _check_args(args: argparse.Namespace) -> tuple[str, str | None] | None:
    enforce = parse_enforce(args.enforce)
    if args.apply and enforce is None:
        raise UsageError("--apply applies an --enforce method; give --enforce too")
    if args.attach_policy and (enforce is None or enforce[0] != "role"):
        raise UsageError("--attach-policy goes with --enforce role NAME")
    for arn in args.attach_policy or []:
        if not _POLICY_ARN.fullmatch(arn):
            raise UsageError(
                f"'{arn}' is not a managed policy ARN (e.g. arn:aws:iam::aws:policy/ReadOnlyAccess)"
            )
    if args.device and args.device_name:
        raise UsageError("--device uses an existing device; --device-name names a new one")
    if args.device_name:
        check_device_name(args.device_name)
    return enforce


def _ask(question: str, default_yes: bool = True) -> bool:
    suffix = " [Y/n] " if default_yes else " [y/N] "
    try:
        answer = input(question + suffix).strip().lower()
    except EOFError:
        return False
    return default_yes if not answer else answer in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    enforce = _check_args(args)
    profile_set, settings = load_world()
    require_profile(profile_set, args.profile)
    from mfa_tui.commands.refresh import prompt_for_code

    interactive = sys.stdin.isatty()
    if not interactive and not args.yes:
        raise UsageError(
            "setup asks before it changes anything: run it in a terminal, or pass --yes"
        )
    setup = MfaSetup(args.profile, settings=settings, code_prompt=prompt_for_code)
    setup.check_local(store_seed=args.store_seed)
    if args.store_seed:
        _warn(f"--store-seed: {STORE_SEED_WARNING}")
    target = setup.inspect()
    user = target.user
    _say(f"Profile {args.profile}: IAM user {user.name} in account {user.account_id}.")
    serial = _device(setup, target, args, interactive)
    if serial is None:
        return int(ExitCode.OK)
    _first_session(setup, args.profile)
    if enforce is None:
        _report_enforcement(setup, args.profile)
        return int(ExitCode.OK)
    return _enforce(setup, target, enforce, serial, args)


# --- the device ----------------------------------------------------------------------


def _device(
    setup: MfaSetup, target: SetupTarget, args: argparse.Namespace, interactive: bool
) -> str | None:
    """The serial the profile uses from now on (None: the person said no)."""
    if args.device:
        serial = target.device(args.device).serial
        _adopt(setup, target, serial, None, args.store_seed)
        return serial
    current = target.configured_device
    if current is not None:
        _say(f"It already uses MFA device {current.serial}.")
        _adopt(setup, target, current.serial, None, args.store_seed)
        return current.serial
    if target.configured:
        _warn(
            f"mfa_serial = {target.configured} in the files is not an MFA device of "
            f"{target.user.name}: it will be replaced"
        )
    usable = [d for d in target.devices if d.usable]
    for device in target.devices:
        if not device.usable:
            _say(f"It has {device.serial}, a {device.kind.value}: not usable with the CLI.")
    if usable:
        chosen = _choose(usable, target.room_for_another, args, interactive)
        if chosen is not None:
            _adopt(setup, target, chosen, None, args.store_seed)
            return chosen
    elif not target.devices:
        _say("It has no MFA device yet.")
    return _new_device(setup, target, args, interactive)


def _choose(
    devices: list[MfaDevice], room: bool, args: argparse.Namespace, interactive: bool
) -> str | None:
    """Pick one of the user's devices; None for a new one (when there is room)."""
    _say(f"It has {len(devices)} MFA device(s) mfa-tui can use:")
    for number, device in enumerate(devices, 1):
        since = device.enabled_at.strftime("%Y-%m-%d") if device.enabled_at else "?"
        _say(f"  {number}. {device.serial}  ({device.kind.value}, enabled {since})")
    if args.yes:
        if len(devices) == 1:
            return devices[0].serial
        raise UsageError(
            "several devices: choose one with --device SERIAL "
            f"({', '.join(d.serial for d in devices)})"
        )
    new = ", or n for a new device" if room else ""
    while interactive:
        try:
            answer = input(f"Use which one? [1-{len(devices)}{new}] ")
        except EOFError:
            break
        answer = answer.strip().lower()
        if room and answer in ("n", "new"):
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(devices):
            return devices[int(answer) - 1].serial
    raise UsageError("no device chosen; nothing was changed")


def _adopt(
    setup: MfaSetup, target: SetupTarget, serial: str, seed: str | None, store_seed: bool
) -> None:
    if store_seed and seed is None:
        _warn(
            f"AWS never shows an existing device's seed again, so --store-seed cannot "
            f"store one for {serial}; if you kept it: mfa-tui totp set {setup.name}"
        )
    for line in setup.adopt(target, serial, seed=seed):
        _say(line)


def _new_device(
    setup: MfaSetup, target: SetupTarget, args: argparse.Namespace, interactive: bool
) -> str | None:
    shown = sys.stdout.isatty()
    if not args.store_seed and not (shown and interactive):
        raise UsageError(
            "a new device's QR code can only be shown on a terminal: run setup in one, or "
            "pass --store-seed to keep the seed in the keyring instead (nothing was changed)"
        )
    name = args.device_name or default_device_name(target.user.name, target.devices)
    if not args.yes and not _ask(
        f"Create a virtual MFA device named '{name}' for IAM user {target.user.name}?"
    ):
        _say("Nothing was changed.")
        return None
    with setup.new_device(target, name) as pending:
        try:
            _show_and_enable(setup, pending, target, args.store_seed)
        except KeyboardInterrupt:
            raise MfaTuiError("setup was cancelled before the device was enabled") from None
        seed = pending.seed if args.store_seed else None
    _adopt(setup, target, pending.serial, seed, store_seed=False)
    return pending.serial


def _show_and_enable(
    setup: MfaSetup, pending: PendingDevice, target: SetupTarget, store_seed: bool
) -> None:
    """The QR code and the secret (on a terminal only), then the two codes."""
    _say(f"Created {pending.serial}.")
    if sys.stdout.isatty():
        _say("Scan this QR code with your authenticator app:\n")
        _say(qr_for_terminal(pending.uri))
        _say(
            "\nor add it by hand (time-based, 6 digits, every 30 s) with this secret "
            f"key:\n  {grouped(pending.seed)}\n"
        )
    if store_seed:
        setup.enable(pending, *setup.codes_from_seed(pending))
    else:
        _enable_with_typed_codes(setup, pending)
    _say(f"Enabled {pending.serial} for IAM user {target.user.name}.")


def _enable_with_typed_codes(setup: MfaSetup, pending: PendingDevice) -> None:
    ask: Callable[[str], str] = getpass.getpass
    for attempt in range(CODE_TRIES):
        try:
            first = ask("First code the app shows for it: ")
            second = ask("The next code (wait until the app shows a new one): ")
        except EOFError:
            raise MfaTuiError("setup was cancelled before the device was enabled") from None
        try:
            setup.enable(pending, first, second)
            return
        except MfaTuiError as exc:
            if not setup.can_retry(exc) or attempt == CODE_TRIES - 1:
                raise
            _warn(f"{exc.message}; try again")


# --- after the device ----------------------------------------------------------------


def _first_session(setup: MfaSetup, profile: str) -> None:
    """The first session; without a way to get a code (a script), say how to get one."""
    try:
        result = setup.first_session()
    except NeedsCodeError:
        _warn(
            f"no session yet: the device is ready; get one with 'mfa-tui refresh {profile}' "
            "(it asks for a code), or open the dashboard"
        )
        return
    _say(result.message)


def _report_enforcement(setup: MfaSetup, profile: str) -> None:
    try:
        check = keys_need_mfa(profile, setup.long_term_keys(), setup.session_credentials())
    except MfaTuiError as exc:
        _warn(f"could not check whether the keys need MFA: {exc.message}")
        return
    _say(check.sentence)
    if check.state is not Enforcement.ENFORCED:
        _say(
            f"Enabling MFA does not make the keys need it: 'mfa-tui setup {profile} "
            f"--enforce user-policy' (or '--enforce role NAME') shows how to require it."
        )


def _enforce(
    setup: MfaSetup,
    target: SetupTarget,
    enforce: tuple[str, str | None],
    serial: str,
    args: argparse.Namespace,
) -> int:

    method, role = enforce
    policies = list(args.attach_policy or [])
    if method == "role":
        assert role is not None
        plan = enforcement.role_plan(setup, target, role, serial, policies)
        enforcement.check_role_profile(setup, plan)
    else:
        plan = enforcement.user_policy_plan(target)
    _say("")
    _say(plan.summary)
    if not args.apply:
        _say("\nDry run: nothing was changed. Run again with --apply to do it, or run:\n")
        _say(plan.script())
        if plan.profile_name is not None:
            _say(f"\nand add to {setup.service.paths.config}:\n\n{plan.profile_text()}")
        return int(ExitCode.OK)
    try:
        if method == "role":
            assert role is not None
            done = enforcement.apply_role(setup, target, role, serial, policies)
        else:
            done = enforcement.apply_user_policy(setup, target)
    except enforcement.EnforcementRefused as exc:
        _warn(exc.message)
        _say(exc.plan.script())
        if exc.plan.profile_name is not None:
            _say(f"\nthen add to {setup.service.paths.config}:\n\n{exc.plan.profile_text()}")
        return int(exc.exit_code)
    for line in done:
        _say(line)
    return int(ExitCode.OK)
