"""Entry point for `mfa-tui` and `python -m mfa_tui`."""

from __future__ import annotations

import os
import sys

# Not typing.TYPE_CHECKING: importing typing would cost every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn


def main() -> None:
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "credential-process" and not args[1].startswith("-"):
        # Runs before every AWS call of the profiles that use it: answer from the stored
        # session before importing the CLI at all (see mfa_tui/fastpath.py).
        from mfa_tui.fastpath import cached_answer

        answer = cached_answer(args[1])
        if answer is not None:
            sys.stdout.write(answer)
            sys.stdout.flush()
            return
    if args in (["list"], ["list", "--json"]):
        # Scripts and people run `list` far more often than they edit their files:
        # render from the listing cached at the last parse (see mfa_tui/listing.py).
        from mfa_tui.listing import WARNING, cached_listing

        cached = cached_listing(as_json=len(args) == 2)
        if cached is not None:
            text, problems = cached
            for problem in problems:
                print(WARNING.format(problem), file=sys.stderr)
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        from mfa_tui.cli import main as cli_main

        _leave(cli_main())
    if args and args[0] == "__complete":
        # Every tab of a shell's completion: the standard library alone, never the CLI.
        from mfa_tui.completion import main as complete

        complete(args[1:])
        return
    if args and args[0] == "status":
        # A shell prompt runs it before every line: answer from the files with the
        # standard library alone (see mfa_tui/status_line.py).
        from mfa_tui.status_line import cached_line

        line = cached_line(args)
        if line is not None:
            sys.stdout.write(line)
            sys.stdout.flush()
            return
    from mfa_tui.cli import main as cli_main

    sys.exit(cli_main())


def _leave(code: int) -> NoReturn:
    """Exit at once once everything is written.

    A full `list` holds tens of thousands of small objects; the interpreter would free
    them one by one on its way out, which takes longer than printing them. Nothing is
    left to do by then (the listing cache is already in place), so after the output is
    flushed the process ends without that.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass  # the reader went away: as the command itself treats it
    os._exit(code)


if __name__ == "__main__":
    main()
