"""The local parquet cache of Mailkit results: keep safely, read fast (fetching is :mod:`mailkit_analysis.sync`)."""
from .info import cache_info
from .load import load_campaigns, load_requests, load_results, load_sends

__all__ = ["load_results", "load_requests", "load_sends", "load_campaigns", "cache_info"]
