"""``cache info``: what the cache holds, at a glance."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import pyarrow.compute as pc

from ..paths import CachePaths
from .compact import last_compacted
from .keyed import requests_table, sends_table
from .load import load_requests
from .lock import reading
from .store import ResultsStore

__all__ = ["CacheInfo", "cache_info"]


@dataclass(frozen=True)
class CacheInfo:
    """Counts and sizes of one cache."""

    path: str
    requests: int
    final: int
    provisional: int
    failed: int
    never_fetched: int
    rows: int
    partitions: int
    parts_per_month: dict[str, int]
    table_parts: dict[str, dict[str, int]]
    last_compacted: str | None
    size_bytes: int
    first_date: str | None
    last_date: str | None
    unusable_files: list[str]

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        size = self.size_bytes / 1e6
        span = f"{self.first_date} … {self.last_date}" if self.first_date else "no rows"
        lines = [
            f"cache:        {self.path}",
            f"requests:     {self.requests} ({self.final} final, {self.provisional} provisional, "
            f"{self.failed} failed last time, {self.never_fetched} never fetched)",
            f"rows:         {self.rows} in {self.partitions} monthly partitions, "
            f"{sum(self.parts_per_month.values())} part files",
            f"parts/month:  {_parts_line(self.parts_per_month)}",
            f"tables:       {_tables_line(self.table_parts)}",
            f"compacted:    {self.last_compacted or 'never'} (mailkit-analysis cache compact)",
            f"size on disk: {size:.2f} MB",
            f"dates:        {span}",
        ]
        lines += [f"unusable:     {p}" for p in self.unusable_files]
        return "\n".join(lines)


def _parts_line(parts: dict[str, int]) -> str:
    if not parts:
        return "-"
    return ", ".join(f"{month} {n}" for month, n in parts.items())


def _tables_line(tables: dict[str, dict[str, int]]) -> str:
    shown = []
    for name, files in tables.items():
        updates = files["updates"]
        base = "base" if files["base"] else "no base"
        shown.append(f"{name} {base} + {updates} update{'' if updates == 1 else 's'}")
    return ", ".join(shown) if shown else "-"


def cache_info(data_dir: str | os.PathLike | None = None) -> CacheInfo:
    """Summarise the cache under ``data_dir`` (read only)."""
    paths = CachePaths.under(data_dir)
    with reading(paths):
        return _info(paths, data_dir)


def _info(paths: CachePaths, data_dir) -> CacheInfo:
    state = load_requests(data_dir)
    fetched = state["status"].notna()
    final = state["final"].fillna(False).astype(bool)
    failed = state["last_error"].notna()
    store = ResultsStore(paths)
    parts = store.usable_parts()
    per_month: dict[str, int] = {}
    for part in parts:
        per_month[part.month] = per_month.get(part.month, 0) + 1
    rows, first, last = 0, None, None
    dataset = store.dataset(parts)
    if dataset is not None:
        dates = dataset.to_table(columns=["date"]).column("date")
        rows = len(dates)
        if rows:
            bounds = pc.min_max(dates)
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            first = low.isoformat() if low else None
            last = high.isoformat() if high else None
    tables = {}
    for table in (requests_table(paths), sends_table(paths)):
        if table.exists():
            tables[table.base.stem] = {"base": int(table.base.is_file()), "updates": len(table.update_files())}
    size = sum(f.stat().st_size for f in paths.root.rglob("*") if f.is_file()) if paths.root.exists() else 0
    return CacheInfo(
        path=str(paths.root),
        requests=len(state),
        final=int((fetched & final).sum()),
        provisional=int((fetched & ~final).sum()),
        failed=int(failed.sum()),
        never_fetched=int((~fetched).sum()),
        rows=rows,
        partitions=len(per_month),
        parts_per_month=per_month,
        table_parts=tables,
        last_compacted=last_compacted(paths),
        size_bytes=size,
        first_date=first,
        last_date=last,
        unusable_files=[f"{p.path}: {p.reason}" for p in store.problems],
    )
