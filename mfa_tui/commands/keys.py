"""`mfa-tui keys import|restore|remove|rotate|credential-process PROFILE`.

`import` moves a user's long-term keys from the credentials file into the OS keyring;
`restore` puts them back; `remove` deletes them from the keyring (after asking);
`rotate` replaces the access key with a new one (see core/rotation.py), asking first.
`credential-process` is what an imported profile's credential_process line runs: it
prints the keys for the AWS tools, never to a terminal. No key or secret is ever read
from argv or printed anywhere else.
"""

from __future__ import annotations

import argparse
import json
import sys

from mfa_tui.errors import ExitCode, MfaTuiError, UsageError
from mfa_tui.settings import Settings


def _ask(question: str) -> bool:
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _agreed(yes: bool, question: str, what: str) -> bool:
    """--yes, or a person at this terminal who said yes."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(f"{what} asks first; run it in a terminal, or give --yes")
    return _ask(question)


def run(args: argparse.Namespace) -> int:
    action = args.keys_command
    if action == "credential-process":
        return _serve(args.profile)
    from mfa_tui.commands.common import load_world, require_profile

    profile_set, settings = load_world()
    if action == "rotate":
        require_profile(profile_set, args.profile)
        return _rotate(args.profile, args.yes, settings)
    from mfa_tui.core.keys import KeyMover, keyring_account

    mover = KeyMover(profile_set.paths)
    if action == "import":
        print(mover.import_keys(args.profile, keep=args.keep))
    elif action == "restore":
        print(mover.restore(args.profile, keep=args.keep))
    else:
        found = mover.keyring_keys(args.profile)
        if found.keys is None:
            print(f"the keyring holds no access keys as {keyring_account(found.entry)}")
            return int(ExitCode.OK)
        users = mover.users_of(found.entry)
        question = (
            f"Delete the access key {found.keys.access_key_id} "
            f"({keyring_account(found.entry)}) from the keyring?"
        )
        if users:
            question += (
                f" {', '.join(repr(u) for u in users)} get{'s' if len(users) == 1 else ''} "
                "its keys only from there and will have none ('mfa-tui keys restore "
                f"{users[0]}' puts them back into the credentials file instead)."
            )
        if not _agreed(args.yes, question, "'mfa-tui keys remove'"):
            print("nothing was deleted")
            return int(ExitCode.OK)
        print(mover.remove(found))
    return int(ExitCode.OK)


def _rotate(name: str, yes: bool, settings: Settings) -> int:
    from mfa_tui.commands.common import say_waits
    from mfa_tui.commands.refresh import prompt_for_code
    from mfa_tui.core.asking import AgentAsker, Asker, PromptAsker
    from mfa_tui.core.rotation import KeyRotation, RotationStart
    from mfa_tui.core.sessions import SessionService

    asker: Asker = say_waits(
        PromptAsker(prompt_for_code)
        if sys.stdin.isatty()
        else AgentAsker("mfa-tui keys rotate", settings.agent_wait)
    )

    def confirm(start: RotationStart) -> bool:
        if start.finishing:
            question = (
                f"A rotation of '{start.profile}' was stopped after storing its new key: "
                f"prove that key and delete the old one, {start.old_key}?"
            )
        else:
            question = (
                f"Make a new access key for IAM user {start.user}, store it in {start.where} "
                f"and delete the old one, {start.old_key}? Anything else that uses "
                f"{start.old_key} (another computer, a CI secret) stops working."
            )
        return _agreed(yes, question, "'mfa-tui keys rotate'")

    service = SessionService(settings=settings, asker=asker)
    print(KeyRotation(service).rotate(name, asker=asker, confirm=confirm))
    return int(ExitCode.OK)


def _serve(entry: str) -> int:
    """The keys of keyring entry `entry`, as botocore's credential_process JSON."""
    if sys.stdout.isatty():
        raise UsageError(
            "'mfa-tui keys credential-process' prints long-term access keys for the AWS "
            "tools (a profile's credential_process line runs it); it does not print them "
            "to a terminal"
        )
    from mfa_tui.core.keys import KeyStore, keyring_account

    keys = KeyStore().get(entry)
    if keys is None:
        raise MfaTuiError(
            f"no access keys in the OS keyring as {keyring_account(entry)} (service mfa-tui): "
            f"'mfa-tui keys import {entry}' moves them there from the credentials file"
        )
    answer = {
        "Version": 1,
        "AccessKeyId": keys.access_key_id,
        "SecretAccessKey": keys.secret_access_key,
    }
    sys.stdout.write(json.dumps(answer) + "\n")
    return int(ExitCode.OK)
