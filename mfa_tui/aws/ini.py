"""A lossless reader for the AWS INI files.

botocore reads these files with `configparser.RawConfigParser`; we follow the same
rules (sections, `=`/`:` delimiters, lower-cased keys, `#`/`;` full-line comments,
indented continuation lines that make nested sub-sections) so that what we show is
what the AWS CLI and SDKs see. Unlike configparser we keep every line as it was, with
where each section starts and ends, because the writer must change one section and
leave every other byte alone; and a bad line costs only itself, not the whole file.

Lines are decoded as UTF-8 with `surrogateescape`, so undecodable bytes survive a
round trip exactly and are reported once, with their line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

BOM = "\ufeff"

_SECTION_RE = re.compile(r"\[(?P<header>.+)\]")
_OPTION_RE = re.compile(r"(?P<option>.*?)\s*(?P<vi>[=:])\s*(?P<value>.*)$")
_COMMENT_PREFIXES = ("#", ";")
_SURROGATES = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class Problem:
    """Something wrong on one line of one file; the rest of the file still loads."""

    path: Path
    line: int  # 1-based
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Section:
    """One `[header]` and the lines it spans.

    `start` is the header's line index; `end` is one past the last line that holds a
    key or a continuation of one. Blank lines and comments after that belong to the
    gap before the next section, so rewriting a section leaves them where they are.
    """

    name: str
    start: int
    end: int
    values: dict[str, str] = field(default_factory=dict)
    key_lines: dict[str, int] = field(default_factory=dict)
    broken: bool = False


@dataclass
class IniDocument:
    """A parsed file: its exact lines, its sections in order, and its problems."""

    path: Path
    lines: list[str]
    sections: list[Section]
    problems: list[Problem]
    newline: str = "\n"
    bom: bool = False
    exists: bool = True

    def section_values(self) -> dict[str, dict[str, str]]:
        """Section name -> merged values, like configparser (a later duplicate wins)."""
        merged: dict[str, dict[str, str]] = {}
        for section in self.sections:
            if section.broken:
                continue
            merged.setdefault(section.name, {}).update(section.values)
        return merged

    def find(self, name: str) -> list[Section]:
        """Every unbroken section with this exact header, in file order."""
        return [s for s in self.sections if s.name == name and not s.broken]

    def text(self) -> str:
        return (BOM if self.bom else "") + "".join(self.lines)

    def to_bytes(self) -> bytes:
        return self.text().encode("utf-8", "surrogateescape")


def decode(data: bytes) -> str:
    """Bytes to text that encodes back to exactly the same bytes."""
    return data.decode("utf-8", "surrogateescape")


def parse_bytes(data: bytes, path: Path) -> IniDocument:
    """Parse file contents; never raises on bad content, it records problems instead."""
    text = decode(data)
    bom = text.startswith(BOM)
    if bom:
        text = text[1:]
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    doc = IniDocument(path=path, lines=lines, sections=[], problems=[], newline=newline, bom=bom)
    _parse_lines(doc)
    return doc


def read(path: Path) -> IniDocument:
    """Read and parse `path`; a missing file is an empty document."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        doc = parse_bytes(b"", path)
        doc.exists = False
        return doc
    return parse_bytes(data, path)


def _parse_lines(doc: IniDocument) -> None:
    current: Section | None = None
    # Multi-line values in progress: key -> list of its lines, as configparser builds them.
    pending: dict[str, list[str]] = {}
    option: str | None = None
    indent_level = 0
    seen_keys: set[str] = set()
    orphan_reported = False

    def close() -> None:
        if current is not None and not current.broken:
            for key, parts in pending.items():
                current.values[key] = "\n".join(parts).rstrip()

    for index, raw in enumerate(doc.lines):
        lineno = index + 1
        line = raw.rstrip("\r\n")
        if _SURROGATES.search(line):
            doc.problems.append(
                Problem(doc.path, lineno, "line is not valid UTF-8; it was skipped")
            )
            continue
        stripped = line.strip()
        if stripped.startswith(_COMMENT_PREFIXES):
            continue
        if not stripped:
            # configparser keeps blank lines inside a multi-line value, then strips
            # them at the end; the effect on values is the same as skipping them.
            if current is not None and option is not None and option in pending:
                pending[option].append("")
            continue
        first = len(line) - len(line.lstrip())
        if current is not None and option is not None and first > indent_level:
            if not current.broken:
                pending[option].append(stripped)
            current.end = index + 1
            continue
        indent_level = first
        header = _SECTION_RE.match(stripped)
        if header:
            close()
            current = Section(name=header.group("header"), start=index, end=index + 1)
            doc.sections.append(current)
            pending = {}
            seen_keys = set()
            option = None
            continue
        if stripped.startswith("["):
            close()
            doc.problems.append(
                Problem(
                    doc.path,
                    lineno,
                    f"bad section header {stripped!r} (no closing ']'); "
                    "the keys under it were skipped",
                )
            )
            current = Section(name=stripped, start=index, end=index + 1, broken=True)
            doc.sections.append(current)
            pending = {}
            option = None
            continue
        if current is None:
            if not orphan_reported:
                doc.problems.append(
                    Problem(doc.path, lineno, "key outside any [section]; it was skipped")
                )
                orphan_reported = True
            continue
        current.end = index + 1
        match = _OPTION_RE.match(stripped)
        if match is None or not match.group("option"):
            option = None
            if not current.broken:
                doc.problems.append(
                    Problem(
                        doc.path,
                        lineno,
                        f"expected 'key = value' in [{current.name}]; the line was skipped",
                    )
                )
            continue
        option = match.group("option").rstrip().lower()
        if current.broken:
            continue
        if option in seen_keys:
            doc.problems.append(
                Problem(
                    doc.path,
                    lineno,
                    f"'{option}' is set twice in [{current.name}]; the later value is used",
                )
            )
        seen_keys.add(option)
        pending[option] = [match.group("value").strip()]
        current.key_lines[option] = lineno
    close()
    _report_duplicate_sections(doc)


def _report_duplicate_sections(doc: IniDocument) -> None:
    first_seen: dict[str, Section] = {}
    for section in doc.sections:
        if section.broken:
            continue
        if section.name in first_seen:
            doc.problems.append(
                Problem(
                    doc.path,
                    section.start + 1,
                    f"section [{section.name}] appears again (first at line "
                    f"{first_seen[section.name].start + 1}); its keys are merged, later wins",
                )
            )
        else:
            first_seen[section.name] = section


def parse_nested(value: str) -> dict[str, str] | None:
    """botocore's one level of nesting: `s3 =` followed by indented `key = value` lines."""
    if not value.startswith("\n"):
        return None
    nested: dict[str, str] = {}
    for part in value.splitlines():
        part = part.strip()
        if not part:
            continue
        key, sep, val = part.partition("=")
        if not sep:
            return None
        nested[key.strip()] = val.strip()
    return nested
