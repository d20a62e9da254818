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
# What str.splitlines breaks lines at besides them.
_OTHER_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
DEFAULT_SECTION = "DEFAULT"
_SAVE_AS_UTF8 = "; save the file as UTF-8"
# What reads like an inline comment: a blank, then `#` or `;`. The AWS tools keep it
# as part of the value (configparser's default); `parse_bytes` notes whether a file
# has any, so a listing looks for them in values only then.
INLINE_COMMENT = re.compile(r"[ \t][#;]")
_INLINE_MARKS = (" #", " ;", "\t#", "\t;")


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
    # key -> the spans of its earlier lines when it is set more than once here (the
    # last one, in key_spans, is the value read): a writer removing a key removes all.
    shadowed: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @property
    def key_lines(self) -> dict[str, int]:
        """key -> the 1-based number of the line it is set on (the last, if twice)."""
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
    # Whether any line has what reads like an inline comment (INLINE_COMMENT).
    inline_comments: bool = False

    def section_values(self) -> dict[str, dict[str, str]]:
        """Section name -> merged values, like configparser (a later duplicate wins)."""
        merged: dict[str, dict[str, str]] = {}
        for section in self.sections:
            if section.broken:
                continue
            have = merged.get(section.name)
            if have is None:
                merged[section.name] = section.values.copy()
            else:
                have.update(section.values)
        return merged

    def values_with_defaults(self) -> dict[str, dict[str, str]]:
        """`section_values` as configparser hands them out: every section also gets the
        keys of [DEFAULT] it does not set itself, and DEFAULT is no section of its own."""
        sections = self.section_values()
        defaults = sections.pop(DEFAULT_SECTION, None)
        if defaults:
            for values in sections.values():
                for key, value in defaults.items():
                    values.setdefault(key, value)
        return sections

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
    if _OTHER_BREAKS.search(text) is None:
        return text.splitlines(keepends=True)  # the same lines, several times faster
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
        path=path,
        lines=lines,
        sections=[],
        problems=[],
        newline=_newline_of(lines),
        bom=bom,
        # Plain substring tests: several times faster than the pattern over a whole file.
        inline_comments=any(mark in text for mark in _INLINE_MARKS),
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
    # Undecodable bytes are rare: look for them line by line only when the file has any.
    _parse_lines(doc, _SURROGATES.search(text) is not None)
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


def _parse_lines(doc: IniDocument, any_undecodable: bool) -> None:
    """Sections, values and problems of `doc.lines`, the way configparser reads them.

    Written for speed (it is most of a 5,000-profile `list`): values are built in place
    (configparser joins a value's lines with newlines and strips the end; blank lines
    inside a value count only once more text follows), and lines are searched for
    undecodable bytes only when the file has any (`any_undecodable`).
    """
    current: Section | None = None
    values: dict[str, str] = {}  # the current section's
    spans: dict[str, tuple[int, int]] = {}  # the current section's
    # Keys of the current section whose value has an undecodable line: not loaded.
    dropped: set[str] = set()
    option: str | None = None
    blanks = 0  # blank lines since the current value's last line
    indent_level = 0
    # configparser merges repeated [DEFAULT] sections but not a key set in two of them.
    default_keys: set[str] = set()
    # Values that start on the next line: botocore parses them as nested blocks.
    nested: list[tuple[Section, str]] = []
    orphan_reported = False
    sections = doc.sections

    def problem(lineno: int, message: str) -> None:
        doc.problems.append(Problem(doc.path, lineno, message))

    def undecodable_costs(lineno: int, what: str) -> None:
        # Say what an undecodable line cost beyond itself (its one problem is already in).
        doc.problems[-1] = Problem(
            doc.path, lineno, f"line is not valid UTF-8; {what}{_SAVE_AS_UTF8}"
        )

    undecodable = broken = in_default = False
    for index, raw in enumerate(doc.lines):
        stripped = raw.strip()
        if any_undecodable:
            undecodable = _SURROGATES.search(raw) is not None
            if undecodable:
                problem(index + 1, f"line is not valid UTF-8; it was skipped{_SAVE_AS_UTF8}")
        if not stripped:
            if option is not None:
                blanks += 1
            continue
        c0 = stripped[0]
        if c0 in "#;":
            continue
        # Indented exactly when the raw line does not start with the stripped one's start.
        first = len(raw) - len(raw.lstrip()) if raw[0] != c0 else 0
        if first > indent_level and option is not None and current is not None:
            if undecodable:
                dropped.add(option)
                values.pop(option, None)
                undecodable_costs(index + 1, f"'{option}' in [{current.name}] was skipped")
            elif not broken and option not in dropped:
                value = values[option]
                if not value:
                    nested.append((current, option))
                values[option] = f"{value}{chr(10) * (blanks + 1)}{stripped}"
            blanks = 0
            current.end = index + 1
            span = spans.get(option)
            if span is not None:
                spans[option] = (span[0], index + 1)
            continue
        indent_level = first
        header = _SECTION_RE.match(stripped) if c0 == "[" else None
        # configparser's option pattern, `(.*?)\s*([=:])\s*(.*)$`, by hand (it is most
        # of the parse time otherwise): the key ends at the first '=' or ':'.
        equals = stripped.find("=")
        colon = stripped.find(":", 0, equals) if equals >= 0 else stripped.find(":")
        delimiter = colon if colon >= 0 else equals
        is_option = delimiter > 0  # `stripped` starts with no blank: a key is not empty
        if header or (c0 == "[" and (current is None or not is_option)):
            broken = header is None or undecodable
            name = header.group("header") if header and not undecodable else stripped
            current = Section(name=name, start=index, end=index + 1, broken=broken)
            sections.append(current)
            values, spans = current.values, current.key_spans
            in_default = name == DEFAULT_SECTION
            if dropped:
                dropped = set()
            option = None
            if undecodable:
                undecodable_costs(index + 1, "the section it starts was skipped")
            elif header is None:
                problem(
                    index + 1,
                    f"bad section header {stripped!r} (no closing ']'); "
                    "the keys under it were skipped; add the ']'",
                )
            continue
        if current is None:
            if not orphan_reported and not undecodable:
                problem(
                    index + 1,
                    "key outside any [section]; it was skipped; move it under the "
                    "[section] it belongs to, or delete it",
                )
            orphan_reported = True
            continue
        if not is_option:
            option = None
            if broken:
                current.end = index + 1
            elif not undecodable:
                problem(
                    index + 1,
                    f"expected 'key = value' in [{current.name}]; the line was skipped; "
                    "make it 'key = value', or a comment starting with '#'",
                )
            continue
        # Only keys (and their continuations) extend a section: a junk line after the
        # last key is the user's, and stays when mfa-tui rewrites the section.
        current.end = index + 1
        option = stripped[:delimiter].rstrip().lower()
        if in_default:
            twice = option in default_keys
            default_keys.add(option)
        else:
            twice = option in spans
        if option in spans:
            current.shadowed.setdefault(option, []).append(spans[option])
        spans[option] = (index, index + 1)
        blanks = 0
        if broken:
            continue
        if undecodable:
            dropped.add(option)
            values.pop(option, None)
            continue
        if c0 == "[":
            # configparser reads `[a = b` inside a section as the key `[a`; so do we.
            problem(
                index + 1,
                f"{stripped!r} looks like a section header without its closing ']'; "
                f"the AWS tools read it as a key of [{current.name}]; add the ']'",
            )
        elif twice:
            problem(
                index + 1,
                f"'{option}' is set twice in [{current.name}]; the later value is used; "
                "delete the line you do not mean",
            )
        values[option] = stripped[delimiter + 1 :].strip()
        if dropped:
            dropped.discard(option)
    _report_duplicate_sections(doc)
    _report_bad_nested_values(doc, nested)


def _report_bad_nested_values(doc: IniDocument, nested: list[tuple[Section, str]]) -> None:
    """Name the line of a nested block botocore cannot parse (it rejects the file).

    Only values botocore reads are parsed: a section's own, and [DEFAULT]'s where a
    section inherits them; where a key is set twice, the later one is read.
    """
    bad = {
        (id(section), key): (section, key)
        for section, key in nested
        if section.values.get(key, "").startswith("\n")
        and parse_nested(section.values[key]) is None
    }
    if not bad:
        return
    order = {id(section): index for index, section in enumerate(doc.sections)}
    for section, key in bad.values():
        later = doc.sections[order[id(section)] + 1 :]
        if any(s.name == section.name and not s.broken and key in s.values for s in later):
            continue  # a later value is the one read
        if section.name == DEFAULT_SECTION:
            names = {s.name for s in doc.sections if not s.broken} - {DEFAULT_SECTION}
            own = {s.name for s in doc.sections if not s.broken and key in s.values}
            if names <= own:
                continue  # every section has its own value: botocore never reads this one
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
            "read the file; make it 'key = value', or end the block",
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
                    f"{first_seen[section.name].start + 1}); its keys are merged, later wins; "
                    "merge the two into one section",
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
