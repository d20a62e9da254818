"""mfa-tui's own folders and files, made so another local user cannot turn them against you.

Besides the AWS files, mfa-tui writes a few files of its own: the state of spent MFA
codes (`codes.json`), the `list` cache, the daemon's log, the settings file and the
agent's socket folder. Whoever can rename entries in a folder on the way to one of them
can swap that folder for one of their own and plant a link where mfa-tui will write: a
write that follows a link at `codes.json` to `~/.aws/credentials` destroys the
credentials. So, here and for all of them:

- folders are created 0700, missing parents too, whatever the umask;
- a folder is used only when nobody but you (and root) can change it or any folder on
  the way to it; a sticky folder such as /tmp may be on the way (others cannot rename
  what is not theirs in it), never the folder itself. Otherwise `UnsafePathError` says
  which folder and why;
- files are created without following links, temporary names with O_EXCL, and a file
  is replaced by renaming a new one over it (a rename replaces a planted link, it never
  writes through it);
- a file is read only when it is a regular file of yours that nobody else can write.

Standard library core only (os, stat): the cached `list` path writes through it.
"""

from __future__ import annotations

import errno
import os
import stat

from mfa_tui.bounded_read import RefusedFileError, read_file

# Symbolic links followed on the way to a folder before giving up (Linux's own limit).
_MAX_LINKS = 40
# Owners and modes are POSIX ideas: on Windows a file's owner and who may write it come
# from ACLs, which the user profile folder already keeps private, and these checks (and
# the flags below) do not apply.
POSIX = hasattr(os, "getuid")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class UnsafePathError(OSError):
    """A folder or file that someone other than you (or root) could change."""

    def __init__(self, message: str) -> None:
        super().__init__(errno.EPERM, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _trusted_owner(uid: int) -> bool:
    return uid in (os.getuid(), 0)


def _own_group(gid: int) -> bool:
    """Whether `gid` is your private group (named like you, nobody else in it).

    Distributions that give every user such a group also set a umask of 002, so folders
    other programs make in your home are group-writable; nobody else can use that.
    """
    import grp
    import pwd

    try:
        group = grp.getgrgid(gid)
        me = pwd.getpwuid(os.getuid())
    except KeyError:
        return False
    return gid == me.pw_gid and group.gr_name == me.pw_name and set(group.gr_mem) <= {me.pw_name}


def _writable_by_others(st: os.stat_result) -> bool:
    if st.st_mode & stat.S_IWOTH:
        return True
    return bool(st.st_mode & stat.S_IWGRP) and not _own_group(st.st_gid)


def _who(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (KeyError, ImportError):
        return f"uid {uid}"


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


def check_folder(folder: str) -> None:
    """Raise UnsafePathError unless only you (and root) can change `folder` and the way to it.

    Every folder on the way must belong to you or root and be writable by nobody else
    (sticky ones excepted: /tmp); a link on the way must belong to you or root and is
    followed; `folder` itself must be yours and writable by nobody else.

    Raises:
        FileNotFoundError: part of the path does not exist.
        UnsafePathError: what is wrong, naming the folder to fix.
    """
    if not POSIX:
        if not os.path.isdir(folder):
            raise FileNotFoundError(errno.ENOENT, "no such folder", folder)
        return
    todo = list(reversed(_parts(os.path.abspath(folder))))
    current = "/"
    st = os.lstat(current)
    links = 0
    while True:
        if not _trusted_owner(st.st_uid):
            raise UnsafePathError(f"{current} belongs to another user, {_who(st.st_uid)}")
        sticky = bool(st.st_mode & stat.S_ISVTX)
        if todo and not sticky and _writable_by_others(st):
            raise UnsafePathError(_writable_message(current, st))
        if not todo:
            break
        name = todo.pop()
        if name == "..":
            current = os.path.dirname(current)
            st = os.lstat(current)
            continue
        path = os.path.join(current, name)
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            if not _trusted_owner(st.st_uid):
                raise UnsafePathError(
                    f"{path} is a link that belongs to another user, {_who(st.st_uid)}"
                )
            links += 1
            if links > _MAX_LINKS:
                raise UnsafePathError(f"{folder}: too many links on the way")
            target = os.readlink(path)
            if target.startswith("/"):
                current = "/"
            todo.extend(reversed(_parts(target)))
            st = os.lstat(current)
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafePathError(f"{path} is not a folder")
        current = path
    if st.st_uid != os.getuid():
        raise UnsafePathError(f"{current} belongs to another user, {_who(st.st_uid)}")
    if _writable_by_others(st):
        raise UnsafePathError(_writable_message(current, st))


def _writable_message(path: str, st: os.stat_result) -> str:
    return (
        f"{path} can be changed by other users (mode {stat.S_IMODE(st.st_mode):o}); "
        f"run 'chmod go-w {path}'"
    )


def make_folders(folder: str) -> None:
    """Create `folder` and any missing parents, each 0700 whatever the umask."""
    missing: list[str] = []
    path = os.path.abspath(folder)
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue  # made by someone else a moment ago: check_folder judges it
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(path, 0o700)  # a umask that took the owner's own bits (0o777)


def private_folder(folder: str) -> str:
    """`folder`, created 0700 if missing (parents too) and checked with `check_folder`."""
    make_folders(folder)
    check_folder(folder)
    return folder


def check_own_file(st: os.stat_result, path: str, *, root_ok: bool = False) -> None:
    """Raise UnsafePathError unless `st` is a regular file of yours (or root's, with
    `root_ok`) that nobody else can write."""
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePathError(f"{path} is not a regular file")
    if not POSIX:
        return
    if st.st_uid != os.getuid() and not (root_ok and st.st_uid == 0):
        raise UnsafePathError(f"{path} belongs to another user, {_who(st.st_uid)}")
    if _writable_by_others(st):
        raise UnsafePathError(_writable_message(path, st))


def check_trusted_file(st: os.stat_result, path: str) -> None:
    """`check_own_file` for a file you may have been given by root (a settings file)."""
    check_own_file(st, path, root_ok=True)


def read_private(path: str, limit: int) -> bytes | None:
    """The contents of one of mfa-tui's files, or None when there is none.

    A link is not followed, and a file someone else could have written is not trusted.

    Raises:
        UnsafePathError: a link, not a regular file, not yours, or writable by others.
        RefusedFileError: bigger than `limit`.
    """
    try:
        return read_file(path, limit, flags=_NOFOLLOW, vet=check_own_file)
    except FileNotFoundError:
        return None
    except RefusedFileError as exc:
        if exc.reason.endswith("not a regular file"):
            raise UnsafePathError(f"{path} {exc.reason}") from None
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePathError(f"{path} is a link; mfa-tui keeps a plain file there") from None
        raise


def followed_target(path: str) -> str:
    """Where a write to `path` lands: `path`, or the target of a link you made there.

    For a file people keep in a dotfiles repository and link to (the settings): the
    folder of `path` is created and checked, so a link in it is one you (or root) made;
    it is followed, and the folder it leads to is checked too.

    Raises:
        UnsafePathError: either folder is not yours alone, or the link is not yours.
    """
    private_folder(os.path.dirname(os.path.abspath(path)))
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    if not stat.S_ISLNK(st.st_mode):
        return path
    if POSIX and not _trusted_owner(st.st_uid):
        raise UnsafePathError(f"{path} is a link that belongs to another user, {_who(st.st_uid)}")
    target = os.path.realpath(path)
    check_folder(os.path.dirname(target))
    return target


TEMP_PREFIX = ".mfa-tui-"
TEMP_SUFFIX = ".tmp"


def _temp_name(target: str) -> str:
    folder, name = os.path.split(target)
    return os.path.join(folder, f"{TEMP_PREFIX}{name}.{os.urandom(6).hex()}{TEMP_SUFFIX}")


def write_private(path: str, data: bytes, *, durable: bool = True) -> None:
    """Replace `path` with `data`, mode 0600, in a checked folder; a link there is replaced.

    `durable` fsyncs the file and its folder (state that must survive a crash); a cache
    skips that.

    Raises:
        UnsafePathError: the folder (or the way to it) is not yours alone.
        OSError: it could not be written; nothing was replaced.
    """
    folder = private_folder(os.path.dirname(os.path.abspath(path)))
    temp = _temp_name(path)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
    try:
        try:
            if POSIX:
                os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        try:  # noqa: SIM105 - contextlib costs the cached `list` path its import
            os.unlink(temp)
        except OSError:
            pass
        raise
    if durable:
        try:
            dir_fd = os.open(folder, os.O_RDONLY | _DIRECTORY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)


def open_private_append(path: str) -> int:
    """A descriptor that appends to one of mfa-tui's files (a log), created 0600 if missing.

    Raises:
        UnsafePathError: a link, not a regular file, not yours, or in a folder that is not
            yours alone.
    """
    private_folder(os.path.dirname(os.path.abspath(path)))
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | _NONBLOCK | _CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePathError(f"{path} is a link; mfa-tui keeps a plain file there") from None
        raise
    try:
        check_own_file(os.fstat(fd), path)
        if POSIX:
            os.fchmod(fd, 0o600)
    except BaseException:
        os.close(fd)
        raise
    return fd
