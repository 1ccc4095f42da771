"""mailkit-analysis: why did my Mailkit mass send fail?

Fetch ``mailkit.sendmail_mass.results`` over JSON or XML-RPC, cache it as parquet, flag
problems and render shareable reports. The package root holds the user's path only (listed
in the README, "The package root"); everything else is imported from its module, e.g.
``mailkit_analysis.analysis.summaries`` or ``mailkit_analysis.presentation.plots``.

Names whose modules load the analysis stack, DuckDB, matplotlib or papermill/nbconvert are
imported on first use (PEP 562), so ``import mailkit_analysis`` and a cron job that only
fetches stay light.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

from .api.client import MailkitClient
from .api.session import RetryPolicy
from .config import Credentials, load_credentials
from .errors import (
    ConfigError,
    MailkitAPIError,
    MailkitAuthError,
    MailkitError,
    MailkitResponseError,
    MailkitTransportError,
    WindowError,
)

# Name -> module that defines it, imported when the name is first used.
_LAZY = {
    "fetch_results": ".sync.fetch",
    "load_results": ".cache.load",
    "cache_info": ".cache.info",
    "find_flags": ".analysis.flags",
    "FlagConfig": ".analysis.flags",
    "render_report": ".presentation.report",
    "ManifestError": ".cache.manifest",
    "CacheAccountError": ".cache.account",
    "ReportError": ".presentation.report",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports them
    from .analysis.flags import FlagConfig, find_flags
    from .cache.account import CacheAccountError
    from .cache.info import cache_info
    from .cache.load import load_results
    from .cache.manifest import ManifestError
    from .presentation.report import ReportError, render_report
    from .sync.fetch import fetch_results

__all__ = [
    "__version__",
    # talking to Mailkit
    "MailkitClient",
    "Credentials",
    "load_credentials",
    "RetryPolicy",
    # the cache
    "fetch_results",
    "load_results",
    "cache_info",
    # what went wrong
    "find_flags",
    "FlagConfig",
    "render_report",
    # errors
    "MailkitError",
    "MailkitAuthError",
    "MailkitAPIError",
    "MailkitResponseError",
    "MailkitTransportError",
    "ConfigError",
    "WindowError",
    "ManifestError",
    "CacheAccountError",
    "ReportError",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
