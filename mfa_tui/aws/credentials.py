"""The lossless writer for the AWS credentials and config files.

mfa-tui owns only the sections it wrote, marked with `mfa_tui_source = <profile>`.
Changing one replaces the lines from its header to its last key and leaves every other
byte as it was: comments, blank lines, order, other profiles, unknown keys, line
endings, a BOM, even undecodable bytes. The file is re-read under the lock just before
the write, so an edit made by hand (or by `aws configure set`) a moment earlier is
kept, never overwritten with a stale copy.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def _is_owned(doc: ini.IniDocument, header: str) -> bool:
    return any(OWNER_KEY in s.values for s in doc.find(header))


def _apply_section(
    doc: ini.IniDocument, header: str, values: Mapping[str, str] | None
) -> list[str]:
    """New lines with `header` replaced by `values` (or removed when None)."""
    lines = list(doc.lines)
    existing = doc.find(header)
    new_block = render_section(header, values, doc.newline) if values is not None else []
    if existing:
        # Later duplicates of our own section go; the first keeps its place.
        for section in reversed(existing[1:]):
            del lines[section.start : section.end]
        first = existing[0]
        lines[first.start : first.end] = new_block
        return lines
    if values is None:
        return lines
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += doc.newline
    if lines and lines[-1].strip():
        lines.append(doc.newline)
    lines.extend(new_block)
    return lines


def write_section(
    path: Path,
    header: str,
    values: Mapping[str, str] | None,
    *,
    owner_key: str = OWNER_KEY,
    force: bool = False,
) -> None:
    """Create, replace or (with values=None) remove one section we own.

    Refuses a section that exists without the ownership mark unless `force`, and names
    that cannot be written safely as an INI header.
    """
    if not is_safe_profile_name(header.removeprefix("profile ")):
        raise FileWriteError(
            f"refusing to write section [{header}] in {path}: the name has characters that "
            "are not safe in an AWS file (letters, digits and _.@+=,:/- only)"
        )
    if values is not None and owner_key not in values:
        raise FileWriteError(f"internal: section [{header}] written without its {owner_key} mark")
    with locked(path) as target:
        doc = _read_for_write(target)
        broken = [s for s in doc.sections if s.broken and header in s.name]
        if broken:
            raise FileWriteError(
                f"{target}:{broken[0].start + 1}: a malformed header mentions [{header}]; "
                "fix that line first so mfa-tui does not write a second copy"
            )
        if (
            doc.find(header)
            and not force
            and not any(owner_key in s.values for s in doc.find(header))
        ):
            raise FileWriteError(
                f"[{header}] in {target} was not written by mfa-tui (it has no "
                f"'{owner_key}' line), so it may hold your own keys; mfa-tui will not "
                "overwrite it. Choose another session profile name in the settings, "
                "or pass --force to replace it",
                title="Not mfa-tui's section",
            )
        new_lines = _apply_section(doc, header, values)
        if new_lines == doc.lines and doc.exists:
            return
        doc.lines = new_lines
        replace_locked(target, doc.to_bytes())


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
        line = f"{key} = {value}{doc.newline}"
        lines = list(doc.lines)
        if key in section.key_lines:
            index = section.key_lines[key] - 1
            # A multi-line old value spans continuation lines; replace them too.
            end = index + 1
            while end < section.end and lines[end][:1] in (" ", "\t"):
                end += 1
            lines[index:end] = [line]
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
