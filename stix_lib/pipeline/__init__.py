"""The processing orchestrator (TM -> LB -> L0 -> L1 -> L2) used by the CLI and the Airflow tasks.

:class:`~stix_lib.pipeline.orchestrator.Pipeline` runs the chain; its results are
:class:`~stix_lib.pipeline.report.FileReport` / :class:`~stix_lib.pipeline.report.RunReport`.
"""

from stix_lib.pipeline.orchestrator import (
    ExplicitMetaKernel,
    Level,
    Pipeline,
    PipelineAborted,
    make_kernels,
    read_conf_version,
)
from stix_lib.pipeline.report import FileReport, RunReport

__all__ = [
    "ExplicitMetaKernel",
    "FileReport",
    "Level",
    "Pipeline",
    "PipelineAborted",
    "RunReport",
    "make_kernels",
    "read_conf_version",
]
