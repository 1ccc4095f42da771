"""The local parquet cache of Mailkit results: keep safely, read fast (fetching is :mod:`mailkit_analysis.sync`).

Names are imported on first use, so that recording a request id (:func:`record_request`)
does not load the readers.
"""
from __future__ import annotations

import importlib

__all__ = [
    "load_results",
    "load_requests",
    "load_sends",
    "load_campaigns",
    "cache_info",
    "compact_cache",
    "record_request",
    "prune_cache",
    "forget_email",
]

_HOMES = {
    "load_results": ".load",
    "load_requests": ".load",
    "load_sends": ".load",
    "load_campaigns": ".load",
    "cache_info": ".info",
    "compact_cache": ".compact",
    "record_request": ".capture",
    "prune_cache": ".retention",
    "forget_email": ".retention",
}


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
