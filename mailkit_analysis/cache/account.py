"""Which Mailkit account a cache belongs to.

A cache holds one account's results: mixing the simulator's demo data, or two clients'
sends, into one dataset would make every chart wrong without anyone noticing. The API ID
(not a secret; the MD5 code is never stored) is recorded on the first fetch and checked
on every later one.
"""
from __future__ import annotations

import json

from ..atomic import write_text_atomic
from ..errors import MailkitError
from ..paths import CachePaths

__all__ = ["CacheAccountError", "check_account", "write_account_record"]


class CacheAccountError(MailkitError):
    """The cache holds another account's data."""


def check_account(paths: CachePaths, client_id: int) -> None:
    """Record ``client_id`` for a new cache, or refuse a cache of another account.

    Call it while holding the cache lock.
    """
    record = paths.root / "account.json"
    if record.is_file():
        try:
            stored = json.loads(record.read_text(encoding="utf-8")).get("client_id")
        except (ValueError, OSError, AttributeError):
            stored = None
        if stored is not None and int(stored) != int(client_id):
            raise CacheAccountError(
                f"The cache in {paths.root.parent} holds results of another Mailkit account; "
                "use another --data-dir (or MAILKIT_ANALYSIS_DATA) for this one"
            )
        if stored is not None:
            return
    write_account_record(paths, client_id)


def write_account_record(paths: CachePaths, client_id: int) -> None:
    """Record that the cache under ``paths`` holds account ``client_id`` (atomically)."""
    write_text_atomic(json.dumps({"client_id": int(client_id)}), paths.root / "account.json")
