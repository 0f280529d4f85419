"""The one place a processing :class:`~stix_lib.pipeline.orchestrator.Pipeline` is built.

:func:`build_pipeline` wires the product writer (archive, version, STIX-CONF, SPICE kernels, SOOP
keywords), the IDB selection, the RID LUT, the mission time window, the quarantine folder and —
for end level L2 — the CAL energy step as L2 hook, all from the settings and one
:class:`~stix_lib.pipeline.options.PipelineOptions`. The CLI, the Airflow tasks and the
reprocessing use it alike, so the same options give the same pipeline whoever asks.
"""

from __future__ import annotations

from pathlib import Path

from stix_lib.conf.energy_channels import ScienceEnergyChannels
from stix_lib.idb.manager import IDBManager
from stix_lib.pipeline.options import PipelineOptions
from stix_lib.pipeline.orchestrator import (
    Level,
    Pipeline,
    Progress,
    load_rid_lut,
    make_kernels,
    read_conf_version,
)
from stix_lib.products.writer import ProductWriter
from stix_lib.settings import Settings
from stix_lib.time.mission_window import MissionWindow


def build_pipeline(
    settings: Settings, options: PipelineOptions | None = None, *, progress: Progress | None = None
) -> Pipeline:
    """The processing chain for ``options`` (see :mod:`stix_lib.pipeline.options` for the defaults).

    Parameters
    ----------
    settings
        The deployment's settings; ``options`` override the archive, folders and version.
    options
        What to build (default: everything from the settings, end level L2).
    progress
        Wraps iterations, e.g. a progress bar (``progress(items, description)``).

    Returns
    -------
    Pipeline
        With the CAL energy step as L2 hook when ``options.end_level`` is L2; the hook shares the
        writer's SOOP keywords and SPICE kernels. A missing or unreadable RID LUT leaves
        ``rid_lut`` empty and says why in ``rid_lut_error``.
    """
    from stix_lib.soop import SoopManager

    options = options or PipelineOptions()
    settings = options.apply_to(settings)
    kernels = make_kernels(options.spice_dir or settings.spice_dir, options.spice_file)
    soop = SoopManager.from_settings(settings, options.soop_dir)
    conf_dir = settings.conf_dir
    writer = ProductWriter(
        settings.fits_archive_dir,
        processing_version=settings.processing_version,
        vers_cfg=read_conf_version(conf_dir),
        energy_channels=ScienceEnergyChannels(conf_dir),
        kernels=kernels,
        soop=soop,
    )
    l2_hook = None
    if Level.parse(options.end_level) >= Level.L2:
        from stix_lib.cal import CalEnergyStep

        l2_hook = CalEnergyStep(settings, soop=soop, spice_kernels=kernels)
    lut_path = options.rid_lut_file or settings.rid_lut_file
    rid_lut, rid_lut_error = load_rid_lut(Path(lut_path) if lut_path else None)
    pipeline = Pipeline(
        writer,
        IDBManager(options.idb_dir or settings.idb_dir),
        l2_hook=l2_hook,
        stop_on_error=options.stop_on_error,
        workers=options.workers,
        rid_lut=rid_lut,
        rid_lut_error=rid_lut_error,
        window=MissionWindow.from_settings(settings),
        quarantine_dir=settings.quarantine_dir,
    )
    if progress is not None:
        pipeline.progress = progress
    return pipeline
