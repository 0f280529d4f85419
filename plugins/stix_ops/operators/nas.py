"""FITS → NAS mirror operator."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator


class FitsNasSyncOperator(BaseOperator):
    """Mirror ``fits_archive_dir`` to ``nas_mirror_dir`` with deletions, skipping temp names.

    Local when ``nas_host`` is empty (a mounted NAS), else over SSH with the connection
    ``nas_ssh_conn_id`` (:class:`~stix_ops.hooks.ssh.RsyncSSHHook`, host ``nas_host``). See
    :func:`stix_lib.stages.nas_sync.mirror_fits`.
    """

    def execute(self, context: Any) -> dict[str, Any]:
        """Mirror and return the number of changes."""
        from stix_lib.stages.nas_sync import mirror_fits
        from stix_ops.hooks.pipeline import StixPipelineHook
        from stix_ops.hooks.ssh import source_endpoint

        hook = StixPipelineHook()
        settings = hook.settings
        local = not settings.nas_host
        with source_endpoint(settings, local=local, conn_id=settings.nas_ssh_conn_id, host=settings.nas_host) as ssh:
            changes = mirror_fits(settings, ssh)
        for line in changes[:200]:
            self.log.info("%s", line)
        deleted = sum(1 for line in changes if line.startswith("*deleting"))
        return {"changes": len(changes), "deleted": deleted}
