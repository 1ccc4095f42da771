"""mailkit-analysis: why did my Mailkit mass send fail?

Fetch ``mailkit.sendmail_mass.results`` over JSON or XML-RPC, keep it as typed frames,
and turn it into charts, problem flags and shareable reports.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .client import MailkitClient
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
from .export import frame_to_csv, frame_to_json, summarize_by_code
from .fetching import FetchFailure, FetchReport, RequestRef, fetch_many
from .frame import RESULT_COLUMNS, RESULT_DTYPES, build_results_frame, empty_results_frame
from .redaction import Secret
from .results import ResultsAnswer, parse_results_answer
from .session import RetryPolicy

__all__ = [
    "__version__",
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
