"""Whether the AWS tools can start a profile's `credential_process` program.

botocore runs `credential_process` without a shell: it splits the line into words
(`shlex.split` on POSIX, its own Windows rules there) and starts the first word with
`subprocess.Popen`. So no `~`, `$HOME` or alias is expanded, a bare name is looked up
on PATH, and a path with a slash is taken relative to whatever folder the AWS tool
happens to run in. A program that cannot be started fails every call of the profile
with an error about the process, far from the line that causes it; this names it.

The answer depends on this computer (PATH, installed programs), not on the files
alone: a listing that shows such a note must not be kept as if it only depended on
the files (see `ProfileSet.depends_on_system`).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path


def split_command(command: str) -> list[str]:
    """The words botocore starts `command` as; ValueError for an unclosed quote."""
    if sys.platform == "win32":  # pragma: no cover - Windows only
        from botocore.compat import compat_shell_split

        words: list[str] = compat_shell_split(command)
        return words
    return shlex.split(command)


def program_problem(command: str) -> str | None:
    """Why the AWS tools could not start `command`'s program, or None when they can.

    The words name the program only, never its arguments (which may hold a token).
    """
    try:
        words = split_command(command)
    except ValueError:
        return "it has a quote that is not closed, so the AWS tools cannot split it into words"
    if not words:
        return "it is empty"
    program = words[0]
    if program.startswith("~"):
        return (
            f"its program '{program}' starts with '~', which the AWS tools do not expand "
            "(they run it without a shell): write the full path"
        )
    separators = (os.sep, os.altsep) if os.altsep else (os.sep,)
    if not any(sep in program for sep in separators):
        if shutil.which(program) is None:
            return (
                f"its program '{program}' is not found on PATH; install it, or write its full path"
            )
        return None
    path = Path(program)
    if not path.is_absolute():
        return (
            f"its program '{program}' is a relative path, found only when the AWS tool "
            "runs in the folder that holds it: write the full path"
        )
    if not path.is_file():
        return f"its program {program} does not exist; install it, or correct the path"
    if not os.access(path, os.X_OK):
        return f"its program {program} is not executable; run 'chmod +x {program}'"
    return None
