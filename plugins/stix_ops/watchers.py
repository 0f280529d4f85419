"""Assets watched by the triggerer: the SOC exchange folders (event-driven scheduling).

=====================  ===============================  ====================================
asset                  watcher (trigger)                DAG scheduled on it
=====================  ===============================  ====================================
``TM_EXCHANGE``        ``ExchangeFolderTrigger("tm")``  ``stix_tm_ingest`` (+ daily safety run)
``FROM_SOC_EXCHANGE``  ``ExchangeFolderTrigger(         ``stix_spice_sync`` (+ daily safety run)
                       "from_soc")``
=====================  ===============================  ====================================

Each watcher lists its folder in the triggerer every ``watch_interval`` (setting, default 10 s;
``from_soc``: every minute) and emits one asset event when a matching file is new or changed
(payload: ``files``, ``changed``, ``listed``, ``source``). Folder, pattern and local/SSH are
read from the settings in the triggerer (:class:`~stix_ops.triggers.folder.ExchangeFolderTrigger`),
never at parse time.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetWatcher

from stix_ops.triggers.folder import ExchangeFolderTrigger

#: Seconds between listings of the ``from_soc`` tree (the TM folder uses the ``watch_interval`` setting).
FROM_SOC_INTERVAL = 60.0

TM_EXCHANGE = Asset(
    name="stix_soc_tm",
    uri="stix://soc/tm",
    watchers=[AssetWatcher(name="stix_soc_tm_watcher", trigger=ExchangeFolderTrigger(source="tm"))],
)
FROM_SOC_EXCHANGE = Asset(
    name="stix_soc_from_soc",
    uri="stix://soc/from_soc",
    watchers=[
        AssetWatcher(
            name="stix_soc_from_soc_watcher",
            # kernel zips are not urgent and the tree is larger than the TM folder: list once a minute
            trigger=ExchangeFolderTrigger(source="from_soc", poke_interval=FROM_SOC_INTERVAL),
        )
    ],
)
