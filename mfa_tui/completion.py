"""Shell completion: `mfa-tui completion bash|zsh|fish` prints the script, and the script
asks `mfa-tui __complete SHELL WORDS...` at every tab.

That answer must come in about Python's own start-up time, so it is worked out here
with the standard library's core alone (no argparse: the subcommands and their options
are listed below, and tests/test_completion.py checks the list against the CLI's
parser), and the profile names come from the AWS files by profile_scan's rules: users
and roles where a command takes one, session profiles too where a session is enough.
"""

from __future__ import annotations

import os
import sys

from mfa_tui import profile_scan

# What a positional argument completes to.
MANAGED = "managed"  # users and roles
USERS = "users"
SESSIONS = "sessions"  # users, roles and the session profiles mfa-tui wrote
SHELLS = ("bash", "zsh", "fish")

# Not `typing.TYPE_CHECKING`: importing typing would cost this path dearly.
TYPE_CHECKING = False
if TYPE_CHECKING:
    # (flags without a value, options that take one -> their choices (empty: free
    # text), the positional arguments in order: a kind above, or a tuple of words)
    Spec = tuple[tuple[str, ...], dict[str, tuple[str, ...]], tuple[object, ...]]

# `mfa-tui export --format`: the AWS CLI's names (`aws configure export-credentials`)
# and `json`, the name `process` had here first (the CLI's parser takes them from here).
EXPORT_FORMATS = ("env", "env-no-export", "fish", "powershell", "windows-cmd", "process", "json")
COMMANDS: dict[str, Spec] = {
    "list": (("--json",), {}, ()),
    "refresh": (
        ("--due", "--force", "--save-serial"),
        {"--code": (), "--duration": ()},
        (MANAGED,),
    ),
    "use": ((), {"--code": ()}, (MANAGED,)),
    "exec": (("--env",), {}, (MANAGED,)),
    "console": (("--print",), {"--destination": ()}, (MANAGED,)),
    "status": ((), {"--format": ()}, ()),
    "export": ((), {"--format": EXPORT_FORMATS}, (SESSIONS,)),
    "credential-process": ((), {}, (SESSIONS,)),
    "totp": ((), {}, (("set", "remove", "code"), USERS)),
    "keys": ((), {}, (("import", "restore", "remove", "rotate", "credential-process"), USERS)),
    "setup": (
        ("--store-seed", "--yes", "--apply"),
        {
            "--device": (),
            "--device-name": (),
            "--enforce": ("user-policy", "role"),
            "--attach-policy": (),
        },
        (USERS,),
    ),
    "doctor": (("--offline", "--files", "--json"), {}, (USERS,)),
    "daemon": (("--once",), {}, ()),
    "demo": (("--keep",), {}, ()),
    "completion": ((), {}, (SHELLS,)),
    "ui": ((), {}, ()),
}
GLOBAL = ("--help", "--version")


def profiles(kind: object) -> list[str]:
    """Profile names of `kind` from the AWS files (none when they cannot be read here)."""
    scanned = profile_scan.read_profiles()
    if scanned is None:
        return []
    merged, _ = scanned
    # A profile only the full parser can classify (a credential_process without a
    # device) may be a user: offered, the command itself judges it.
    maybe = profile_scan.UNKNOWN
    wanted = {
        MANAGED: (profile_scan.USER, profile_scan.ROLE, maybe),
        USERS: (profile_scan.USER, maybe),
        SESSIONS: (profile_scan.USER, profile_scan.ROLE, profile_scan.SESSION, maybe),
    }[str(kind)]
    return sorted(n for n, values in merged.items() if profile_scan.kind(values) in wanted)


def candidates(words: list[str]) -> list[str]:
    """What may come next: `words` are the words after `mfa-tui`, the last one the word
    being completed (empty when the cursor is after a space)."""
    *done, current = words or [""]
    if not done:
        if current.startswith("-"):
            return [o for o in GLOBAL if o.startswith(current)]
        return [c for c in COMMANDS if c.startswith(current)]
    command, rest = done[0], done[1:]
    spec = COMMANDS.get(command)
    if spec is None:
        return []
    flags, valued, positionals = spec
    if rest and rest[-1] in valued:
        return [c for c in valued[rest[-1]] if c.startswith(current)]
    if "--" in rest:
        return []  # the command `exec` runs: the shell's own completion is better
    given = 0
    skip = False
    for word in rest:
        if skip:
            skip = False
        elif word in valued:
            skip = True
        elif not word.startswith("-"):
            given += 1
    if current.startswith("-"):
        options = [*flags, *valued, "--help"]
        return [o for o in options if o.startswith(current) and o not in rest]
    if given >= len(positionals):
        return []
    kind = positionals[given]
    found = list(kind) if isinstance(kind, tuple) else profiles(kind)
    return [c for c in found if c.startswith(current)]


def answer(args: list[str]) -> str:
    """What `mfa-tui __complete SHELL ...` prints: one candidate a line.

    bash passes its command line up to the cursor as one word (split here, so a name
    holding one of bash's word breaks, ':' or '=', completes whole; the part bash
    already took as earlier words is cut off each candidate); zsh and fish pass the
    words after `mfa-tui`, the last one the word being completed.
    """
    if not args or args[0] not in SHELLS:
        return ""
    shell, words = args[0], args[1:]
    if shell == "bash":
        line = words[0] if words else ""
        words = line.split()[1:]
        if not line or line[-1].isspace():
            words.append("")
        breaks = os.environ.get("COMP_WORDBREAKS", "\"'><=;|&(:")
        current = words[-1]
        cut = max((current.rfind(c) for c in breaks), default=-1) + 1
        found = [c[cut:] for c in candidates(words)]
    else:
        found = candidates(words)
    return "".join(f"{c}\n" for c in found)


# The scripts. Each asks `mfa-tui __complete` and lets the shell filter nothing more.
BASH = """\
# mfa-tui completion for bash: eval "$(mfa-tui completion bash)" in ~/.bashrc
_mfa_tui_complete() {
    local IFS=$'\\n'
    COMPREPLY=($(COMP_WORDBREAKS="$COMP_WORDBREAKS" mfa-tui __complete bash \\
        "${COMP_LINE:0:COMP_POINT}" 2>/dev/null))
}
complete -o default -o nosort -F _mfa_tui_complete mfa-tui 2>/dev/null \\
    || complete -o default -F _mfa_tui_complete mfa-tui
"""
ZSH = """\
#compdef mfa-tui
# mfa-tui completion for zsh: eval "$(mfa-tui completion zsh)" in ~/.zshrc (after
# compinit), or save it as _mfa-tui in a folder of $fpath
_mfa_tui() {
    local -a found
    found=("${(@f)$(mfa-tui __complete zsh "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    found=(${found:#})
    (( ${#found} )) && compadd -- "${found[@]}"
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _mfa_tui "$@"
else
    compdef _mfa_tui mfa-tui
fi
"""
FISH = """\
# mfa-tui completion for fish: mfa-tui completion fish > ~/.config/fish/completions/mfa-tui.fish
function __mfa_tui_complete
    set -l tokens (commandline -opc) (commandline -ct)
    mfa-tui __complete fish $tokens[2..-1] 2>/dev/null
end
complete -c mfa-tui -f -a '(__mfa_tui_complete)'
"""
SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def main(args: list[str]) -> None:
    """`mfa-tui __complete ...`: never fails, never prints to stderr (a tab must not)."""
    sys.stdout.write(answer(args))
    sys.stdout.flush()
