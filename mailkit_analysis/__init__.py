"""mailkit-analysis: why did my Mailkit mass send fail?

Fetch ``mailkit.sendmail_mass.results`` over JSON or XML-RPC, keep it as typed frames,
and turn it into charts, problem flags and shareable reports.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .analysis.domains import likely_typos, mask_email, mask_emails
from .analysis.flags import FlagConfig, find_flags, flags_to_json
from .analysis.summaries import (
    by_campaign,
    by_category,
    by_send,
    counts_over_time,
    rates_over_time,
    recipient_domains,
    top_info,
)
from .api.client import MailkitClient
from .api.results import ResultsAnswer, parse_results_answer
from .api.session import RetryPolicy
from .cache import cache_info, load_campaigns, load_requests, load_results, load_sends
from .cache.manifest import ManifestError, read_manifest
from .codes import CATALOGUE, ErrorCode, code_label, error_name, lookup
from .config import Credentials, Endpoints, load_credentials, load_endpoints
from .errors import (
    ConfigError,
    MailkitAPIError,
    MailkitAuthError,
    MailkitError,
    MailkitResponseError,
    MailkitTransportError,
)
from .frame import (
    RESULT_COLUMNS,
    RESULT_DTYPES,
    build_results_frame,
    empty_results_frame,
)
from .presentation.export import frame_to_csv, frame_to_json, summarize_by_code
from .redaction import Secret
from .sync.concurrent_fetch import FetchFailure, FetchReport, RequestRef, fetch_many
from .sync.fetch import fetch_results

# Charts live in mailkit_analysis.presentation.plots, imported on demand so that the package does not
# load matplotlib for a cron job that only fetches.
__all__ = [
    "__version__",
    "fetch_results",
    "load_results",
    "load_requests",
    "load_sends",
    "load_campaigns",
    "cache_info",
    "read_manifest",
    "ManifestError",
    "counts_over_time",
    "rates_over_time",
    "by_campaign",
    "by_send",
    "by_category",
    "top_info",
    "recipient_domains",
    "likely_typos",
    "mask_email",
    "mask_emails",
    "find_flags",
    "FlagConfig",
    "flags_to_json",
    "MailkitClient",
    "RetryPolicy",
    "Credentials",
    "Endpoints",
    "Secret",
    "load_credentials",
    "load_endpoints",
    "CATALOGUE",
    "ErrorCode",
    "lookup",
    "error_name",
    "code_label",
    "MailkitError",
    "MailkitAuthError",
    "MailkitAPIError",
    "MailkitResponseError",
    "MailkitTransportError",
    "ConfigError",
    "RESULT_COLUMNS",
    "RESULT_DTYPES",
    "build_results_frame",
    "empty_results_frame",
    "ResultsAnswer",
    "parse_results_answer",
    "RequestRef",
    "FetchFailure",
    "FetchReport",
    "fetch_many",
    "summarize_by_code",
    "frame_to_json",
    "frame_to_csv",
]
