"""Where the toolkit keeps its data.

The data folder is, in order: an explicit ``data_dir`` / ``--data-dir``, the
``MAILKIT_ANALYSIS_DATA`` environment variable, the ``data/`` folder of the project when
the package runs from a checkout (so notebooks and the command line find the same cache
without being told), and otherwise the user's data folder from ``platformdirs``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


__all__ = ["DATA_ENV", "default_data_dir", "resolve_data_dir", "CachePaths", "project_root"]

DATA_ENV = "MAILKIT_ANALYSIS_DATA"


def project_root() -> Path | None:
    """The checkout the package runs from, or None when installed as a plain package."""
    candidate = Path(__file__).resolve().parents[1]
    if (candidate / "pyproject.toml").is_file() and (candidate / "mailkit_analysis").is_dir():
        return candidate
    return None


def default_data_dir() -> Path:
    """The data folder when none is given (see the module docstring for the order)."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    root = project_root()
    if root is not None:
        return root / "data"
    from platformdirs import user_data_dir  # the last resort only: most runs name their folder

    return Path(user_data_dir("mailkit-analysis", appauthor=False))


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir`` if given, else :func:`default_data_dir`; always absolute."""
    path = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return path.resolve()


@dataclass(frozen=True)
class CachePaths:
    """The files of one cache, all under ``<data dir>/cache``.

    Attributes
    ----------
    root : Path
        ``<data dir>/cache``.
    results : Path
        Hive-partitioned parquet dataset of result rows (``month=YYYY-MM/part-<unique>.parquet``).
    requests : Path
        The request manifest merged with each request's fetch state.
    campaigns, sends : Path
        Enrichment tables (campaign names; every send with its size).
    report_ranges : Path
        The periods ``mailkit.report.campaign`` was asked about (so each is asked once).
    quarantine : Path
        Files that could not be read or have another schema version are moved here, never deleted.
    lock : Path
        The inter-process lock file.
    """

    root: Path

    @classmethod
    def under(cls, data_dir: str | os.PathLike | None = None) -> "CachePaths":
        return cls(resolve_data_dir(data_dir) / "cache")

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def requests(self) -> Path:
        return self.root / "requests.parquet"

    @property
    def campaigns(self) -> Path:
        return self.root / "campaigns.parquet"

    @property
    def sends(self) -> Path:
        return self.root / "sends.parquet"

    @property
    def report_ranges(self) -> Path:
        return self.root / "report_ranges.parquet"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    def ensure(self) -> "CachePaths":
        """Create the folders (the cache creates its own home)."""
        self.results.mkdir(parents=True, exist_ok=True)
        return self
