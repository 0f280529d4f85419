"""Level Binary (LB): raw packets of one type per SCET day or science request, in FITS.

Modules: :mod:`~stix_lib.lb.convert` (TM files -> LB files), :mod:`~stix_lib.lb.product`
(rows, de-duplication, merging), :mod:`~stix_lib.lb.fits_io` (FITS layout, atomic writes),
:mod:`~stix_lib.lb.lb_names` (file names), :mod:`~stix_lib.lb.header` (common primary header),
:mod:`~stix_lib.lb.sequences` (packet sequences of science products).
"""

from stix_lib.lb.convert import LBResult, packets_to_lb, tm_to_lb, tms_to_lb
from stix_lib.lb.fits_io import LBFileError, read_lb, write_lb
from stix_lib.lb.header import common_header, lb_primary_header, obt_string
from stix_lib.lb.lb_names import lb_directory, lb_file_name, parse_lb_file_name
from stix_lib.lb.product import LBProduct
from stix_lib.lb.sequences import PacketSequence, extract_sequences

__all__ = [
    "LBFileError",
    "LBProduct",
    "LBResult",
    "PacketSequence",
    "common_header",
    "extract_sequences",
    "lb_directory",
    "lb_file_name",
    "lb_primary_header",
    "obt_string",
    "packets_to_lb",
    "parse_lb_file_name",
    "read_lb",
    "tm_to_lb",
    "tms_to_lb",
    "write_lb",
]
