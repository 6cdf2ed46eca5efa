"""Analysis of run archives (metrics and plots come with the analysis issue).

`open_archive(path)` is the public reader: the run's complete generations as one lazy xarray
Dataset whose variables carry `description` and `units` attrs (the schema is
`evo.archive.VARIABLES`; `ArchiveError` for a missing, uncommitted or other-schema archive).
"""

from evo.archive import VARIABLES, ArchiveError, open_archive

__all__ = ["VARIABLES", "ArchiveError", "open_archive"]
