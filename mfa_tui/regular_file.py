"""Reading a file that must be a regular one, without ever waiting on it.

The cached paths read the credentials and settings files with nothing but `os`. A FIFO
or a device put where a file belongs must not hang them or fill memory (`/dev/zero`),
so what is not a regular file of a sane size is refused here, and the full command,
which names the problem, takes over.
"""

from __future__ import annotations

import os
import stat


def read_regular(path: str, limit: int) -> bytes | None:
    """A regular file's bytes, or None when it is something else or over `limit` bytes.

    Never waits: a FIFO put where a file belongs is opened without blocking and refused.
    Raises OSError (FileNotFoundError when there is nothing there) when it cannot be
    opened or read.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        chunks: list[bytes] = []
        total = 0
        while total <= limit:  # the file may grow while it is read
            chunk = os.read(fd, limit + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks) if total <= limit else None
