"""A lossless reader for the AWS INI files.

botocore reads these files with `configparser.RawConfigParser`; we follow the same
rules (sections, `=`/`:` delimiters, lower-cased keys, `#`/`;` full-line comments,
indented continuation lines that make nested sub-sections) so that what we show is
what the AWS CLI and SDKs see. Unlike configparser we keep every line as it was, with
where each section starts and ends, because the writer must change one section and
leave every other byte alone; and a bad line costs only itself, not the whole file.

Lines are decoded as UTF-8 with `surrogateescape`, so undecodable bytes survive a
round trip exactly and are reported once, with their line number. Lines end at `\n`,
`\r\n` or `\r` only (Python's universal newlines, which is what configparser reads
through), never at the other characters `str.splitlines` breaks on (form feed, U+2028...).

Where botocore would reject a whole file (duplicate sections or keys, a key before any
section, undecodable bytes, a BOM) we still read what we can and report the line; on
every file botocore accepts, our values are exactly its values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mfa_tui.bounded_read import read_file

BOM = "\ufeff"

_SECTION_RE = re.compile(r"\[(?P<header>.+)\]")
_COMMENT_PREFIXES = ("#", ";")
_SURROGATES = re.compile("[\udc80-\udcff]")
# One line and its ending, as universal newlines mode splits them.
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
DEFAULT_SECTION = "DEFAULT"


@dataclass(frozen=True)
class Problem:
    """Something wrong on one line of one file; the rest of the file still loads."""

    path: Path
    line: int  # 1-based
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(slots=True)
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
    broken: bool = False
    # key -> (first, end) line indexes of its value's lines: the key line and its
    # continuation lines (blank lines inside a multi-line value included).
    key_spans: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def key_lines(self) -> dict[str, int]:
        """key -> the 1-based number of the line it is set on."""
        return {key: first + 1 for key, (first, _) in self.key_spans.items()}


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


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split the way Python's universal newlines split them."""
    return _LINE_RE.findall(text)


def _newline_of(lines: list[str]) -> str:
    # What new lines end with. Never a lone CR: written before a line that starts with
    # LF, it would turn the two into one CRLF line end.
    return "\r\n" if lines and lines[0].endswith("\r\n") else "\n"


def parse_bytes(data: bytes, path: Path) -> IniDocument:
    """Parse file contents; never raises on bad content, it records problems instead."""
    text = decode(data)
    bom = text.startswith(BOM)
    if bom:
        text = text[1:]
    lines = split_lines(text)
    doc = IniDocument(
        path=path, lines=lines, sections=[], problems=[], newline=_newline_of(lines), bom=bom
    )
    if bom:
        doc.problems.append(
            Problem(
                path,
                1,
                "the file starts with a UTF-8 byte order mark (BOM), which the AWS CLI and "
                "SDKs cannot read; save it as UTF-8 without a BOM",
            )
        )
    _parse_lines(doc)
    return doc


def read(path: Path) -> IniDocument:
    """Read and parse `path`; a missing file is an empty document.

    Raises:
        RefusedFileError: a FIFO, device or directory, or a file past the size limit.
        OSError: it cannot be read.
    """
    try:
        data = read_file(str(path))
    except FileNotFoundError:
        doc = parse_bytes(b"", path)
        doc.exists = False
        return doc
    return parse_bytes(data, path)


def _parse_lines(doc: IniDocument) -> None:
    current: Section | None = None
    # Multi-line values in progress: key -> list of its lines, as configparser builds them.
    pending: dict[str, list[str]] = {}
    # Keys of the current section whose value has an undecodable line: not loaded.
    dropped: set[str] = set()
    option: str | None = None
    indent_level = 0
    seen_keys: set[str] = set()
    # configparser merges repeated [DEFAULT] sections but not a key set in two of them.
    default_keys: set[str] = set()
    orphan_reported = False

    def problem(lineno: int, message: str) -> None:
        doc.problems.append(Problem(doc.path, lineno, message))

    def undecodable_costs(lineno: int, what: str) -> None:
        # Say what an undecodable line cost beyond itself (its one problem is already in).
        doc.problems[-1] = Problem(doc.path, lineno, f"line is not valid UTF-8; {what}")

    def close() -> None:
        if current is None or current.broken:
            return
        for key, parts in pending.items():
            if key in dropped:
                continue
            current.values[key] = "\n".join(parts).rstrip()

    # Undecodable bytes are rare: look for them line by line only when the file has any.
    any_undecodable = _SURROGATES.search("".join(doc.lines)) is not None
    for index, raw in enumerate(doc.lines):
        lineno = index + 1
        line = raw.rstrip("\r\n")
        stripped = line.strip()
        undecodable = any_undecodable and bool(_SURROGATES.search(line))
        if undecodable:
            problem(lineno, "line is not valid UTF-8; it was skipped")
        if not stripped:
            # configparser keeps blank lines inside a multi-line value, then strips
            # them at the end; the effect on values is the same as skipping them.
            if current is not None and option is not None and option in pending:
                pending[option].append("")
            continue
        if stripped[0] in "#;":
            continue
        first = len(line) - len(line.lstrip()) if line[0].isspace() else 0
        if current is not None and option is not None and first > indent_level:
            if undecodable:
                dropped.add(option)
                undecodable_costs(lineno, f"'{option}' in [{current.name}] was skipped")
            elif not current.broken and option in pending:
                pending[option].append(stripped)
            current.end = index + 1
            if option in current.key_spans:
                current.key_spans[option] = (current.key_spans[option][0], index + 1)
            continue
        indent_level = first
        header = _SECTION_RE.match(stripped) if stripped[0] == "[" else None
        # configparser's option pattern, `(.*?)\s*([=:])\s*(.*)$`, by hand (it is most
        # of the parse time otherwise): the key ends at the first '=' or ':'.
        equals, colon = stripped.find("="), stripped.find(":")
        delimiter = colon if equals < 0 or 0 <= colon < equals else equals
        is_option = delimiter > 0  # `stripped` starts with no blank: a key is not empty
        if header or (stripped[0] == "[" and (current is None or not is_option)):
            close()
            broken = header is None or undecodable
            name = header.group("header") if header and not undecodable else stripped
            current = Section(name=name, start=index, end=index + 1, broken=broken)
            doc.sections.append(current)
            pending = {}
            dropped = set()
            seen_keys = default_keys if name == DEFAULT_SECTION else set()
            option = None
            if undecodable:
                undecodable_costs(lineno, "the section it starts was skipped")
            elif header is None:
                problem(
                    lineno,
                    f"bad section header {stripped!r} (no closing ']'); "
                    "the keys under it were skipped",
                )
            continue
        if current is None:
            if not orphan_reported and not undecodable:
                problem(lineno, "key outside any [section]; it was skipped")
            orphan_reported = True
            continue
        if not is_option:
            option = None
            if current.broken:
                current.end = index + 1
            if not current.broken and not undecodable:
                problem(lineno, f"expected 'key = value' in [{current.name}]; the line was skipped")
            continue
        # Only keys (and their continuations) extend a section: a junk line after the
        # last key is the user's, and stays when mfa-tui rewrites the section.
        current.end = index + 1
        option = stripped[:delimiter].rstrip().lower()
        current.key_spans[option] = (index, index + 1)
        if current.broken:
            continue
        if stripped.startswith("[") and not undecodable:
            # configparser reads `[a = b` inside a section as the key `[a`; so do we.
            problem(
                lineno,
                f"{stripped!r} looks like a section header without its closing ']'; "
                f"the AWS tools read it as a key of [{current.name}]",
            )
        elif option in seen_keys and not undecodable:
            problem(
                lineno,
                f"'{option}' is set twice in [{current.name}]; the later value is used",
            )
        seen_keys.add(option)
        pending[option] = [stripped[delimiter + 1 :].strip()]
        if undecodable:
            dropped.add(option)
        else:
            dropped.discard(option)
    close()
    _report_duplicate_sections(doc)
    _report_bad_nested_values(doc)


def _report_bad_nested_values(doc: IniDocument) -> None:
    # Only values botocore reads are parsed: a section's own, and [DEFAULT]'s where a
    # section inherits them. Where a key is set twice, the later one is read.
    last: dict[tuple[str, str], Section] = {}
    for section in doc.sections:
        if not section.broken:
            for key in section.values:
                last[(section.name, key)] = section
    names = {s.name for s in doc.sections if not s.broken and s.name != DEFAULT_SECTION}
    for (name, key), section in last.items():
        if name == DEFAULT_SECTION and all((n, key) in last for n in names):
            continue  # every section has its own value: botocore never reads this one
        value = section.values[key]
        if value.startswith("\n") and parse_nested(value) is None:
            _report_bad_nested(doc, section, key)


def _report_bad_nested(doc: IniDocument, section: Section, key: str) -> None:
    # botocore parses a value that starts on the next line as `key = value` pairs (split
    # with str.splitlines, so a form feed or U+2028 starts a new pair) and rejects the
    # whole file when one of them has no '='.
    first, end = section.key_spans[key]
    lineno = first + 1
    for index in range(first + 1, end):
        text = doc.lines[index].strip()
        if text.startswith(_COMMENT_PREFIXES):
            continue
        if any(part.strip() and "=" not in part for part in text.splitlines()):
            lineno = index + 1
            break
    doc.problems.append(
        Problem(
            doc.path,
            lineno,
            f"'{key}' in [{section.name}] starts a nested block (an empty value, then "
            "indented lines) but a line in it is not 'key = value'; the AWS CLI cannot "
            "read the file",
        )
    )


def _report_duplicate_sections(doc: IniDocument) -> None:
    first_seen: dict[str, Section] = {}
    for section in doc.sections:
        # configparser merges repeated [DEFAULT] sections without complaint.
        if section.broken or section.name == DEFAULT_SECTION:
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
