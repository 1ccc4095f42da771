"""The local parquet cache of Mailkit results: fetch once, keep safely, read fast."""
from .fetch import FetchOutcome, fetch_results
from .info import cache_info
from .load import load_campaigns, load_requests, load_results, load_sends

__all__ = ["FetchOutcome", "fetch_results", "load_results", "load_requests", "load_sends", "load_campaigns", "cache_info"]
