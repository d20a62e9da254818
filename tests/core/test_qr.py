"""The QR code drawn in the terminal holds exactly segno's matrix of the otpauth URI."""

from __future__ import annotations

import segno

from mfa_tui.core.codes import normalize_seed
from mfa_tui.core.qr import grouped, otpauth_uri, qr_for_terminal, qr_rows

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # a test seed


def test_the_uri_is_what_an_authenticator_reads_and_mfa_tui_reads_back() -> None:
    uri = otpauth_uri(SEED, "new-user", "123456789012")
    assert uri == (f"otpauth://totp/AWS%3Anew-user%40123456789012?secret={SEED}&issuer=AWS")
    assert normalize_seed(uri) == SEED  # what 'totp set' accepts, pasted from a scanner


def test_the_half_blocks_draw_segnos_matrix_module_for_module() -> None:
    uri = otpauth_uri(SEED, "new-user", "123456789012")
    rows = qr_rows(uri)
    drawn: list[list[bool]] = [[], []]
    matrix: list[list[bool]] = []
    for row in rows:
        drawn[0] = [c in "▀█" for c in row]
        drawn[1] = [c in "▄█" for c in row]
        matrix.extend([drawn[0], drawn[1]])
    expected = [
        [bool(m) for m in row]
        for row in segno.make(uri, error="l", micro=False).matrix_iter(scale=1, border=2)
    ]
    assert matrix[: len(expected)] == expected
    assert all(not any(row) for row in matrix[len(expected) :])  # the padding row is light
    # Small enough for a 24-line terminal, with room for the text around it.
    assert len(rows) <= 23 and len(rows[0]) <= 45
    printed = qr_for_terminal(uri).splitlines()
    assert all(line.startswith("\x1b[30;107m") and line.endswith("\x1b[0m") for line in printed)


def test_the_secret_is_grouped_for_typing() -> None:
    assert grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"
