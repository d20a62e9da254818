"""The lossless writer for the AWS credentials and config files.

mfa-tui owns only the sections it wrote, marked with `mfa_tui_source = <profile>`.
Changing one replaces the lines from its header to its last key and leaves every other
byte as it was: comments, blank lines, order, other profiles, unknown keys, line
endings, a BOM, even undecodable bytes. The file is re-read under the lock just before
the write, so an edit made by hand (or by `aws configure set`) a moment earlier is
kept, never overwritten with a stale copy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from pathlib import Path

from mfa_tui.aws import ini
from mfa_tui.aws.atomic import check_writable, locked, replace_locked
from mfa_tui.errors import FileWriteError
from mfa_tui.settings import is_safe_profile_name

OWNER_KEY = "mfa_tui_source"


def _check_value(key: str, value: str) -> None:
    if not key or any(c in key for c in "=:[]\r\n") or key != key.strip():
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


def _is_owned(doc: ini.IniDocument, header: str, owner_key: str = OWNER_KEY) -> bool:
    # Every copy must carry the mark: a hand-written duplicate of our section may hold
    # the person's own keys, and writing drops duplicates.
    sections = doc.find(header)
    return bool(sections) and all(owner_key in s.values for s in sections)


def _broken_header_for(doc: ini.IniDocument, header: str) -> ini.Section | None:
    """A malformed header line that was meant to be `[header]`, if any."""
    names_it = re.compile(re.escape(header) + r"(?![A-Za-z0-9_.@+=,:/-])")
    for section in doc.sections:
        if section.broken and names_it.match(section.name.lstrip("[").lstrip()):
            return section
    return None


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
        # A new section goes at the end, after one blank line; the old bytes stay a prefix.
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += doc.newline
        if lines and lines[-1].strip():
            # The blank line ends like the line before it: a LF after a lone CR would
            # merge with it into one CRLF instead of making a blank line.
            lines.append("\r" if lines[-1].endswith("\r") else doc.newline)
        lines.extend(block)
    return lines


def write_section(
    path: Path,
    header: str,
    values: Mapping[str, str] | None,
    *,
    owner_key: str = OWNER_KEY,
) -> None:
    """Create, replace or (with values=None) remove one section we own.

    Refuses a section that exists without the ownership mark (see `not_ours`), and names
    that cannot be written safely as an INI header.
    """
    write_sections(path, {header: values}, owner_key=owner_key)


def write_sections(
    path: Path,
    sections: Mapping[str, Mapping[str, str] | None],
    *,
    owner_key: str = OWNER_KEY,
) -> None:
    """`write_section` for several sections in one locked, atomic write.

    Fifty role sessions refreshed together cost one read, one parse and one fsync, and
    readers see all of them change at once. Every section is checked before anything
    is written: one refused section refuses the whole write.
    """
    for header, values in sections.items():
        if not is_safe_profile_name(header.removeprefix("profile ")):
            raise FileWriteError(
                f"refusing to write section [{header}] in {path}: the name has characters "
                "that are not safe in an AWS file (letters, digits and _.@+=,:/- only)"
            )
        if values is not None and owner_key not in values:
            raise FileWriteError(
                f"internal: section [{header}] written without its {owner_key} mark"
            )
    with locked(path) as target:
        # Programs that do not take our lock (an editor, `aws configure set`) may write
        # while we work: if the file changed between our read and our rename (looked at
        # once the new contents are on disk, right before the rename), start again from
        # what it holds now rather than put back a stale copy.
        for _attempt in range(5):
            seen = _signature(target)
            doc = _read_for_write(target)
            data = _sections_written(doc, target, sections, owner_key)
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


def _sections_written(
    doc: ini.IniDocument,
    target: Path,
    sections: Mapping[str, Mapping[str, str] | None],
    owner_key: str,
) -> bytes | None:
    """The new file contents, or None when nothing changes; refusals raise."""
    for header in sections:
        broken = _broken_header_for(doc, header)
        if broken is not None:
            raise FileWriteError(
                f"{target}:{broken.start + 1}: a malformed header mentions [{header}]; "
                "fix that line first so mfa-tui does not write a second copy"
            )
        if doc.find(header) and not _is_owned(doc, header, owner_key):
            values = sections[header] or {}
            raise not_ours(header, target, values.get(owner_key, "<profile>"), owner_key)
    for header in sections:
        for section in doc.find(header):
            _refuse_indented_neighbour(doc, section, target)
    new_lines = _apply_sections(doc, sections)
    if new_lines == doc.lines and (doc.exists or all(v is None for v in sections.values())):
        return None  # nothing to change; removing from a missing file creates nothing
    doc.lines = new_lines
    return doc.to_bytes()


def not_ours(
    header: str, target: Path, owner: str, owner_key: str = OWNER_KEY, *, asked: str = ""
) -> FileWriteError:
    """The refusal to write over a section without mfa-tui's mark, and how to hand it over.

    There is no flag for it: a person looks at the section, and if nothing in it is
    theirs to keep, removes it or marks it as mfa-tui's with one line.
    """
    return FileWriteError(
        f"[{header}] in {target} was not written by mfa-tui (it has no '{owner_key}' "
        f"line), so it may hold your own keys; mfa-tui will not overwrite it{asked}. If "
        f"nothing in it is yours to keep, delete it or add the line '{owner_key} = "
        f"{owner}' to it, and mfa-tui takes it over; or choose another session profile "
        "name in the settings",
        title="Not mfa-tui's section",
    )


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


def set_key(path: Path, header: str, key: str, value: str) -> None:
    """Set one key in an existing section of a file (e.g. `mfa_serial` in the config).

    Only that key's line changes (or one line is added after the section's last key);
    the section must exist.
    """
    _check_value(key, value)
    with locked(path) as target:
        doc = _read_for_write(target)
        sections = doc.find(header)
        if not sections:
            raise FileWriteError(f"no section [{header}] in {target}")
        section = sections[-1]
        _refuse_indented_neighbour(doc, section, target)
        line = f"{key} = {value}{doc.newline}"
        lines = list(doc.lines)
        if key in section.key_spans:
            # A multi-line old value spans continuation lines; replace them too.
            first, end = section.key_spans[key]
            lines[first:end] = [line]
        else:
            before = lines[section.end - 1]
            if not before.endswith(("\n", "\r")):
                lines[section.end - 1] = before + doc.newline
            lines.insert(section.end, line)
        doc.lines = lines
        replace_locked(target, doc.to_bytes())


def is_owned(path: Path, header: str) -> bool:
    """True when `header` in `path` carries mfa-tui's ownership mark."""
    return _is_owned(ini.read(path), header)
