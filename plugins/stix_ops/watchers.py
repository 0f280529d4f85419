"""Assets watched by the triggerer: the SOC exchange folders (event-driven scheduling).

=====================  ===============================  ====================================
asset                  watcher (trigger)                DAG scheduled on it
=====================  ===============================  ====================================
``TM_EXCHANGE``        ``ExchangeFolderTrigger("tm")``  ``stix_tm_ingest`` (+ daily safety run)
``FROM_SOC_EXCHANGE``  ``ExchangeFolderTrigger(         ``stix_spice_sync`` (+ daily safety run)
                       "from_soc")``
=====================  ===============================  ====================================

Each watcher lists its folder every ``watch_interval`` (setting, default 10 s) in the triggerer
and emits one asset event when a matching file is new or changed (payload: ``files``, ``changed``,
``listed``, ``source``). Folder, pattern and local/SSH are read from the settings in the
triggerer (:class:`~stix_ops.triggers.folder.ExchangeFolderTrigger`), never at parse time.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetWatcher

from stix_ops.triggers.folder import ExchangeFolderTrigger

TM_EXCHANGE = Asset(
    name="stix_soc_tm",
    uri="stix://soc/tm",
    watchers=[AssetWatcher(name="stix_soc_tm_watcher", trigger=ExchangeFolderTrigger(source="tm"))],
)
FROM_SOC_EXCHANGE = Asset(
    name="stix_soc_from_soc",
    uri="stix://soc/from_soc",
    watchers=[AssetWatcher(name="stix_soc_from_soc_watcher", trigger=ExchangeFolderTrigger(source="from_soc"))],
)
