"""FITS header cards and checksums, shared by the LB and product writers.

* :func:`format_card` — the 80-character image(s) of a header card: fixed-format integers,
  booleans, finite floats (shortest round-trip digits), strings (long ones with ``CONTINUE``
  cards) and COMMENT/HISTORY text are formatted directly, anything else (quotes, non-ASCII text,
  non-finite numbers) by :class:`astropy.io.fits.Card`. Images are memoised (most cards repeat from file
  to file); floats are not (``-0.0 == 0.0`` but they are written differently).
* :func:`ones_complement_sum` and :func:`encode_checksum` — the FITS checksum convention
  (32-bit ones' complement sums, ASCII-encoded complement).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from functools import lru_cache
from typing import Any, cast

import numpy as np

_COMMENTARY = frozenset({"COMMENT", "HISTORY"})
_EXCLUDED = frozenset(range(0x3A, 0x41)) | frozenset(range(0x5B, 0x61))


def ones_complement_sum(data: bytes | bytearray | memoryview, start: int = 0) -> int:
    """32-bit ones' complement sum of ``data`` (length a multiple of 4), added to ``start``."""
    total = int(np.frombuffer(data, dtype=">u4").sum(dtype=np.uint64)) + start
    while total >> 32:
        total = (total & 0xFFFFFFFF) + (total >> 32)
    return total


@lru_cache(maxsize=1)
def _byte_groups() -> tuple[str, ...]:
    """The four checksum characters of every byte value (each byte is encoded on its own)."""
    groups = []
    for byte in range(256):
        quotient, remainder = divmod(byte, 4)
        group = [quotient + 0x30] * 4
        group[0] += remainder
        changed = True
        while changed:  # no punctuation: move one unit between neighbours until none is left
            changed = False
            for j in (0, 2):
                if group[j] in _EXCLUDED or group[j + 1] in _EXCLUDED:
                    group[j] += 1
                    group[j + 1] -= 1
                    changed = True
        groups.append("".join(map(chr, group)))
    return tuple(groups)


def encode_checksum(value: int) -> str:
    """ASCII encoding of the complement of a 32-bit checksum (FITS checksum convention)."""
    value = ~value & 0xFFFFFFFF
    table = _byte_groups()
    groups = (table[value >> 24], table[(value >> 16) & 0xFF], table[(value >> 8) & 0xFF], table[value & 0xFF])
    text = "".join(map("".join, zip(*groups, strict=True)))  # character 4 * j + byte
    return text[15:] + text[:15]  # rotate right by one character


def _float_text(value: float | np.floating) -> str:
    """FITS real value text: shortest round-trip digits, ``E`` exponent with two digits."""
    text = str(float(value)).replace("e", "E")
    if "E" in text:
        significand, exponent = text.split("E")
        sign = exponent[0] if exponent[0] in "+-" else ""
        text = f"{significand}E{sign}{int(exponent.lstrip('+-')):02d}"
    elif "." not in text:
        text += ".0"
    return text


def format_card(keyword: str, value: Any, comment: str = "") -> str:
    """80-character image(s) of a header card (see the module docstring), memoised."""
    kind = type(value)
    if kind is float:  # -0.0 == 0.0: not a safe key
        if math.isfinite(value) and len(keyword) <= 8 and keyword not in _COMMENTARY:
            return _value_card(keyword, f"{_float_text(value):>20}", comment, value)
        return _format_card(keyword, value, comment)
    if isinstance(value, np.floating):
        return _format_card(keyword, value, comment)
    try:
        # the type tells True from 1; a class is hashable, but mypy misreads its unbound __hash__
        return _cached_card(keyword, cast(Hashable, kind), value, comment)
    except TypeError:  # unhashable value
        return _format_card(keyword, value, comment)


@lru_cache(maxsize=50_000)
def _cached_card(keyword: str, _type: type, value: Any, comment: str) -> str:
    return _format_card(keyword, value, comment)


def _astropy_card(*args: Any) -> Any:
    """:class:`astropy.io.fits.Card` (imported here: most cards are formatted without astropy)."""
    from astropy.io import fits

    return fits.Card(*args)


def _words(text: str, width: int) -> list[str]:
    """``text`` in pieces of at most ``width`` characters, cut after a blank where one is in reach.

    The split of astropy's long-string cards: a piece ends after the last blank that leaves it
    at most ``width`` long, or, with no such blank, after ``width`` characters.
    """
    blanks = [at for at, char in enumerate(text) if char == " "] + [len(text)]
    pieces: list[str] = []
    start = end = 0
    while True:
        reach = next((number for number, at in enumerate(blanks) if at >= width + end), len(blanks))
        end = blanks[reach - 1] + 1 if reach > 0 else -1
        if end <= start:
            end = min(start + width, len(text))
        pieces.append(text[start:end])
        if end >= len(text):
            return pieces
        start = end


def _long_string_card(keyword: str, value: str, comment: str) -> str:
    """Images of a string card too long for one card (``CONTINUE`` long-string convention).

    As astropy writes them: the value in pieces of at most 67 characters, each but the last (or,
    with a comment, each) ending in ``&``, then the comment in ``CONTINUE`` cards of 64 characters.
    """
    pieces = _words(value, 67)
    images = []
    for number, piece in enumerate(pieces):
        head = f"{keyword:<8}= " if number == 0 else "CONTINUE  "
        last = number == len(pieces) - 1 and not comment
        images.append(f"{head}'{piece}{'' if last else '&'}'".ljust(80))
    if comment:
        words = _words(comment, 64)
        for number, word in enumerate(words):
            head = "CONTINUE  '' / " if number == len(words) - 1 else "CONTINUE  '&' / "
            images.append(f"{head}{word}".ljust(80))
    return "".join(images)


def _format_card(keyword: str, value: Any, comment: str = "") -> str:
    """80-character image(s) of a header card.

    Fixed-format integers, booleans, finite floats, strings and COMMENT/HISTORY text are
    formatted here; anything else (quotes, non-ASCII text, non-finite numbers) by
    :class:`astropy.io.fits.Card`.
    """
    if keyword in ("COMMENT", "HISTORY") and isinstance(value, str):
        if len(value) <= 72 and value.isascii():
            return f"{keyword:<8}{value}".ljust(80)
        return _astropy_card(keyword, value).image
    if len(keyword) > 8:
        return _astropy_card(keyword, value, comment).image
    if isinstance(value, bool | np.bool_):
        field_text = f"{'T' if value else 'F':>20}"
    elif isinstance(value, int | np.integer):
        field_text = f"{int(value):>20}"
    elif isinstance(value, float | np.floating) and np.isfinite(value):
        field_text = f"{_float_text(value):>20}"
    elif isinstance(value, str) and "'" not in value and len(value) <= 68 and value.isascii():
        field_text = f"'{value:<8}'".ljust(20) if value else "''"
    elif isinstance(value, str) and "'" not in value and value.isascii() and comment.isascii():
        return _long_string_card(keyword, value, comment)
    else:
        return _astropy_card(keyword, value, comment).image
    return _value_card(keyword, field_text, comment, value)


def _value_card(keyword: str, field_text: str, comment: str, value: Any) -> str:
    """The image of a one-card ``keyword = value / comment`` with the value field ``field_text``."""
    image = f"{keyword:<8}= {field_text}"
    if comment:
        image = f"{image} / {comment}"
    if len(image) > 80:
        base = f"{keyword:<8}= {field_text}"
        if len(base) > 80:
            return _astropy_card(keyword, value, comment).image
        image = image[:80]
    return image.ljust(80)
