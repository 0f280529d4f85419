"""CAL energy calibration: ECC inputs, external ECC programs, Ba-133 post-fit, CAL product.

Entry point: :class:`CalEnergyStep` — ``CalEnergyStep(settings)(l1_path) -> list[Path]``.
"""

from typing import TYPE_CHECKING

from stix_lib.lazy_exports import lazy_exports

if TYPE_CHECKING:  # imported on first use (stix_lib.lazy_exports): a submodule does not pull its siblings
    from stix_lib.cal.ecc_inputs import ecc_input_hdus, spec_all_hdus, write_ecc_inputs
    from stix_lib.cal.ecc_runner import EccPrograms, EccRunError, find_ecc_programs, run_ecc_programs
    from stix_lib.cal.post_fit import PostFitError, PostFitResult, fit_ba133_lines, post_fit, post_fit_files
    from stix_lib.cal.product import CalResult, CalTiming, cal_filename, cal_path
    from stix_lib.cal.step import CalEnergyError, CalEnergyStep, energy_edges, gain_range_ok

__all__ = [
    "CalEnergyError",
    "CalEnergyStep",
    "CalResult",
    "CalTiming",
    "EccPrograms",
    "EccRunError",
    "PostFitError",
    "PostFitResult",
    "cal_filename",
    "cal_path",
    "ecc_input_hdus",
    "energy_edges",
    "find_ecc_programs",
    "fit_ba133_lines",
    "gain_range_ok",
    "post_fit",
    "post_fit_files",
    "run_ecc_programs",
    "spec_all_hdus",
    "write_ecc_inputs",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
