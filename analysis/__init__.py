"""Analysis of run archives: open them, compute cooperation metrics, draw plots, write a report,
run eval suites.

`open_archive(path)` is the public reader: the run's complete generations as one lazy xarray
Dataset whose variables carry `description` and `units` attrs (the schema is
`evo.archive.VARIABLES`; `ArchiveError` for a missing, corrupt, partial or other-schema
archive). `open_archives(paths)` puts several runs along a `run` dimension, `open_sweep(dir)` a
sweep's runs (`python -m evo.sweep`) along its own dimensions. Metrics live in
`analysis.metrics`, figures in `analysis.plots`, the HTML page in `analysis.report`.
"""

from analysis.archives import ArchiveError, open_archive, open_archives, open_sweep
from evo.archive import VARIABLES

__all__ = ["VARIABLES", "ArchiveError", "open_archive", "open_archives", "open_sweep"]
