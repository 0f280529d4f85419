"""SPICE sync operators: mirror the SOC ``from_soc`` tree, unzip new kernel zips."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from stix_ops.assets import SPICE_KERNELS


class FromSocSyncOperator(BaseOperator):
    """rsync the SOC ``from_soc`` tree (kernel zips, SOOP files) into ``from_soc_dir``.

    The source is ``from_soc_source``: local when ``from_soc_source_local`` is set, else on the SSH
    connection ``soc_ssh_conn_id`` (same exchange host as the telemetry). No deletions.
    """

    def execute(self, context: Any) -> dict[str, Any]:
        """Copy and return the number of files created or updated."""
        from stix_lib.stages.spice_sync import sync_from_soc
        from stix_ops.hooks.pipeline import StixPipelineHook
        from stix_ops.hooks.ssh import source_endpoint

        hook = StixPipelineHook()
        settings = hook.settings
        settings.ensure_folders()
        with source_endpoint(settings, local=settings.from_soc_source_local, conn_id=settings.soc_ssh_conn_id) as ssh:
            changes = sync_from_soc(settings, ssh)
        for line in changes:
            self.log.info("%s", line)
        return {"files_changed": len(changes)}


class KernelUnzipOperator(BaseOperator):
    """Unzip every new kernel zip of ``from_soc_dir`` into ``spice_dir`` (``stix_lib.stages.spice_sync``).

    Each zip is checked (CRC, no absolute paths, no ``..``, no symlinks) and extracted atomically;
    only successes enter the ``spice_zips`` ledger. A refused zip does not stop the others; the task
    fails at the end naming every refused zip and its reason (one failure mail), and the zip is
    tried again next run. On success with new kernels it emits
    :data:`~stix_ops.assets.SPICE_KERNELS` (``flown_mk``, ``predicted_mk``, ``zips``), which
    wakes the staging DAG; with nothing new it is skipped (no event). When some zips fail, no
    event is emitted — the staging DAG's time fallback still picks the new kernels up.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [SPICE_KERNELS])
        super().__init__(**kwargs)

    def execute(self, context: Any) -> dict[str, Any]:
        """Unzip, then fail, skip or announce (see the class docstring)."""
        from stix_lib.stages.spice_sync import meta_kernel_names, unzip_pending
        from stix_ops.hooks.pipeline import StixPipelineHook

        hook = StixPipelineHook()
        settings = hook.settings
        settings.ensure_folders()
        result = unzip_pending(settings, hook.engine)
        for name, files in result.unzipped.items():
            self.log.info("unzipped %s (%d files)", name, len(files))
        if result.failed:
            raise RuntimeError(
                f"{len(result.failed)} kernel zip(s) refused ({len(result.unzipped)} unzipped): "
                + "; ".join(result.failed.values())
            )
        if not result.unzipped:
            raise AirflowSkipException("no new kernel zip")
        kernels = meta_kernel_names(settings.spice_dir)
        self.log.info("latest meta kernels: %s", kernels)
        context["outlet_events"][SPICE_KERNELS].extra = {**kernels, "zips": sorted(result.unzipped)}
        return {**result.as_dict(), **kernels}
