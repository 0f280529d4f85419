"""Helpers of the level-processing tests: telemetry staged for processing as the staging step leaves it."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.engine import Engine

from stix_lib.settings import Settings


def stage_tm(settings: Settings, files: Iterable[str | Path]) -> tuple[Engine, list[Path]]:
    """Copy ``files`` into ``soc_processing_dir`` and record each in the ledger as ``STAGED``.

    Returns the pipeline database engine and the staged paths, in the order given.
    """
    from stix_lib.db import connect, ledger
    from stix_lib.db.schema import TMState

    engine = connect(settings.pipeline_db_url)
    staged = []
    for path in files:
        target = settings.soc_processing_dir / Path(path).name
        shutil.copyfile(path, target)
        ledger.record_incoming(engine, target)
        ledger.set_state(engine, target.name, TMState.STAGED, path=target)
        staged.append(target)
    return engine, staged
