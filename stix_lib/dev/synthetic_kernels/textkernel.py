"""Writing SPICE text kernels (``KPL/…`` files with ``\\begindata`` / ``\\begintext`` blocks).

Values are formatted deterministically: floats with :func:`repr` (shortest string that reads back
to the same double), strings quoted with embedded quotes doubled, lists wrapped so that no data line
exceeds :data:`MAX_LINE` characters (SPICE reads lines up to 132 characters; 80 keeps the files
readable).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Longest data line written.
MAX_LINE = 80

Value = str | int | float


@dataclass(frozen=True)
class Epoch:
    """A SPICE time literal ``@<text>`` in a text kernel (e.g. ``@2000-JAN-01/12:00:00``)."""

    text: str


def format_value(value: Value | Epoch) -> str:
    """One value as text-kernel syntax.

    Parameters
    ----------
    value
        ``str`` (quoted), ``int``, ``float`` (``repr``; ``bool`` is refused) or :class:`Epoch`.

    Raises
    ------
    TypeError
        For other types.
    """
    if isinstance(value, Epoch):
        return f"@{value.text}"
    if isinstance(value, bool):
        raise TypeError("booleans have no text-kernel form")
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise TypeError(f"cannot write {type(value).__name__} to a text kernel")


def assignment(name: str, values: Value | Epoch | Sequence[Value | Epoch], *, append: bool = False) -> str:
    """``NAME = value`` or ``NAME = ( v1 v2 … )`` (or ``+=``); long lists wrap onto more lines.

    Parameters
    ----------
    name
        Kernel pool variable name.
    values
        A scalar (written bare) or a sequence (written in parentheses, even with one item).
    append
        Write ``+=`` (add to an existing variable) instead of ``=``.
    """
    head = f"   {name:<32} {'+=' if append else '='} "
    if isinstance(values, str | int | float | Epoch):
        return head + format_value(values)
    texts = [format_value(v) for v in values]
    lines: list[str] = []
    current, filled = head + "(", False
    indent = " " * len(current)
    for text in texts:
        if filled and len(current) + 1 + len(text) > MAX_LINE:
            lines.append(current)
            current = indent
        current += " " + text
        filled = True
    lines.append(current + " )")
    return "\n".join(lines)


def data_block(assignments: Iterable[str]) -> str:
    """A ``\\begindata`` … ``\\begintext`` block holding the given assignment lines."""
    body = "\n".join(assignments)
    return f"\\begindata\n\n{body}\n\n\\begintext\n"


def text_kernel(kind: str, title: str, sections: Iterable[tuple[str, Iterable[str]]]) -> str:
    """A complete text kernel.

    Parameters
    ----------
    kind
        Architecture/type tag after ``KPL/`` (``SCLK``, ``PCK``, ``FK``, ``MK``).
    title
        Comment paragraph(s) at the top.
    sections
        ``(comment, assignments)`` pairs: each comment is followed by one data block.

    Returns
    -------
    str
        Kernel text ending with a newline (SPICE wants the last line terminated).
    """
    parts = [f"KPL/{kind}\n", title.rstrip() + "\n"]
    for comment, assignments in sections:
        if comment:
            parts.append(comment.rstrip() + "\n")
        parts.append(data_block(assignments))
    return "\n".join(parts)
