"""The lossless writer for the AWS credentials and config files.

In the credentials file mfa-tui owns only the sections it wrote, marked with
`mfa_tui_source = <profile>`. Changing one replaces the lines from its header to its
last key and leaves every other byte as it was: comments, blank lines, order, other
profiles, unknown keys, line endings, a BOM, even undecodable bytes. In the config file
it only adds or changes keys of a profile (`set_profile_keys`), in the section botocore
reads for that profile, line by line. Either file is re-read under the lock just before
the write, so an edit made by hand (or by `aws configure set`) a moment earlier is
kept, never overwritten with a stale copy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from functools import partial
from pathlib import Path

from mfa_tui.aws import ini
from mfa_tui.aws.atomic import check_writable, locked, replace_locked
from mfa_tui.aws.names import (
    config_header_for,
    config_profile_name,
    name_problem,
    session_name_problem,
)
from mfa_tui.errors import FileWriteError

OWNER_KEY = "mfa_tui_source"


def _check_value(key: str, value: str) -> None:
    if not key or any(c in key for c in "=:[]\r\n") or key != key.strip() or key[0] in "#;":
        raise FileWriteError(f"refusing to write key {key!r}: not a plain INI key")
    if any(c in value for c in "\r\n") or value != value.strip():
        raise FileWriteError(f"refusing to write a value for '{key}' with line breaks or padding")


def render_section(header: str, values: Mapping[str, str], newline: str) -> list[str]:
    lines = [f"[{header}]{newline}"]
    for key, value in values.items():
        _check_value(key, value)
        lines.append(f"{key} = {value}{newline}")
    return lines


def _read_for_write(target: Path) -> ini.IniDocument:
    check_writable(target)
    try:
        return ini.read(target)
    except OSError as exc:
        raise FileWriteError(f"cannot read {target}: {exc.strerror}; nothing was written") from None


def _refuse_broken_header(doc: ini.IniDocument, target: Path, header: str) -> None:
    """Refuse when a malformed header line was meant to be `[header]`: writing would
    leave a second copy beside it, and the person's fix would then clash with ours."""
    names_it = re.compile(re.escape(header) + r"(?![A-Za-z0-9_.@+=,:/-])")
    for section in doc.sections:
        if section.broken and names_it.match(section.name.lstrip("[").lstrip()):
            raise FileWriteError(
                f"{target}:{section.start + 1}: a malformed header mentions [{header}]; "
                "fix that line first so mfa-tui does not write a second copy"
            )


def _apply_sections(
    doc: ini.IniDocument, sections: Mapping[str, Mapping[str, str] | None]
) -> list[str]:
    """New lines with each header replaced by its values (or removed when None)."""
    lines = list(doc.lines)
    edits: list[tuple[int, int, list[str]]] = []
    appended: list[list[str]] = []
    for header, values in sections.items():
        existing = doc.find(header)
        block = render_section(header, values, doc.newline) if values is not None else []
        if existing:
            # The first keeps its place; later duplicates of our own section go.
            edits.append((existing[0].start, existing[0].end, block))
            edits.extend((dup.start, dup.end, []) for dup in existing[1:])
        elif values is not None:
            appended.append(block)
    # Bottom-up, so the line numbers of the edits still to make stay right.
    for start, end, block in sorted(edits, key=lambda edit: edit[0], reverse=True):
        lines[start:end] = block
    for block in appended:
        _append_block(lines, block, doc.newline)
    return lines


def write_section(
    path: Path,
    header: str,
    values: Mapping[str, str] | None,
    *,
    owner_key: str = OWNER_KEY,
    mirror: bool = False,
) -> None:
    """Create, replace or (with values=None) remove one section we own.

    Refuses a section that exists without the ownership mark (see `check_owner`: there
    is no flag to force it), one whose mark names another profile than `values` does
    unless `mirror` (the active profile, which mirrors whichever session was switched to
    last), and names that cannot be written as a credentials section.
    """
    write_sections(path, {header: values}, owner_key=owner_key, mirrors=(header,) if mirror else ())


def write_sections(
    path: Path,
    sections: Mapping[str, Mapping[str, str] | None],
    *,
    owner_key: str = OWNER_KEY,
    mirrors: Collection[str] = (),
) -> None:
    """`write_section` for several sections in one locked, atomic write.

    Fifty role sessions refreshed together cost one read, one parse and one fsync, and
    readers see all of them change at once. Every section is checked before anything
    is written: one refused section refuses the whole write.
    """
    for header, values in sections.items():
        problem = session_name_problem(header)
        if problem is not None:
            raise FileWriteError(
                f"refusing to write section [{header}] in {path}: {problem}; nothing was written"
            )
        if values is not None and owner_key not in values:
            raise FileWriteError(
                f"internal: section [{header}] written without its {owner_key} mark"
            )
    _rewrite(
        path,
        lambda doc, target: _sections_written(doc, target, sections, owner_key, mirrors),
    )


def _rewrite(path: Path, edit: Callable[[ini.IniDocument, Path], bytes | None]) -> None:
    """Under the lock: read `path`, let `edit` make its new bytes, replace it atomically.

    `edit` returns None when nothing changes, and raises FileWriteError to refuse.
    """
    with locked(path) as target:
        # Programs that do not take our lock (an editor, `aws configure set`) may write
        # while we work: if the file changed between our read and our rename (looked at
        # once the new contents are on disk, right before the rename), start again from
        # what it holds now rather than put back a stale copy.
        for _attempt in range(5):
            seen = _signature(target)
            doc = _read_for_write(target)
            data = edit(doc, target)
            if data is None:
                return
            if replace_locked(target, data, unchanged=partial(_is_still, target, seen)):
                return
        raise FileWriteError(
            f"{target} kept changing while mfa-tui tried to write it; nothing was written, "
            "try again"
        )


def _is_still(path: Path, seen: tuple[int, int, int, int] | None) -> bool:
    return _signature(path) == seen


def _signature(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    # ctime too: no program can set it back, as `touch -d` sets back an mtime.
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def not_ours(
    header: str,
    target: Path | str,
    owner: str,
    owner_key: str = OWNER_KEY,
    *,
    asked: str = "",
    instead: str = "choose another session profile name in the settings",
) -> FileWriteError:
    """The refusal to write over a section without mfa-tui's mark, and how to hand it over.

    There is no flag for it: a person looks at the section, and if nothing in it is
    theirs to keep, removes it or marks it as mfa-tui's with one line.
    """
    return FileWriteError(
        f"[{header}] in {target} was not written by mfa-tui (it has no '{owner_key}' "
        f"line), so it may hold your own keys; mfa-tui will not overwrite it{asked}. If "
        f"nothing in it is yours to keep, delete it or add the line '{owner_key} = "
        f"{owner}' to it, and mfa-tui takes it over; or {instead}",
        title="Not mfa-tui's section",
    )


def check_owner(
    doc: ini.IniDocument,
    header: str,
    source: str | None,
    *,
    owner_key: str = OWNER_KEY,
    instead: str = "choose another session profile name in the settings",
) -> None:
    """Refuse to replace `[header]` unless mfa-tui wrote every copy of it for `source`.

    A copy without the mark may hold the person's own keys (and writing drops
    duplicates); a copy marked for another profile holds that profile's session, which
    one profile's refresh must not overwrite. `source` None accepts any mfa-tui
    section (the active profile mirrors whichever session was switched to last).
    `instead` says what the person can do about it.
    """
    sections = doc.find(header)
    if not sections:
        return
    if not all(owner_key in s.values for s in sections):
        raise not_ours(header, doc.path, source or "<profile>", owner_key, instead=instead)
    others = sorted({s.values[owner_key] for s in sections} - {source})
    if source is not None and others:
        raise FileWriteError(
            f"[{header}] in {doc.path} holds the session of '{others[0]}' ({owner_key} = "
            f"{others[0]}), not of '{source}'; mfa-tui will not write one profile's "
            f"session over another's. Delete that section, or {instead}",
            title="Another profile's session",
        )


def _sections_written(
    doc: ini.IniDocument,
    target: Path,
    sections: Mapping[str, Mapping[str, str] | None],
    owner_key: str,
    mirrors: Collection[str],
) -> bytes | None:
    """The new file contents, or None when nothing changes; refusals raise."""
    for header, values in sections.items():
        _refuse_broken_header(doc, target, header)
        source = None if values is None or header in mirrors else values[owner_key]
        check_owner(doc, header, source, owner_key=owner_key)
    for header in sections:
        for section in doc.find(header):
            _refuse_indented_neighbour(doc, section, target)
    new_lines = _apply_sections(doc, sections)
    if new_lines == doc.lines and (doc.exists or all(v is None for v in sections.values())):
        return None  # nothing to change; removing from a missing file creates nothing
    doc.lines = new_lines
    return doc.to_bytes()


def _refuse_indented_neighbour(doc: ini.IniDocument, section: ini.Section, target: Path) -> None:
    """Refuse to edit `section` when the next line with content after it is indented.

    Such a line is not part of the section (its indent is no deeper than the key above
    it), but an indented line is read as the continuation of the key before it: once
    mfa-tui's block (keys at the margin) or, after a removal, the section before stands
    there, the AWS tools would read it into that key, and a later rewrite would drop it.
    """
    line = _next_line_if_indented(doc.lines, section.end)
    if line is not None:
        raise FileWriteError(
            f"{target}:{line}: this indented line right after [{section.name}] would be "
            "read as part of a key once mfa-tui rewrites that section; nothing was "
            "written. Remove the line's indentation (or the line), then try again"
        )


def _next_line_if_indented(lines: list[str], start: int) -> int | None:
    """The 1-based number of the first line from `start` with content, if indented."""
    for index in range(start, len(lines)):
        text = lines[index].strip()
        if text and text[0] not in "#;":
            return index + 1 if lines[index][0].isspace() else None
    return None


def set_section_keys(
    path: Path,
    header: str,
    changes: Mapping[str, str | None],
    *,
    expect: Mapping[str, str | None] | None = None,
) -> None:
    """Set or remove keys of a person's own section of the credentials file, in place.

    What `keys import`, `restore` and `rotate` do to a user's section. A key given None
    goes, with its continuation lines, from every copy of `[header]` and from every line
    it is set on; a key given a value takes the place of the line botocore reads (the
    text before the value, its indent and line ending kept) and its other lines go (no
    old secret stays behind); a new key takes the place of the first line removed from
    the section, or else goes after its last key; without a section, one is appended.
    Every other byte stays. The result is read back first: if the AWS tools would read
    anything but these changes, nothing is written. `expect` (key -> value, None for
    absent) is what the section must still hold under the lock: keys being moved
    elsewhere are removed only if they are the ones the caller moved.

    Raises:
        FileWriteError: nothing was written: a name or value that cannot be written, a
            malformed header that mentions the section, an indented line right after
            it, a section mfa-tui wrote (sessions go through `write_section`), or a
            result botocore would read otherwise (a key only [DEFAULT] sets), or a
            section that no longer holds what `expect` says.
    """
    problem = session_name_problem(header)
    if problem is not None:
        raise FileWriteError(f"cannot edit section [{header}] in {path}: {problem}")
    for key, value in changes.items():
        _check_value(key, value or "")
    if changes:
        _rewrite(path, lambda doc, target: _keys_edited(doc, target, header, changes, expect or {}))


def _keys_edited(
    doc: ini.IniDocument,
    target: Path,
    header: str,
    changes: Mapping[str, str | None],
    expect: Mapping[str, str | None],
) -> bytes | None:
    """The credentials file with `changes` made to `[header]`; None when nothing changes."""
    _refuse_broken_header(doc, target, header)
    sections = doc.find(header)
    now = doc.values_with_defaults().get(header, {})
    changed = sorted(k for k, v in expect.items() if now.get(k.lower()) != v)
    if changed:
        raise FileWriteError(
            f"[{header}] in {target} changed while mfa-tui worked ({', '.join(changed)}); "
            "nothing was written, run the command again"
        )
    for section in sections:
        if OWNER_KEY in section.values:
            raise FileWriteError(
                f"{target}:{section.start + 1}: [{header}] holds a session mfa-tui wrote "
                f"({OWNER_KEY}), not a person's keys; nothing was written"
            )
        _refuse_indented_neighbour(doc, section, target)
    wanted = {key.lower(): (key, value) for key, value in changes.items()}
    dropped: set[int] = set()  # line indexes that go
    replaced: dict[int, str] = {}  # line index -> its new line
    for key, (_spelled, value) in wanted.items():
        spans = [
            (section, span)
            for section in sections
            for span in (*section.shadowed.get(key, ()), section.key_spans.get(key))
            if span is not None
        ]
        read = spans[-1] if value is not None and spans else None
        for section, (first, end) in spans:
            if read is not None and read[0] is section and read[1][0] == first:
                replaced[first] = _with_value(doc.lines[first], value or "", doc.newline)
                dropped.update(range(first + 1, end))
            else:
                dropped.update(range(first, end))
    present = {key for key in wanted if any(key in s.key_spans for s in sections)}
    added = [
        f"{spelled} = {value}{doc.newline}"
        for key, (spelled, value) in wanted.items()
        if value is not None and key not in present
    ]
    # A new key goes in place of the first line that goes (the keys a credential_process
    # replaces, or the line that replaced them), else after the section's last key.
    at = (min(dropped) if dropped else sections[-1].end) if added and sections else None
    lines: list[str] = []
    for index, line in enumerate(doc.lines):
        if index == at:
            lines.extend(added)
        if index not in dropped:
            lines.append(replaced.get(index, line))
    if at is not None and at >= len(doc.lines):
        lines.extend(added)
    if added and not sections:
        _append_block(lines, [f"[{header}]{doc.newline}", *added], doc.newline)
    for i, line in enumerate(lines[:-1]):
        if not line.endswith(("\n", "\r")):
            lines[i] = line + doc.newline  # the old last line of the file, no longer last
    unchanged = lines == doc.lines
    data = (ini.BOM if doc.bom else "") + "".join(lines)
    after = doc if unchanged else ini.parse_bytes(data.encode("utf-8", "surrogateescape"), target)
    if after.values_with_defaults() != _sections_expected(doc, header, wanted):
        where = sections[0].start + 1 if sections else len(doc.lines)
        raise FileWriteError(
            f"{target}:{where}: the AWS tools would not read [{header}] with just these "
            "keys changed (is one set in [DEFAULT], or on a line mfa-tui cannot tell "
            "apart?); nothing was written. Check that section"
        )
    return None if unchanged else after.to_bytes()


def _with_value(line: str, value: str, newline: str) -> str:
    """`line` (a `key = value` line) with another value: what comes before the value,
    and the line ending, stay as they were."""
    body = line.rstrip("\r\n")
    ending = line[len(body) :] or newline
    equals, colon = body.find("="), body.find(":")
    cut = min(i for i in (equals, colon) if i >= 0) + 1
    rest = body[cut:]
    gap = rest[: len(rest) - len(rest.lstrip())]
    return f"{body[:cut]}{gap}{value}{ending}"


def _sections_expected(
    doc: ini.IniDocument, header: str, wanted: Mapping[str, tuple[str, str | None]]
) -> dict[str, dict[str, str]]:
    """Every section as botocore should read it once `wanted` is made to `[header]`."""
    sections = doc.values_with_defaults()
    defaults = doc.section_values().get(ini.DEFAULT_SECTION, {})
    values = sections.setdefault(header, dict(defaults))
    for key, (_spelled, value) in wanted.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return sections


ProfileValue = str | Mapping[str, str]


def set_profile_keys(config_file: Path, profile: str, values: Mapping[str, ProfileValue]) -> str:
    """Add or change keys of one profile in the AWS config file, in place.

    The profile's section is the one botocore reads for it: `[profile "my profile"]`
    is profile `my profile`, and when several headers name one profile the last wins.
    Each key's line (with its continuation lines) is replaced where it stands, new keys
    go after the section's last key, and a mapping value (`{"s3": {"addressing_style":
    "path"}}`) is merged into the profile's nested block, as `aws configure set` does.
    A profile without a section gets one at the end of the file, its name quoted when
    it must be (`[profile "my profile"]`). Every other byte of the file stays.

    Args:
        config_file: the AWS config file (created 0600 if missing).
        profile: the profile's name as botocore knows it (`default` for the default).
        values: key -> value, or key -> {sub-key: value} for a nested block.

    Returns:
        The header of the section that holds the profile, e.g. `profile "my profile"`.

    Raises:
        FileWriteError: nothing was written, and the message names the file and line:
            a name or value that cannot be written (a line break, padding, a `]` in
            the name), a malformed header that mentions the profile, an indented line
            right after its section, or a result botocore would not read back as
            `values` set on `profile` with every other profile unchanged.
    """
    problem = name_problem(profile)
    if problem is not None:
        raise FileWriteError(f"cannot write profile {profile!r} in {config_file}: {problem}")
    for key, value in values.items():
        for sub_key, sub_value in value.items() if not isinstance(value, str) else ():
            _check_value(sub_key, sub_value)
        _check_value(key, value if isinstance(value, str) else "")
    written: list[str] = []
    _rewrite(
        config_file, lambda doc, target: _profile_edited(doc, target, profile, values, written)
    )
    return written[-1]


def _profile_edited(
    doc: ini.IniDocument,
    target: Path,
    profile: str,
    values: Mapping[str, ProfileValue],
    written: list[str],
) -> bytes | None:
    """The config file with `values` set on `profile`, checked by reading it back; the
    header of the profile's section goes into `written`."""
    sections = [s for s in doc.sections if not s.broken and config_profile_name(s.name) == profile]
    header = sections[-1].name if sections else config_header_for(profile)
    written.append(header)
    _refuse_broken_header(doc, target, header)
    lines = list(doc.lines)
    if sections:
        section = sections[-1]
        _refuse_indented_neighbour(doc, section, target)
        block = _edited_block(doc, section, values)
        lines[section.start : section.end] = block
        where = section.start + 1
    else:
        block = [f"[{header}]{doc.newline}"]
        for key, value in values.items():
            block.extend(_key_lines(key, value, doc.newline))
        _append_block(lines, block, doc.newline)
        where = len(lines) - len(block) + 1
    if lines == doc.lines:
        return None
    data = (ini.BOM if doc.bom else "") + "".join(lines)
    after = ini.parse_bytes(data.encode("utf-8", "surrogateescape"), target)
    if _profiles_read(after) != _profiles_expected(doc, profile, values):
        raise FileWriteError(
            f"{target}:{where}: the AWS tools would not read [{header}] back as profile "
            f"'{profile}' with the new values (or would read another profile differently); "
            "nothing was written. Check that section and the lines around it"
        )
    return after.to_bytes()


def _edited_block(
    doc: ini.IniDocument, section: ini.Section, values: Mapping[str, ProfileValue]
) -> list[str]:
    """The section's lines with each key replaced where it stands, new ones at its end."""
    nl = doc.newline
    replaced: dict[int, list[str]] = {}  # line index -> its new lines
    added: list[str] = []  # new keys, after the section's last key
    for key, value in values.items():
        span = section.key_spans.get(key.lower())
        if span is None:
            added.extend(_key_lines(key, value, nl))
            continue
        first, end = span
        old = section.values.get(key.lower(), "")
        if isinstance(value, str) or not old.startswith("\n"):
            # At the old line's indent: at the margin, a key between indented keys
            # would take the next one in as its continuation.
            replaced[first] = _key_lines(key, value, nl, _indent_of(doc.lines[first]))
            replaced.update((index, []) for index in range(first + 1, end))
            continue
        # A nested block: change its sub-keys in place, add the others at its end.
        nested = [i for i in range(first + 1, end) if doc.lines[i].strip()]
        keys = [i for i in nested if doc.lines[i].strip()[0] not in "#;"]
        indent = _indent_of(doc.lines[keys[0]]) if keys else "    "
        new_sub_keys: list[str] = []
        for sub_key, sub_value in value.items():
            found = [i for i in nested if doc.lines[i].partition("=")[0].strip() == sub_key]
            if found:
                line = doc.lines[found[-1]]
                replaced[found[-1]] = [f"{_indent_of(line)}{sub_key} = {sub_value}{nl}"]
            else:
                new_sub_keys.append(f"{indent}{sub_key} = {sub_value}{nl}")
        last = nested[-1] if nested else first
        replaced[last] = [*replaced.get(last, [doc.lines[last]]), *new_sub_keys]
    block: list[str] = []
    for index in range(section.start, section.end):
        block.extend(replaced.get(index, [doc.lines[index]]))
    block.extend(added)
    for i, line in enumerate(block[:-1]):
        if not line.endswith(("\n", "\r")):
            block[i] = line + nl  # the old last line of a file, no longer the last
    return block


def _key_lines(key: str, value: ProfileValue, nl: str, indent: str = "") -> list[str]:
    """A key's lines; a nested block's sub-keys four spaces further in."""
    if isinstance(value, str):
        return [f"{indent}{key} = {value}{nl}"]
    return [f"{indent}{key} ={nl}", *(f"{indent}    {k} = {v}{nl}" for k, v in value.items())]


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _append_block(lines: list[str], block: list[str], newline: str) -> None:
    """Put a new section at the end, after one blank line; the old bytes stay a prefix."""
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    if lines and lines[-1].strip():
        # The blank line ends like the line before it: a LF after a lone CR would
        # merge with it into one CRLF instead of making a blank line.
        lines.append("\r" if lines[-1].endswith("\r") else newline)
    lines.extend(block)


ReadBack = dict[str, dict[str, str | dict[str, str]]]


def _profiles_read(doc: ini.IniDocument) -> ReadBack:
    """Every profile of a config document as botocore reads it, nested blocks parsed."""
    profiles: ReadBack = {}
    for header, values in doc.values_with_defaults().items():
        name = config_profile_name(header)
        if name is not None:
            profiles[name] = {k: ini.parse_nested(v) or v for k, v in values.items()}
    return profiles


def _profiles_expected(
    doc: ini.IniDocument, profile: str, values: Mapping[str, ProfileValue]
) -> ReadBack:
    """What botocore should read once `values` are set on `profile`."""
    profiles = _profiles_read(doc)
    if profile in profiles:
        current = profiles[profile]
    else:
        defaults = doc.section_values().get(ini.DEFAULT_SECTION, {})
        current = {k: ini.parse_nested(v) or v for k, v in defaults.items()}
    for key, value in values.items():
        old = current.get(key.lower())
        if isinstance(value, str):
            current[key.lower()] = value
        else:
            current[key.lower()] = {**(old if isinstance(old, dict) else {}), **value}
    profiles[profile] = current
    return profiles


def is_owned(path: Path, header: str) -> bool:
    """True when every `[header]` in `path` carries mfa-tui's ownership mark."""
    sections = ini.read(path).find(header)
    return bool(sections) and all(OWNER_KEY in s.values for s in sections)
