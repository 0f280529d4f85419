"""The environment of a benchmark child process that runs one source tree on the reference data."""

from __future__ import annotations

import os
from pathlib import Path


def tree_env(tree: Path, data: Path, work: Path, **extra: str) -> dict[str, str]:
    """This process's environment without ``STIX_*`` settings and ``PYTHONDONTWRITEBYTECODE``, plus
    ``tree`` on ``PYTHONPATH``, the reference ``data`` folders and a data root below ``work``.

    Parameters
    ----------
    tree
        Source tree to import (``stix_lib`` and ``plugins/``).
    data
        Reference data folder (IDB, STIX-CONF, SPICE kernels).
    work
        Scratch folder of the run; its ``data`` subfolder becomes ``STIX_DATA_ROOT``.
    **extra
        More variables, set last.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("STIX_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(tree), str(tree / "plugins")]),
        STIX_REFERENCE_DATA=str(data),
        STIX_DATA_ROOT=str(work / "data"),
        STIX_IDB_DIR=str(data / "idb"),
        STIX_CONF_DIR=str(data / "stix-conf"),
        STIX_SPICE_DIR=str(data / "spice" / "kernels"),
        **extra,
    )
    return env
