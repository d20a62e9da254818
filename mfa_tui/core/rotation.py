"""Rotating a user's access key: a new one made, stored where the old one was, proved,
and the old one deleted, so that at every moment one working key is stored.

The steps, and what is left when one fails:

1. Everything that needs no AWS call: a user whose keys are in its own section of the
   credentials file or in the keyring, a file that can be written or a keyring that
   answers.
2. The stored key names its IAM user (GetCallerIdentity, which no policy can deny);
   the user's MFA session comes through the door (`SessionService.serve`: the stored
   one, or a refresh, silent or with a code), because the method-1 policy makes IAM
   calls need MFA too; ListAccessKeys with it. With two keys already (AWS's most),
   nothing is done, and both are named.
3. CreateAccessKey. A failure here changes nothing.
4. The new key is stored where the old one was: the same two lines of the credentials
   file, or the keyring entry (read back). A failure deletes the new key again: its
   secret is stored nowhere, so nobody could ever use it.
5. The stored key is read back and proved: GetCallerIdentity with it must answer as
   the same user (retried for a while, as a new key takes a moment to work
   everywhere). A failure puts the old key back and deletes the new one.
6. DeleteAccessKey of the old key. A failure leaves the new key stored and working,
   and the message says how to delete the old one.

A kill at any step leaves what the step before it left, and `rotations.json` in the
state folder (no secret: the profile, the user, the two key ids, the step) says what
was under way. The next `keys rotate` finishes it first: a new key that was stored is
proved and the old one deleted; a new key that never was is deleted (its secret is
gone); a kill while AWS was making the key leaves a key whose secret nobody has, which
is named with how to delete it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mfa_tui.aws import iam
from mfa_tui.aws.atomic import check_can_write, locked
from mfa_tui.aws.credentials import set_section_keys
from mfa_tui.aws.files import KeySource, Profile, format_expiration
from mfa_tui.aws.sts import Credentials
from mfa_tui.core.asking import Asker
from mfa_tui.core.key_ages import KeyAge, record_key_age
from mfa_tui.core.keys import ID_KEY, SECRET_KEY, file_keys, keyring_account, user_profile
from mfa_tui.core.sessions import SessionService
from mfa_tui.core.state_file import JsonState, state_path
from mfa_tui.errors import AwsRefusedError, FileWriteError, MfaTuiError, UsageError

JOURNAL_FILE = "rotations.json"
# An MFA session with less than this left is refreshed before the IAM calls.
SESSION_FLOOR = 600.0
# How long a new key is given to start working before it counts as broken.
PROOF_WAIT = 30.0
# What AWS answers a key it does not know (yet).
UNKNOWN_KEY = frozenset({"InvalidClientTokenId", "SignatureDoesNotMatch"})

CREATING, CREATED, STORED = "creating", "created", "stored"


@dataclass(frozen=True)
class KeyPlace:
    """Where a user's keys are stored: its section of the credentials file, or a
    keyring entry. Reads and writes go through the lossless writer or the keyring."""

    service: SessionService
    profile: Profile

    @property
    def in_keyring(self) -> bool:
        return self.profile.key_source is KeySource.KEYRING

    @property
    def entry(self) -> str:
        return self.profile.keyring_entry or self.profile.name

    def words(self) -> str:
        if self.in_keyring:
            return f"the OS keyring ({keyring_account(self.entry)})"
        return f"[{self.profile.name}] of {self.service.paths.credentials}"

    def check(self) -> Credentials:
        """The stored keys, once it is known the new ones could be stored there too."""
        if self.in_keyring:
            return self.read()
        check_can_write(self.service.paths.credentials)
        return self.read()

    def read(self) -> Credentials:
        if self.in_keyring:
            keys = self.service.devices.keys.get(self.entry)
            if keys is None:
                raise UsageError(
                    f"no access keys for '{self.profile.name}' in the keyring "
                    f"({keyring_account(self.entry)})"
                )
            return keys
        profile_set = self.service.reload()
        return file_keys(profile_set, profile_set.profiles.get(self.profile.name, self.profile))

    def write(self, new: Credentials, old: Credentials) -> None:
        """Store `new` in place of `old` (refused if `old` is no longer what is stored)."""
        if self.in_keyring:
            held = self.service.devices.keys.get(self.entry)
            if held is not None and held.access_key_id != old.access_key_id:
                raise MfaTuiError(
                    f"the keyring entry {keyring_account(self.entry)} changed while mfa-tui "
                    "worked; nothing was written there"
                )
            self.service.devices.keys.set(self.entry, new)
            return
        set_section_keys(
            self.service.paths.credentials,
            self.profile.name,
            {ID_KEY: new.access_key_id, SECRET_KEY: new.secret_access_key},
            expect={ID_KEY: old.access_key_id, SECRET_KEY: old.secret_access_key},
        )
        self.service.reload()


class RotationJournal:
    """`rotations.json`: the rotation under way per profile (key ids and a step only)."""

    def __init__(self, path: Path | None = None) -> None:
        self.state = JsonState(
            path or state_path(JOURNAL_FILE), ("rotations",), "the journal of key rotations"
        )

    def get(self, profile: str) -> dict[str, Any] | None:
        found = self.state.read()["rotations"].get(profile)
        return found if isinstance(found, dict) else None

    def put(self, profile: str, **entry: Any) -> None:
        def change(data: dict[str, Any]) -> bool:
            data["rotations"][profile] = entry
            return True

        self.state.update(change)

    def clear(self, profile: str) -> None:
        def change(data: dict[str, Any]) -> bool:
            return data["rotations"].pop(profile, None) is not None

        self.state.update(change)


@dataclass(frozen=True)
class RotationStart:
    """What a rotation is about to do, for the person to agree to (`confirm`)."""

    profile: str
    user: str
    old_key: str
    where: str
    finishing: bool  # an interrupted rotation is finished, no new key made


def _delete_command(user: str, key_id: str) -> str:
    return f"'aws iam delete-access-key --user-name {user} --access-key-id {key_id}'"


class KeyRotation:
    """`mfa-tui keys rotate`: the steps above, on one service's files and keyring.

    Args:
        service: the door (the MFA session, the files, the keyring).
        journal: where a rotation under way is noted (default: the state folder).
        ages: the key ages file to record the new key in (default: the state folder).
        sleep: how to wait for a new key to work (tests pass one that waits for nothing).
        proof_wait: seconds a new key is given to work.
    """

    def __init__(
        self,
        service: SessionService,
        *,
        journal: RotationJournal | None = None,
        ages: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
        proof_wait: float = PROOF_WAIT,
    ) -> None:
        self.service = service
        self.journal = journal or RotationJournal()
        self.ages = ages
        self._sleep = sleep
        self.proof_wait = proof_wait

    def place(self, name: str) -> KeyPlace:
        """Step 1: where `name`'s keys are, checked before any AWS call."""
        profile = user_profile(self.service.reload(), name)
        if profile.key_source is KeySource.PROCESS:
            raise UsageError(
                f"the keys of '{name}' come from its credential_process: rotate them with the "
                "tool that keeps them (e.g. 'aws-vault rotate'), which stores the new key"
            )
        place = KeyPlace(self.service, profile)
        place.check()
        return place

    def rotate(
        self,
        name: str,
        *,
        asker: Asker | None = None,
        cancel: threading.Event | None = None,
        confirm: Callable[[RotationStart], bool] | None = None,
    ) -> str:
        """Rotate `name`'s access key (or finish a rotation that was stopped).

        Returns what was done, in words. Raises MfaTuiError saying what is stored, what
        exists in AWS and what is left to do.
        """
        with contextlib.ExitStack() as held:
            try:
                # One rotation at a time: two would each take the other's new key for a
                # stray one (it would end well, but not plainly).
                held.enter_context(locked(self.journal.state.path.with_name("rotating"), 1))
            except FileWriteError as exc:
                if "locked by another" not in exc.message:
                    raise
                raise MfaTuiError(
                    "another 'mfa-tui keys rotate' is running; try again once it is done"
                ) from None
            return self._rotate_locked(name, asker, cancel, confirm)

    def _rotate_locked(
        self,
        name: str,
        asker: Asker | None,
        cancel: threading.Event | None,
        confirm: Callable[[RotationStart], bool] | None,
    ) -> str:
        place = self.place(name)
        old = place.read()
        user = iam.caller(name, old)
        served = self.service.serve(name, min_valid=SESSION_FLOOR, asker=asker, cancel=cancel)
        session = served.session.signing()
        listed = iam.access_keys(name, session, user)
        pending = self.journal.get(name)
        if pending is not None and pending.get("user") == user.arn:
            finished = self._resume(name, place, old, user, session, listed, pending, confirm)
            if finished is not None:
                return finished
            listed = iam.access_keys(name, session, user)
        elif pending is not None:
            self.journal.clear(name)
        ids = [k.key_id for k in listed]
        if old.access_key_id not in ids:
            raise UsageError(
                f"the key stored for '{name}' ({old.access_key_id}) is not one of IAM user "
                f"{user.name}'s keys ({', '.join(ids) or 'none'}); nothing was changed"
            )
        if len(listed) >= iam.MAX_ACCESS_KEYS:
            raise UsageError(
                f"IAM user {user.name} has {len(listed)} access keys already, AWS's most: "
                + "; ".join(self._key_words(k, old.access_key_id, name) for k in listed)
                + ". Delete the one that is not used any more "
                + _delete_command(user.name, next(i for i in ids if i != old.access_key_id))
                + ", then rotate again; nothing was changed"
            )
        start = RotationStart(name, user.name, old.access_key_id, place.words(), False)
        if confirm is not None and not confirm(start):
            raise UsageError("nothing was changed")
        return self._rotate(name, place, old, user, session, frozenset(ids))

    @staticmethod
    def _key_words(key: iam.AccessKey, stored: str, name: str) -> str:
        made = f"made {key.created:%Y-%m-%d}" if key.created else "made on an unknown day"
        mine = f", the one stored for '{name}'" if key.key_id == stored else ", not stored here"
        return f"{key.key_id} ({key.status or 'status unknown'}, {made}{mine})"

    # --- the steps ---------------------------------------------------------------------

    def _rotate(
        self,
        name: str,
        place: KeyPlace,
        old: Credentials,
        user: iam.IamUser,
        session: Credentials,
        before: frozenset[str],
    ) -> str:
        started = format_expiration(datetime.now(UTC))
        note = {"user": user.arn, "old": old.access_key_id, "started": started}
        self.journal.put(name, step=CREATING, new=None, **note)
        try:
            made, new = iam.create_access_key(name, session, user)
        except MfaTuiError as exc:
            raise self._not_created(name, user, session, old, before, exc) from None
        self.journal.put(name, step=CREATED, new=made.key_id, **note)
        try:
            place.write(new, old)
        except MfaTuiError as exc:
            raise self._unstored(name, user, session, made.key_id, old, exc) from None
        self.journal.put(name, step=STORED, new=made.key_id, **note)
        return self._prove_and_finish(name, place, old, user, session, made, note)

    def _not_created(
        self,
        name: str,
        user: iam.IamUser,
        session: Credentials,
        old: Credentials,
        before: frozenset[str],
        why: MfaTuiError,
    ) -> MfaTuiError:
        """CreateAccessKey failed; but an answer lost on the way (and botocore's retry of
        it) may hide a key AWS did make, whose secret nobody has: look, and delete it."""
        said = f"{why.message}. The key stored for '{name}' is still {old.access_key_id}"
        try:
            made = [
                k.key_id for k in iam.access_keys(name, session, user) if k.key_id not in before
            ]
        except MfaTuiError as exc:
            return type(why)(
                f"{said}; whether AWS made a new key before the failure could not be checked "
                f"({exc.message}): run 'mfa-tui keys rotate {name}' again, which looks",
                title=why.title,
            )
        if len(made) == 1:
            return self._drop_new(
                name, user, session, made[0], f"{said}; AWS had made {made[0]}", why
            )
        self.journal.clear(name)
        return type(why)(f"{said}: nothing was changed", title=why.title)

    def _unstored(
        self,
        name: str,
        user: iam.IamUser,
        session: Credentials,
        new_id: str,
        old: Credentials,
        why: MfaTuiError,
    ) -> MfaTuiError:
        """The new key could not be stored: delete it again (nobody has its secret)."""
        said = (
            f"the new access key {new_id} could not be stored ({why.message}); the key stored "
            f"for '{name}' is still {old.access_key_id}"
        )
        return self._drop_new(name, user, session, new_id, said, why)

    def _drop_new(
        self,
        name: str,
        user: iam.IamUser,
        session: Credentials,
        new_id: str,
        said: str,
        why: MfaTuiError,
    ) -> MfaTuiError:
        """Delete a new key nobody will use (its secret is stored nowhere), and say so."""
        failed = self._delete(name, user, session, new_id)
        if failed is not None:
            return type(why)(
                f"{said}. The new key could not be deleted ({failed.message}): its secret is "
                f"stored nowhere, so delete it: 'mfa-tui keys rotate {name}' does, or "
                f"{_delete_command(user.name, new_id)}",
                title=why.title,
            )
        return type(why)(
            f"{said}, and the new key was deleted again: nothing changed", title=why.title
        )

    def _delete(
        self, name: str, user: iam.IamUser, session: Credentials, key_id: str
    ) -> MfaTuiError | None:
        """DeleteAccessKey, then the rotation is over (its note goes); AWS's refusal is
        returned for the caller to say what is left."""
        try:
            iam.delete_access_key(name, session, user, key_id)
        except AwsRefusedError as exc:
            # Gone already: deleted behind an answer that was lost (botocore retried).
            if exc.code != "NoSuchEntity":
                return exc
        except MfaTuiError as exc:
            return exc
        self.journal.clear(name)
        return None

    def _prove(self, name: str, keys: Credentials, user: iam.IamUser) -> None:
        """GetCallerIdentity with `keys` answers as `user`; a key AWS does not know yet
        is asked again (1, 2, 4, 8 s apart) until `proof_wait` has passed."""
        waited, delay = 0.0, 1.0
        while True:
            try:
                found = iam.caller(name, keys)
            except AwsRefusedError as exc:
                if exc.code not in UNKNOWN_KEY or waited >= self.proof_wait:
                    raise
                self._sleep(delay)
                waited, delay = waited + delay, min(delay * 2, 8.0)
                continue
            if found.arn != user.arn:
                raise AwsRefusedError(
                    f"the new key answers as {found.arn}, not as {user.arn}", code="WrongUser"
                )
            return

    def _prove_and_finish(
        self,
        name: str,
        place: KeyPlace,
        old: Credentials,
        user: iam.IamUser,
        session: Credentials,
        made: iam.AccessKey,
        note: dict[str, str],
    ) -> str:
        try:
            stored = place.read()
            if stored.access_key_id != made.key_id:
                raise MfaTuiError(f"the stored key is {stored.access_key_id}, not {made.key_id}")
            self._prove(name, stored, user)
        except MfaTuiError as exc:
            raise self._unproved(name, place, old, user, session, made.key_id, note, exc) from None
        if made.created is not None:
            record_key_age(name, KeyAge(made.key_id, made.created, user.name), self.ages)
        done = (
            f"rotated the access key of '{name}': {made.key_id} is stored in "
            f"{place.words()} and works"
        )
        return self._delete_old(name, user, session, old.access_key_id, done)

    def _unproved(
        self,
        name: str,
        place: KeyPlace,
        old: Credentials,
        user: iam.IamUser,
        session: Credentials,
        new_id: str,
        note: dict[str, str],
        why: MfaTuiError,
    ) -> MfaTuiError:
        """The stored new key did not prove itself: the old one goes back, the new one is
        deleted."""
        said = f"the new access key {new_id} did not work ({why.message})"
        try:
            stored = place.read()
            if stored.access_key_id != old.access_key_id:
                place.write(old, stored)
        except MfaTuiError as exc:
            return type(why)(
                f"{said}, and the old key {old.access_key_id} could not be put back in "
                f"{place.words()} ({exc.message}). Both keys still exist in AWS: run "
                f"'mfa-tui keys rotate {name}' again, which proves the new key and finishes",
                title=why.title,
            )
        said += f"; the old key {old.access_key_id} is stored again in {place.words()}"
        self.journal.put(name, step=CREATED, new=new_id, **note)
        return self._drop_new(name, user, session, new_id, said, why)

    def _delete_old(
        self, name: str, user: iam.IamUser, session: Credentials, old_id: str, done: str
    ) -> str:
        failed = self._delete(name, user, session, old_id)
        if failed is not None:
            raise type(failed)(
                f"{done}, but the old key {old_id} could not be deleted ({failed.message}): "
                f"it still works. Run 'mfa-tui keys rotate {name}' again to finish, or "
                f"{_delete_command(user.name, old_id)}",
                title=failed.title,
            )
        return f"{done}; the old key {old_id} was deleted"

    # --- finishing a rotation that was stopped -------------------------------------------

    def _resume(
        self,
        name: str,
        place: KeyPlace,
        stored: Credentials,
        user: iam.IamUser,
        session: Credentials,
        listed: list[iam.AccessKey],
        pending: dict[str, Any],
        confirm: Callable[[RotationStart], bool] | None,
    ) -> str | None:
        """Finish what a stopped rotation left; a result when that is all there is to
        do, None to go on with a rotation of its own."""
        old_id, new_id = pending.get("old"), pending.get("new")
        ids = {k.key_id for k in listed}
        if stored.access_key_id == new_id:
            # The new key was stored: prove it, then delete the old one.
            if confirm is not None and not confirm(
                RotationStart(name, user.name, str(old_id), place.words(), True)
            ):
                raise UsageError("nothing was changed")
            made = next((k for k in listed if k.key_id == new_id), iam.AccessKey(str(new_id), ""))
            try:
                self._prove(name, stored, user)
            except MfaTuiError as exc:
                raise type(exc)(
                    f"a rotation of '{name}' was stopped after storing the new key {new_id}, "
                    f"which does not work ({exc.message}); the old key {old_id} "
                    f"{'still exists' if old_id in ids else 'is gone'} in AWS, but its secret "
                    "is no longer stored: create a new key in IAM and store it with 'aws "
                    f"configure --profile {name}'",
                    title=exc.title,
                ) from None
            if made.created is not None:
                record_key_age(name, KeyAge(made.key_id, made.created, user.name), self.ages)
            done = (
                f"finished the rotation of '{name}' that was stopped: {new_id} is stored in "
                f"{place.words()} and works"
            )
            if old_id not in ids:
                self.journal.clear(name)
                return done
            return self._delete_old(name, user, session, str(old_id), done)
        if stored.access_key_id != old_id:
            self.journal.clear(name)  # the keys were changed since: nothing to finish
            return None
        if new_id is not None:
            # Made, never stored: nobody has its secret.
            failed = self._delete(name, user, session, str(new_id)) if new_id in ids else None
            if failed is not None:
                raise failed
            self.journal.clear(name)
            return None
        others = [k for k in listed if k.key_id != old_id]
        if not others:
            self.journal.clear(name)  # stopped before AWS made the key
            return None
        raise UsageError(
            f"a rotation of '{name}' was stopped while AWS made its new key, so that key's "
            f"secret is stored nowhere. IAM user {user.name} now has "
            + "; ".join(self._key_words(k, stored.access_key_id, name) for k in listed)
            + f". If you did not make {others[0].key_id} yourself elsewhere, delete it: "
            + _delete_command(user.name, others[0].key_id)
            + f", then run 'mfa-tui keys rotate {name}' again"
        )
