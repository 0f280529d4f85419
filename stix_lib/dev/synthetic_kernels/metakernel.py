"""Meta-kernel (MK) text with SOC-style relative ``PATH_VALUES``.

Like the SOC's, the MKs name their kernels as ``$KERNELS/<folder>/<file>`` with
``PATH_VALUES = ( '..' )``, i.e. relative to the ``mk`` folder. SPICE would resolve that against
the process working directory, so loaders rewrite it to the absolute kernel root first (see
:func:`stix_lib.spice.meta_kernels.rewrite_meta_kernel`).
"""

from __future__ import annotations

from collections.abc import Sequence

from stix_lib.dev.synthetic_kernels.textkernel import assignment, text_kernel

#: Path symbol used in ``KERNELS_TO_LOAD``.
PATH_SYMBOL = "KERNELS"


def meta_kernel_text(title: str, kernels: Sequence[str]) -> str:
    """MK text loading ``kernels`` (paths relative to the kernel root) in the given order.

    Raises
    ------
    ValueError
        If a path is absolute or leaves the kernel root.
    """
    for path in kernels:
        if path.startswith("/") or ".." in path.split("/"):
            raise ValueError(f"kernel path must be relative to the kernel root: {path}")
    entries = "\n".join(f"      '${PATH_SYMBOL}/{path}'" for path in kernels)
    assignments = [
        assignment("PATH_VALUES", [".."]),
        assignment("PATH_SYMBOLS", [PATH_SYMBOL]),
        f"   {'KERNELS_TO_LOAD':<32} = (\n{entries}\n   )",
    ]
    comment = "PATH_VALUES is relative to this folder: rewrite it to the absolute kernel root before loading."
    return text_kernel("MK", title, [(comment, assignments)])
