"""Reading a whole file, refusing what is not a regular file or is too big to be real.

A path can name something that never ends or never answers: a FIFO blocks `open()`
until a writer comes, `/dev/zero` never stops, a 2 GB file takes the memory with it.
The AWS files, the settings file and mfa-tui's own files are all read through here, so
each of those is refused at once, by name, instead of hanging or crashing the command.

Standard library core only (os, stat): the cached `credential-process` and `list` paths
read through it too.
"""

from __future__ import annotations

import errno
import os
import stat

# Not `typing.TYPE_CHECKING`: the cached paths cannot afford importing typing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

# No real AWS file comes near this: 50,000 profiles with roles, regions and comments
# make 10 MB. Past it, a file is an accident (a log written to the wrong path) or a
# trap, and parsing it would take gigabytes.
MAX_FILE_BYTES = 16 * 1024 * 1024
_CHUNK = 1024 * 1024
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class RefusedFileError(OSError):
    """A path mfa-tui will not read: not a regular file, or bigger than the limit.

    `reason` completes a sentence that starts with the path ("… is a named pipe (FIFO),
    not a regular file").
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(errno.EINVAL, reason, path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.filename} {self.reason}"


def describe(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_regular(st: os.stat_result, path: str, limit: int = MAX_FILE_BYTES) -> None:
    """Raise RefusedFileError unless `st` is a regular file of at most `limit` bytes."""
    if not stat.S_ISREG(st.st_mode):
        raise RefusedFileError(path, f"is {describe(st.st_mode)}, not a regular file")
    if st.st_size > limit:
        raise RefusedFileError(path, _too_big(st.st_size, limit))


def _too_big(size: int, limit: int) -> str:
    return (
        f"is {size / 1_048_576:.1f} MiB, more than the {limit // 1_048_576} MiB no real AWS "
        "or mfa-tui file reaches"
    )


def read_file(
    path: str,
    limit: int = MAX_FILE_BYTES,
    *,
    flags: int = 0,
    vet: Callable[[os.stat_result, str], None] | None = None,
) -> bytes:
    """The whole file at `path` (a link to a regular file is followed, unless `flags`
    has O_NOFOLLOW); `vet` may refuse it by its stat before anything is read.

    Raises:
        FileNotFoundError: nothing there.
        RefusedFileError: a FIFO, device, socket or directory, or more than `limit`
            bytes (also when it grows past the limit while being read).
        OSError: it cannot be opened or read.
    """
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    # (Windows has neither flag, nor FIFOs to wait on.)
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC | flags)
    try:
        st = os.fstat(fd)
        check_regular(st, path, limit)
        if vet is not None:
            vet(st, path)
        # The size is known: one read takes the whole file (the list cache's 2 MB in one
        # copy); the loop only runs for a file that grew meanwhile.
        chunks = [os.read(fd, st.st_size + 1)]
        total = len(chunks[0])
        while chunks[-1]:
            if total > limit:
                raise RefusedFileError(path, _too_big(total, limit))
            chunk = os.read(fd, _CHUNK)
            total += len(chunk)
            chunks.append(chunk)
        return chunks[0] if len(chunks) <= 2 else b"".join(chunks)
    finally:
        os.close(fd)
