"""The keys room: a user's long-term access keys, where they come from, and moving them.

A user's keys come from one of three places, in botocore's own order (aws/files.py
says which: `KeySource`): the AWS files; the OS keyring, where `mfa-tui keys import`
moved them; or any other `credential_process` that returns access keys (aws-vault
`export --no-session`, 1Password's `op`, `pass`), run as botocore runs it, with a
timeout. Every refresh signs GetSessionToken with whichever it is.

After an import the user's section of the credentials file holds, in place of its two
key lines, `credential_process = mfa-tui keys credential-process NAME`: the AWS CLI and
SDKs still find the keys (they run that command), and nothing usable is left in the
file. mfa-tui itself reads the keyring entry the line names, without running anything.

In the keyring the keys live under the service `mfa-tui`, account `aws-keys:NAME`.
Seeds are keyed by MFA serial (an ARN, `arn:...`, or a hardware token's serial, which
has no `:`), so a key never lands on a seed, and two profiles never share an entry
unless their credential_process lines name the same one.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import Any

from mfa_tui.aws.atomic import check_can_write
from mfa_tui.aws.credentials import set_section_keys
from mfa_tui.aws.files import (
    AwsPaths,
    KeySource,
    Kind,
    Profile,
    ProfileSet,
    keys_command_line,
    load_profiles,
)
from mfa_tui.aws.ini import DEFAULT_SECTION
from mfa_tui.aws.sts import Credentials
from mfa_tui.core.codes import KeyringEntries, run_bounded
from mfa_tui.core.plan import known_profile
from mfa_tui.errors import KeyringError, MfaTuiError, UsageError

KEYRING_PREFIX = "aws-keys:"
ID_KEY, SECRET_KEY = "aws_access_key_id", "aws_secret_access_key"
PROCESS_KEY = "credential_process"
# How much of a failed credential_process's stderr a message shows.
STDERR_SHOWN = 600
NO_SESSION_HELP = (
    "make it print the user's access keys themselves: for aws-vault, "
    "'aws-vault export --no-session --format=json NAME'"
)


def keyring_account(entry: str) -> str:
    """The keyring account (under the service `mfa-tui`) that holds entry `entry`."""
    return f"{KEYRING_PREFIX}{entry}"


class KeyStore(KeyringEntries):
    """Long-term access keys in the OS keyring, one entry per name, as botocore's
    credential_process JSON (Version 1, AccessKeyId, SecretAccessKey)."""

    keeps = "access keys"

    @staticmethod
    def _what(entry: str) -> str:
        return f"the access keys of '{entry}' ({keyring_account(entry)})"

    def get(self, entry: str) -> Credentials | None:
        """The keys of `entry`; KeyringError when no keyring can be asked."""
        raw = self._read(keyring_account(entry), self._what(entry))
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return Credentials(str(data["AccessKeyId"]), str(data["SecretAccessKey"]))
        except (ValueError, KeyError, TypeError):
            raise KeyringError(
                f"the keyring entry {keyring_account(entry)} (service mfa-tui) does not hold "
                "access keys as mfa-tui writes them; 'mfa-tui keys remove' deletes it"
            ) from None

    def set(self, entry: str, keys: Credentials) -> None:
        """Store the keys, read back: a backend that drops them is a KeyringError."""
        value = json.dumps(
            {
                "Version": 1,
                "AccessKeyId": keys.access_key_id,
                "SecretAccessKey": keys.secret_access_key,
            }
        )
        self._write(keyring_account(entry), value, self._what(entry))

    def remove(self, entry: str) -> bool:
        """Delete the entry; False when there was none."""
        return self._delete(keyring_account(entry), self._what(entry))


# --- a credential_process ---------------------------------------------------------------


def run_key_process(
    command: str, timeout: float, *, profile: str, cancel: threading.Event | None = None
) -> Credentials:
    """Run a user's `credential_process` as botocore does and take the access keys.

    Split like botocore splits it (no shell), with no stdin and its own process group,
    killed after `timeout`. Its stderr is shown when it fails (botocore shows it too);
    what it prints on stdout never is. A session (a `SessionToken`) is refused: it
    cannot call GetSessionToken, and the message says what to change.
    """
    from botocore.compat import compat_shell_split

    try:
        words = compat_shell_split(command)
    except ValueError as exc:
        raise UsageError(
            f"the credential_process of '{profile}' cannot be split into words ({exc})"
        ) from None
    if not words:
        raise UsageError(f"the credential_process of '{profile}' is empty")
    what = f"the credential_process of '{profile}' ({os.path.basename(words[0])})"
    done = run_bounded(words, timeout, what=what, cancel=cancel)
    if done is None:
        raise MfaTuiError(
            f"{what} did not finish in {timeout:g}s (is it waiting for a password or a "
            "touch?); credential_process_timeout in mfa-tui's settings sets the limit",
            title="Credential process timed out",
        )
    returncode, out, err = done
    if returncode != 0:
        said = err.strip()
        if len(said) > STDERR_SHOWN:
            said = "…" + said[-STDERR_SHOWN:]
        raise MfaTuiError(
            f"{what} failed with exit code {returncode}" + (f": {said}" if said else ""),
            title="Credential process failed",
        )
    return _keys_from_process(out, what)


def _keys_from_process(out: str, what: str) -> Credentials:
    try:
        data = json.loads(out)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise MfaTuiError(
            f"{what} printed something that is not a credential_process answer (JSON with "
            "Version 1, AccessKeyId and SecretAccessKey)",
            title="Credential process failed",
        )
    if data.get("Version") != 1:
        raise MfaTuiError(
            f"{what} answered with Version {data.get('Version')!r}; the AWS tools and "
            "mfa-tui read Version 1",
            title="Credential process failed",
        )
    key, secret = data.get("AccessKeyId"), data.get("SecretAccessKey")
    if not (isinstance(key, str) and key and isinstance(secret, str) and secret):
        raise MfaTuiError(
            f"{what} answered without AccessKeyId and SecretAccessKey",
            title="Credential process failed",
        )
    if data.get("SessionToken"):
        raise UsageError(
            f"{what} returned a session (it has a SessionToken), not an IAM user's "
            "long-term access keys: AWS refuses GetSessionToken called with a session, so "
            f"mfa-tui cannot get an MFA session from it. {NO_SESSION_HELP}",
            title="A session, not keys",
        )
    return Credentials(key, secret)


# --- the keys in the credentials file -------------------------------------------------


def file_keys(profile_set: ProfileSet, profile: Profile) -> Credentials:
    """The keys in `profile`'s own section of the credentials file (the only place
    `keys import` and `rotate` take them from and put them back).

    Raises:
        UsageError: they are in the config file or only in [DEFAULT], saying where.
    """
    creds = profile_set.credentials_doc
    own = creds.section_values().get(profile.name, {})
    if own.get(ID_KEY) and own.get(SECRET_KEY):
        return Credentials(own[ID_KEY], own[SECRET_KEY])
    defaults = creds.section_values().get(DEFAULT_SECTION, {})
    if ID_KEY in defaults or SECRET_KEY in defaults:
        raise UsageError(
            f"the keys of '{profile.name}' come (at least in part) from [DEFAULT] in "
            f"{creds.path}, which gives them to every profile of the file; move them into "
            f"[{profile.name}] first"
        )
    raise UsageError(
        f"the keys of '{profile.name}' are in the config file {profile_set.paths.config}; "
        f"mfa-tui moves keys from the credentials file only: move the two lines into "
        f"[{profile.name}] in {profile_set.paths.credentials} first"
    )


@dataclass(frozen=True)
class KeyringKeys:
    """A user whose keys are in the keyring: its entry and the keys there (or None)."""

    profile: Profile | None  # None: no such profile any more (a leftover entry)
    entry: str
    keys: Credentials | None


def user_profile(profile_set: ProfileSet, name: str) -> Profile:
    """`name`, which must be a user profile (keys of its own)."""
    profile = known_profile(profile_set, name)
    if profile.kind is not Kind.USER:
        hint = f"; its keys are those of '{profile.chain[-1]}'" if profile.chain else ""
        raise UsageError(
            f"'{name}' is a {profile.kind.value} profile, not a user with long-term access "
            f"keys{hint}"
        )
    return profile


class KeyMover:
    """`keys import`, `restore` and `remove`: a user's keys between the credentials file
    and the keyring, never lost on the way.

    Every move writes the new place first and checks it (the keyring is read back),
    then takes the keys out of the old place: a kill in between leaves them in both.

    Args:
        paths: the AWS files.
        keyring_backend: a keyring backend to use instead of the OS's (tests).
    """

    def __init__(self, paths: AwsPaths | None = None, keyring_backend: Any = None) -> None:
        self.paths = paths or AwsPaths.from_env()
        self.store = KeyStore(keyring_backend)

    def _profiles(self) -> ProfileSet:
        return load_profiles(self.paths)

    def import_keys(self, name: str, *, keep: bool = False) -> str:
        """Move (`keep`: copy) `name`'s keys from the credentials file into the keyring.

        Returns what was done, in words. Raises UsageError/FileWriteError/KeyringError
        with nothing changed, or (the keyring written, the file refused) with the keys
        in both places, which the message says.
        """
        profile_set = self._profiles()
        profile = user_profile(profile_set, name)
        if profile.key_source is KeySource.KEYRING:
            raise UsageError(f"the keys of '{name}' are in the keyring already")
        if profile.key_source is KeySource.PROCESS:
            raise UsageError(
                f"the keys of '{name}' come from its credential_process; the tool behind it "
                "keeps them"
            )
        keys = file_keys(profile_set, profile)
        if profile.values.get(PROCESS_KEY):
            # botocore uses the keys and ignores it today; the line mfa-tui puts in
            # the keys' place would take its place too.
            raise UsageError(
                f"'{name}' also has a credential_process of its own, which the AWS tools "
                "ignore while its keys are in the credentials file; remove that line first "
                "(nothing was changed)"
            )
        line = keys_command_line(name)
        if line is None:
            raise UsageError(
                f"a profile named {name!r} cannot be given to the credential_process line "
                "that serves its keys (a quote or a backslash in the name); rename it first"
            )
        if not keep:
            check_can_write(self.paths.credentials)
        held = self.store.get(name)
        if held is not None and held != keys:
            raise UsageError(
                f"the keyring already holds other access keys as {keyring_account(name)} "
                f"({held.access_key_id}), perhaps of a profile '{name}' in other AWS files; "
                "nothing was changed. If nothing uses them any more, 'mfa-tui keys remove "
                f"{name}' deletes them first"
            )
        self.store.set(name, keys)
        where = f"the OS keyring (service mfa-tui, {keyring_account(name)})"
        if keep:
            return (
                f"copied the access keys of '{name}' into {where}; they stay in "
                f"{self.paths.credentials} too, and are used from there while they are "
                f"('mfa-tui keys import {name}' without --keep takes them out)"
            )
        try:
            set_section_keys(
                self.paths.credentials,
                name,
                {ID_KEY: None, SECRET_KEY: None, PROCESS_KEY: line},
                expect={ID_KEY: keys.access_key_id, SECRET_KEY: keys.secret_access_key},
            )
        except MfaTuiError as exc:
            raise type(exc)(
                f"the access keys of '{name}' are in {where} and still in "
                f"{self.paths.credentials}, which could not be changed: {exc.message}",
                title=exc.title,
            ) from None
        return (
            f"moved the access keys of '{name}' into {where}; in [{name}] of "
            f"{self.paths.credentials} the two key lines are now '{PROCESS_KEY} = {line}', "
            "so the AWS CLI and SDKs still find them" + _on_path_note(name)
        )

    def keyring_keys(self, name: str) -> KeyringKeys:
        """`name`'s keyring entry and keys, for `restore` and `remove` (and to ask first)."""
        # Any name: a profile gone (or left without keys) may have left its entry.
        profile = self._profiles().get(name)
        entry = (profile.keyring_entry if profile is not None else None) or name
        return KeyringKeys(profile, entry, self.store.get(entry))

    def restore(self, name: str, *, keep: bool = False) -> str:
        """Put `name`'s keys back into the credentials file (in place of the
        credential_process line), then delete them from the keyring unless `keep`."""
        profile_set = self._profiles()
        profile = user_profile(profile_set, name)
        if profile.key_source is not KeySource.KEYRING:
            where = (
                f"in {self.paths.credentials}"
                if profile.key_source is KeySource.FILE
                else "from its credential_process"
            )
            raise UsageError(f"the keys of '{name}' are not in the keyring: they come {where}")
        found = self.keyring_keys(name)
        if found.keys is None:
            raise UsageError(
                f"the keyring holds no access keys as {keyring_account(found.entry)}, "
                f"which the credential_process of '{name}' names; nothing to restore"
            )
        own = profile_set.credentials_doc.section_values().get(name, {})
        changes: dict[str, str | None] = {
            ID_KEY: found.keys.access_key_id,
            SECRET_KEY: found.keys.secret_access_key,
        }
        if PROCESS_KEY in own:
            changes = {PROCESS_KEY: None, **changes}
        set_section_keys(
            self.paths.credentials,
            name,
            changes,
            expect={PROCESS_KEY: own.get(PROCESS_KEY), ID_KEY: None},
        )
        done = f"wrote the access keys of '{name}' back into [{name}] of {self.paths.credentials}"
        if PROCESS_KEY not in own:
            done += (
                f"; its credential_process line is in {self.paths.config}, where the keys in "
                "the credentials file now win over it: delete that line"
            )
        sharing = [
            p.name
            for p in self._profiles().profiles.values()
            if p.keyring_entry == found.entry and p.name != name
        ]
        if keep or sharing:
            why = f" ('{sharing[0]}' uses them too)" if sharing else ""
            return f"{done}; they stay in the keyring as {keyring_account(found.entry)}{why}"
        self.store.remove(found.entry)
        return f"{done}, and deleted them from the keyring"

    def users_of(self, entry: str) -> list[str]:
        """The profiles whose keys the keyring entry `entry` holds."""
        return [p.name for p in self._profiles().profiles.values() if p.keyring_entry == entry]

    def remove(self, found: KeyringKeys) -> str:
        """Delete a keyring entry (`keyring_keys` found it, the person agreed); the
        credential_process lines of the profiles that used it go from the credentials
        file first, so none is left running a command that finds nothing."""
        users = self.users_of(found.entry)
        left: list[str] = []
        for user in users:
            own = self._profiles().credentials_doc.section_values().get(user, {})
            if PROCESS_KEY in own:
                set_section_keys(
                    self.paths.credentials,
                    user,
                    {PROCESS_KEY: None},
                    expect={PROCESS_KEY: own[PROCESS_KEY]},
                )
            else:
                left.append(user)
        if not self.store.remove(found.entry):
            return f"the keyring holds nothing as {keyring_account(found.entry)}"
        done = f"deleted the access keys {keyring_account(found.entry)} from the keyring"
        if users:
            done += (
                f"; {', '.join(repr(u) for u in users)} now {'has' if len(users) == 1 else 'have'} "
                "no keys: create new ones in IAM and 'aws configure --profile NAME'"
            )
        if left:
            done += (
                f"; the credential_process line of {', '.join(repr(u) for u in left)} is in "
                f"{self.paths.config}: delete it there"
            )
        return done


def _on_path_note(name: str) -> str:
    import shutil

    if shutil.which("mfa-tui") is not None:
        return ""
    return (
        f". Note: no 'mfa-tui' on PATH here, so the AWS CLI and SDKs find the keys of '{name}' "
        "only once it is (install it with 'uv tool install' or 'pipx install')"
    )
