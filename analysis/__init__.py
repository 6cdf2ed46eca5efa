"""Analysis of run archives (metrics and plots come with the analysis issue)."""

from evo.archive import open_archive

__all__ = ["open_archive"]
