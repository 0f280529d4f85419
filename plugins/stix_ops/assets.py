"""Assets that chain the STIX DAGs (producers declare outlets, consumers schedule on them).

=================  ==========================  =========================================================
asset              producer                    event extra / consumers
=================  ==========================  =========================================================
``TM_INCOMING``    ``stix_tm_ingest``          ``files``: new TM files in ``incoming/`` → staging
``TM_STAGED``      ``stix_tm_staging``         ``files``, ``reasons``: released to ``processing/``
``SPICE_KERNELS``  ``stix_spice_sync``         ``flown_mk``, ``predicted_mk``, ``zips`` → staging, processing
``FITS_L1``        ``stix_level_processing``   → ``stix_fits_nas_sync``, ``stix_daily_products``
``SOAR_PUBLISHED`` ``stix_soar_publish``       ``files``: delivered names (task ``announce_published``,
                                               skipped when nothing was delivered) → ``stix_fits_nas_sync``
``LL03``           ``stix_daily_products``     ``files``: LL03 plots written (SVG names), ``more_files``
``TM_HELD``        ``stix_tm_release_timer``   ``release_at``: files still held by age → re-arms the timer
``MONITOR_REARM``  ``stix_pipeline_watch``     ``opened``, ``resolved``: after an incident change → next watch
=================  ==========================  =========================================================
"""

from __future__ import annotations

from airflow.sdk import Asset

TM_INCOMING = Asset(name="stix_tm_incoming", uri="stix://tm/incoming")
TM_STAGED = Asset(name="stix_tm_staged", uri="stix://tm/staged")
SPICE_KERNELS = Asset(name="stix_spice_kernels", uri="stix://spice/kernels")
FITS_L1 = Asset(name="stix_fits_l1", uri="stix://fits/l1")
SOAR_PUBLISHED = Asset(name="stix_soar_published", uri="stix://soar/published")
LL03 = Asset(name="stix_ll03", uri="stix://fits/ll03")
TM_HELD = Asset(name="stix_tm_held", uri="stix://tm/held")
MONITOR_REARM = Asset(name="stix_monitor_rearm", uri="stix://monitor/rearm")
