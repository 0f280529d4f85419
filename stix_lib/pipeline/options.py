"""What a processing run is asked to do: :class:`PipelineOptions`, the one input of :func:`build_pipeline`.

Every caller — ``stix-pipeline process``, the ``stix_level_processing`` DAG tasks and the
reprocessing of a day — turns its own inputs (command-line options, trigger-form Params, the
resolved reprocessing options) into a :class:`PipelineOptions` and hands it with the settings to
:func:`stix_lib.pipeline.build.build_pipeline`. A field left ``None`` means "from the settings";
the defaults are decided there, once, for every caller:

* SPICE kernels: ``spice_file`` (one explicit meta kernel), else the latest meta kernels of
  ``spice_dir`` (default: the ``spice_dir`` setting); none found: L1 waits for kernels;
* SOOP keywords: always from the LTP exports of ``soop_dir``, default the ``from_soc_dir``
  setting, where SOC delivers them (STIXCore's ``-p/--soop_dir`` defaults to ``[Paths] soop_files``
  likewise); a folder without exports gives the keywords ``none``;
* CAL: with end level L2 the CAL energy calibration is the L2 hook;
* RID LUT: ``rid_lut_file`` (default: the setting).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from stix_lib.settings import Settings

#: Level names an end level may take (``ALL`` ends at L2).
END_LEVELS: tuple[str, ...] = ("TM", "LB", "L0", "L1", "L2")


def _path(value: Any) -> Path | None:
    """``None`` for an empty override (``None``, ``""``), else the path."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return Path(value)


@dataclass(frozen=True)
class PipelineOptions:
    """How to build a processing pipeline; ``None`` fields come from the settings.

    Attributes
    ----------
    fits_dir
        FITS archive written (and read for LB/L0/L1 starts); default ``fits_archive_dir``.
    idb_dir
        IDB root; default ``idb_dir``.
    spice_dir
        SPICE kernel tree (latest meta kernels); default ``spice_dir``.
    spice_file
        One explicit meta kernel instead of the latest ones.
    soop_dir
        Folder of the SOOP (LTP export) files; default ``from_soc_dir``.
    rid_lut_file
        RID LUT CSV for trigger descaling; default ``rid_lut_file``.
    end_level
        Last level made (``TM``, ``LB``, ``L0``, ``L1``, ``L2``); L2 adds the CAL hook.
    stop_on_error
        Stop at the first problem instead of reporting and going on.
    processing_version
        Processing version written into the products; default ``processing_version``.
    workers
        Processes for the LB -> L0 -> L1 stream (packet types in parallel).
    """

    fits_dir: Path | None = None
    idb_dir: Path | None = None
    spice_dir: Path | None = None
    spice_file: Path | None = None
    soop_dir: Path | None = None
    rid_lut_file: Path | None = None
    end_level: str = "L2"
    stop_on_error: bool = False
    processing_version: int | None = None
    workers: int = 1

    def __post_init__(self) -> None:
        level = str(self.end_level).upper()
        level = "L2" if level == "ALL" else level
        if level not in END_LEVELS:
            raise ValueError(f"end level {self.end_level!r} is not one of {', '.join(END_LEVELS)} or ALL")
        object.__setattr__(self, "end_level", level)
        if self.processing_version is not None and int(self.processing_version) < 1:
            raise ValueError(f"processing version must be at least 1, not {self.processing_version}")
        if int(self.workers) < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")

    @classmethod
    def from_overrides(
        cls,
        *,
        fits_dir: str | Path | None = None,
        idb_dir: str | Path | None = None,
        spice_dir: str | Path | None = None,
        spice_file: str | Path | None = None,
        soop_dir: str | Path | None = None,
        rid_lut_file: str | Path | None = None,
        end_level: str = "L2",
        stop_on_error: bool = False,
        processing_version: int | None = None,
        workers: int = 1,
    ) -> PipelineOptions:
        """Options from user input, where an empty text means "not given" (trigger forms, CLI).

        Returns
        -------
        PipelineOptions
            Paths as :class:`~pathlib.Path`, empty overrides ``None``, ``end_level`` upper case
            (``ALL`` -> ``L2``).

        Raises
        ------
        ValueError
            For an unknown end level, a version below 1 or fewer than one worker.
        """
        return cls(
            fits_dir=_path(fits_dir),
            idb_dir=_path(idb_dir),
            spice_dir=_path(spice_dir),
            spice_file=_path(spice_file),
            soop_dir=_path(soop_dir),
            rid_lut_file=_path(rid_lut_file),
            end_level=end_level or "L2",
            stop_on_error=bool(stop_on_error),
            processing_version=int(processing_version) if processing_version is not None else None,
            workers=int(workers),
        )

    def apply_to(self, settings: Settings) -> Settings:
        """``settings`` with this run's archive and processing version (what the products and CAL use)."""
        changes: dict[str, Any] = {}
        if self.fits_dir is not None:
            changes["fits_archive_dir"] = self.fits_dir
        if self.processing_version is not None:
            changes["processing_version"] = self.processing_version
        return settings.replace(**changes) if changes else settings
