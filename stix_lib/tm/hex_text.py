"""Hex text → bytes with precise error messages (shared by the XML and hex-dump readers)."""

from __future__ import annotations

import binascii
import re

_NOT_HEX = re.compile(r"[^0-9A-Fa-f]")


def decode_hex(text: str) -> bytes:
    """Decode hex digits to bytes, ignoring surrounding and embedded whitespace.

    Parameters
    ----------
    text
        Hex digits, e.g. ``"0da1c066"``.

    Returns
    -------
    bytes
        The decoded bytes.

    Raises
    ------
    ValueError
        With a message saying what is wrong: empty text, a non-hex character (and its position) or
        an odd number of digits.
    """
    digits = text.strip()
    try:
        return binascii.unhexlify(digits)
    except (binascii.Error, ValueError):
        pass
    digits = "".join(digits.split())
    if not digits:
        raise ValueError("empty packet text")
    bad = _NOT_HEX.search(digits)
    if bad is not None:
        raise ValueError(f"invalid hex: character {bad.group()!r} at position {bad.start()}")
    if len(digits) % 2:
        raise ValueError(f"odd-length hex: {len(digits)} digits")
    return binascii.unhexlify(digits)
