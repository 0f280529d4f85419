"""STIX-CONF sync operator."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException


class ConfSyncOperator(BaseOperator):
    """Check out the most recently tagged STIX-CONF commit and record its version (``stix_lib.stages.conf_sync``).

    Clones ``conf_repo_url`` into ``conf_dir`` when missing; writes ``VERSION.TXT`` only after a
    successful checkout; records ``(version, commit)`` in the pipeline DB when it changed.
    """

    def execute(self, context: Any) -> dict[str, Any]:
        """Sync and return version, commit and whether it changed."""
        from stix_lib.stages.conf_sync import sync_conf
        from stix_ops.hooks.pipeline import StixPipelineHook

        hook = StixPipelineHook()
        settings = hook.settings
        result = sync_conf(settings.conf_dir, settings.conf_repo_url, hook.engine)
        self.log.info(
            "STIX-CONF at %s: %s (%s)%s",
            settings.conf_dir,
            result.version,
            result.commit,
            f", was {result.previous}" if result.changed else ", unchanged",
        )
        return {"version": result.version, "commit": result.commit, "changed": result.changed, "cloned": result.cloned}


class PublicConfSyncOperator(BaseOperator):
    """Bring the public STIX-CONF copy (setting ``conf_public_dir``) to the latest tag (runbook cron C4a).

    Skipped while ``conf_public_dir`` is empty. See :func:`stix_lib.stages.conf_sync.sync_public_copy`.
    """

    def execute(self, context: Any) -> dict[str, Any]:
        """Sync and return folder, version, commit and whether it changed."""
        from stix_lib.stages.conf_sync import sync_public_copy
        from stix_ops.hooks.pipeline import StixPipelineHook

        hook = StixPipelineHook()
        settings = hook.settings
        if settings.conf_public_dir is None:
            raise AirflowSkipException("no public STIX-CONF copy configured (setting conf_public_dir is empty)")
        result = sync_public_copy(settings.conf_public_dir, settings.conf_repo_url)
        self.log.info(
            "public STIX-CONF at %s: %s (%s)%s", settings.conf_public_dir, result.version, result.commit,
            f", was {result.previous}" if result.changed else ", unchanged",
        )  # fmt: skip
        return {"dir": str(settings.conf_public_dir), "version": result.version, "commit": result.commit,
                "changed": result.changed}  # fmt: skip
