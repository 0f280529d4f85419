"""Constants and helpers shared by the kernel-builder tests."""

from __future__ import annotations

from pathlib import Path

#: Range of the shared kernel set (see ``conftest.kernel_set``).
START, END, FLOWN_UNTIL = "2024-03-01T00:00:00", "2024-03-05T00:00:00", "2024-03-03T00:00:00"


def tree(root: Path, exclude: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every file below ``root`` (relative POSIX path → bytes), skipping top-level ``exclude`` names."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.relative_to(root).parts[0] not in exclude
    }
