"""Run the external ECC energy-calibration programs (``Bkg``, ``ECC``, ``STX_Calib``).

The programs live in ``settings.ecc_path`` and run, in this order, inside a private copy of the
ECC configuration (:meth:`stix_lib.conf.ecc.EccConfigIndex.context`)::

    Bkg
    ECC --f_obs <L1 name>_ecc_in.fits
    STX_Calib spec_all.fits ECC_para.fits[1]

producing ``ECC_para.fits`` (per-pixel ``gain``, ``off``, ``goc``) and ``spec_all_erg.fits`` (the
spectra on an energy grid). Each program gets a time limit; a non-zero exit, a time-out or a
missing result raises :class:`EccRunError` naming the program and the reason.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

PROGRAM_NAMES = ("Bkg", "ECC", "STX_Calib")
PARAMETER_FILE = "ECC_para.fits"
ENERGY_SPECTRA_FILE = "spec_all_erg.fits"
DEFAULT_TIMEOUT_S = 1800.0


class EccRunError(RuntimeError):
    """An ECC program failed; the message names the program, the working directory and the reason."""


@dataclass(frozen=True)
class EccPrograms:
    """Paths of the three programs."""

    bkg: Path
    ecc: Path
    stx_calib: Path


def find_ecc_programs(ecc_path: str | os.PathLike[str] | None) -> tuple[EccPrograms | None, str]:
    """Locate the programs in ``ecc_path``.

    Returns
    -------
    (programs, reason)
        ``programs`` is None when the step cannot run; ``reason`` then says why (empty
        setting, missing folder, missing or non-executable program).
    """
    if ecc_path is None or str(ecc_path).strip() == "":
        return None, "ecc_path is not set"
    folder = Path(ecc_path)
    if not folder.is_dir():
        return None, f"ecc_path {folder} is not a directory"
    paths = []
    for name in PROGRAM_NAMES:
        path = folder / name
        if not path.is_file():
            return None, f"ECC program {path} is missing"
        if not os.access(path, os.X_OK):
            return None, f"ECC program {path} is not executable"
        paths.append(path)
    return EccPrograms(*paths), ""


def _tail(text: str | bytes | None, limit: int = 600) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def _run(command: list[str], workdir: Path, timeout: float) -> None:
    name = Path(command[0]).name
    try:
        result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise EccRunError(f"ECC program {name} timed out after {timeout:g} s in {workdir}") from exc
    except OSError as exc:
        raise EccRunError(f"ECC program {name} could not be started in {workdir}: {exc}") from exc
    if result.returncode != 0:
        raise EccRunError(
            f"ECC program {name} failed with exit status {result.returncode} in {workdir}: "
            f"{_tail(result.stderr) or _tail(result.stdout) or 'no output'}"
        )
    logger.debug("%s finished: %s", name, _tail(result.stdout, 200))


def run_ecc_programs(
    programs: EccPrograms, workdir: Path, ecc_input: str, *, timeout: float = DEFAULT_TIMEOUT_S
) -> tuple[Path, Path]:
    """Run ``Bkg``, ``ECC`` and ``STX_Calib`` in ``workdir``.

    Parameters
    ----------
    programs
        From :func:`find_ecc_programs`.
    workdir
        The ECC context (configuration copy holding the input files).
    ecc_input
        File name of the ``*_ecc_in.fits`` input inside ``workdir``.
    timeout
        Time limit per program, seconds.

    Returns
    -------
    (ECC_para.fits, spec_all_erg.fits)

    Raises
    ------
    EccRunError
        On a failure, time-out, or a missing result file.
    """
    workdir = Path(workdir)
    _run([str(programs.bkg)], workdir, timeout)
    _run([str(programs.ecc), "--f_obs", ecc_input], workdir, timeout)
    _run([str(programs.stx_calib), "spec_all.fits", f"{PARAMETER_FILE}[1]"], workdir, timeout)
    results = (workdir / PARAMETER_FILE, workdir / ENERGY_SPECTRA_FILE)
    for path in results:
        if not path.is_file():
            raise EccRunError(f"ECC programs finished but {path.name} is missing in {workdir}")
    return results
