"""The QR code an authenticator app scans, drawn with terminal characters.

The code holds an `otpauth://totp/...` URI (Google's Key Uri Format, what AWS's own QR
code holds): the seed, and a label the app shows. It is drawn two modules per
character cell with half blocks, dark on light whatever the terminal's colours (a
light-on-dark code is not read by every scanner), with a two-module quiet zone.
segno makes the matrix; the smallest code that holds the URI is used (error
correction L, raised by segno when that costs no size) so it fits a 24-line terminal.
"""

from __future__ import annotations

import urllib.parse

ISSUER = "AWS"
QUIET_ZONE = 2
# Dark on light, for any terminal: black text on a bright white background (SGR).
_ANSI_ON, _ANSI_OFF = "\x1b[30;107m", "\x1b[0m"
# (top module dark, bottom module dark) -> the cell drawn in the dark colour.
_CELLS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def otpauth_uri(seed: str, user: str, account: str) -> str:
    """The URI a virtual MFA device's QR code holds; the app shows "AWS (user@account)"."""
    label = urllib.parse.quote(f"{ISSUER}:{user}@{account}")
    return f"otpauth://totp/{label}?secret={seed}&issuer={urllib.parse.quote(ISSUER)}"


def qr_rows(text: str) -> list[str]:
    """The QR code of `text` as lines of half blocks; a block is a dark module."""
    import segno

    code = segno.make(text, error="l", micro=False)
    matrix = [[bool(m) for m in row] for row in code.matrix_iter(scale=1, border=QUIET_ZONE)]
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))
    return [
        "".join(_CELLS[(top, bottom)] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(matrix[::2], matrix[1::2], strict=True)
    ]


def qr_for_terminal(text: str) -> str:
    """`qr_rows` with colours set per line, ready to print on a terminal."""
    return "\n".join(f"{_ANSI_ON}{row}{_ANSI_OFF}" for row in qr_rows(text))


def grouped(seed: str) -> str:
    """A seed in groups of four, to type into an app by hand."""
    return " ".join(seed[i : i + 4] for i in range(0, len(seed), 4))
