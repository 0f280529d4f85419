"""Read Level Binary files quickly for the LB -> L0 step.

:func:`read_level_binary` maps the LB ``CONTROL``/``DATA`` tables with
:mod:`stix_lib.products.fits_reader` and builds the same :class:`~stix_lib.lb.product.LBProduct`
as :func:`stix_lib.lb.fits_io.read_lb` (rows in CONTROL order, packets from the hex strings of
DATA matched by ``index``, the packet length check); files with other layouts go to
``read_lb``. Reading through astropy costs ~15 ms per file, which dominated the LB -> L0 step.
A daily LB file this process has just written (and nobody replaced since) is not parsed at all:
the writer's copy of the product is handed over (:class:`stix_lib.lb.fits_io.WrittenLB`).
"""

from __future__ import annotations

import binascii
from pathlib import Path

import numpy as np

from stix_lib.lb.fits_io import HEADER_COLUMNS, LBFileError, WrittenLB, read_lb
from stix_lib.lb.product import LBProduct
from stix_lib.products.fits_reader import UnsupportedLayout, read_fits_tables
from stix_lib.tm.headers import HEADER_DTYPE


def read_level_binary(path: Path, handover: WrittenLB | None = None) -> LBProduct:
    """An LB file as :class:`LBProduct` (from ``handover`` when the pipeline has just written it).

    Raises
    ------
    LBFileError
        Unreadable or inconsistent file (as :func:`stix_lib.lb.fits_io.read_lb`).
    """
    written = handover.take(Path(path)) if handover is not None else None
    if written is not None:  # this process has just written the file: no need to parse it
        return written
    try:
        primary, tables = read_fits_tables(path)
        control, data = tables["CONTROL"].columns, tables["DATA"].columns
    except UnsupportedLayout:
        return read_lb(path)
    except (OSError, KeyError, ValueError) as exc:
        raise LBFileError(f"{path}: cannot read LB file: {exc}") from exc
    try:
        rows = len(control["index"])
        headers = np.zeros(rows, dtype=HEADER_DTYPE)
        for name in HEADER_COLUMNS:
            headers[name] = control[name]
        order = np.argsort(np.asarray(data["control_index"], dtype=np.int64), kind="stable")
        sorted_index = np.asarray(data["control_index"], dtype=np.int64)[order]
        wanted = np.asarray(control["index"], dtype=np.int64)
        position = np.searchsorted(sorted_index, wanted)
        if np.any(position >= len(sorted_index)) or np.any(
            sorted_index[np.minimum(position, len(order) - 1)] != wanted
        ):
            raise KeyError("DATA lacks packets of some CONTROL rows")
        hexes = data["data"]
        packets = [binascii.unhexlify(hexes[i]) for i in order[position].tolist()]
        request_col = np.asarray(control["request_id"])
        request = request_col.astype(np.int64).reshape(rows, 2) if request_col.ndim == 2 else None
        ssid_value = primary.get("SSID", "")
        product = LBProduct(
            int(primary["STYPE"]),
            int(primary["SSTYPE"]),
            None if ssid_value in ("", None) else int(ssid_value),
            headers,
            np.asarray(control["raw_file"]).astype(str),
            np.asarray(control["packet"], dtype=np.int64),
            packets,
            request,
        )
        product.check_lengths()
    except (KeyError, ValueError, TypeError, binascii.Error) as exc:
        raise LBFileError(f"{path}: inconsistent LB file: {exc}") from exc
    return product
