"""What an alarm needs besides the incidents: whether it can see, and what is new since last time.

A ``check`` that says "OK" over a cache that is missing, empty or no longer fetched is
worse than no check: :func:`blind_spot` names what keeps it from seeing. A cron job that
mails every ongoing incident every half hour is soon ignored: :class:`SeenIncidents`
remembers, in a small JSON file inside the cache folder, what the last ``check --new`` run
reported, so that only new incidents, or incidents that have grown, are reported again.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pandas as pd

from ..atomic import write_text_atomic
from ..cache.keyed import requests_table
from ..cache.store import ResultsStore
from ..cache.tables import table_problem
from ..errors import MailkitError
from ..i18n import format_datetime, gettext as _
from ..paths import CachePaths

__all__ = ["blind_spot", "last_fetch", "SeenIncidents", "STATE_FILE", "UnreadableCacheError"]

class UnreadableCacheError(MailkitError):
    """A file of the cache that the alarm needs cannot be read."""


#: Name of the ``check --new`` state file in the cache folder.
STATE_FILE = "check_seen.json"


def last_fetch(data_dir: str | os.PathLike | None = None) -> pd.Timestamp | None:
    """The latest successful fetch recorded in the cache (UTC), or None when there is none."""
    from ..cache.state_file import last_fetched_at

    return last_fetched_at(CachePaths.under(data_dir))


def blind_spot(data_dir: str | os.PathLike | None = None, max_age: pd.Timedelta | None = None,
               now: pd.Timestamp | None = None) -> str | None:
    """Why the cache cannot answer for the account, in one line with what to run; None when it can.

    Parameters
    ----------
    data_dir : path, optional
        Data folder.
    max_age : pandas.Timedelta, optional
        The latest successful fetch must be at most this old (no staleness check without it).
    now : pandas.Timestamp, optional
        The present (default: the clock).
    """
    paths = CachePaths.under(data_dir)
    shown = str(data_dir) if data_dir is not None else str(paths.root.parent)
    if not paths.root.parent.is_dir():
        return _("cannot see: the data folder {folder} does not exist; run 'mailkit-analysis fetch --data-dir "
                 "{folder}' first, or pass the right --data-dir").format(folder=shown)
    # The request state is a base file plus update parts: any of them holds requests.
    requests = requests_table(paths)
    if not paths.root.is_dir() or not (requests.exists() or paths.results.is_dir()):
        return _("cannot see: no cache in {folder}; run 'mailkit-analysis fetch --data-dir {folder}' "
                 "to fill it").format(folder=shown)
    for path in requests.files():
        problem = table_problem(path, requests.schema)
        if problem is not None:
            # Not "cannot see" (exit 3: nothing fetched yet) but a broken cache (exit 4):
            # the alarm must not judge the sends without their sizes and states.
            raise UnreadableCacheError(_("the request state file {path} cannot be used: {problem}; run "
                                         "'mailkit-analysis fetch' to rebuild it from the account").format(
                path=path, problem=problem))
    has_requests = requests.base_rows() + requests.update_rows() > 0
    has_rows = paths.results.is_dir() and bool(ResultsStore(paths).usable_parts())
    if not has_requests and not has_rows:
        return _("cannot see: the cache in {folder} is empty; record requests with 'mailkit-analysis "
                 "manifest add' and run 'mailkit-analysis fetch --data-dir {folder}'").format(folder=shown)
    if max_age is not None:
        latest = last_fetch(data_dir)
        now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now).tz_convert("UTC")
        if latest is None or now - latest > max_age:
            # Prague time in the language's own format, like every other time the toolkit shows.
            when = format_datetime(latest) if latest is not None else _("never")
            return _("cannot see: the last successful fetch was {when}, longer ago than --max-age; "
                     "check the fetch job and run 'mailkit-analysis fetch --data-dir {folder}'").format(
                when=when, folder=shown)
    return None


def _key(incident) -> str:
    """An incident's identity across runs: its rule, code, campaign and first failure."""
    campaign = "-" if pd.isna(incident["campaign_id"]) else str(int(incident["campaign_id"]))
    code = "-" if pd.isna(incident["error_code"]) else str(int(incident["error_code"]))
    return f"{incident['rule']}|{code}|{campaign}|{pd.Timestamp(incident['first_seen']).isoformat()}"


@dataclass
class SeenIncidents:
    """What the last ``check --new`` run on a cache reported (kept in the cache folder).

    Parameters
    ----------
    data_dir : path, optional
        Data folder; the state is ``<cache>/check_seen.json``.
    """

    data_dir: str | os.PathLike | None = None

    @property
    def path(self):
        """The state file."""
        return CachePaths.under(self.data_dir).root / STATE_FILE

    def load(self) -> dict[str, dict]:
        """The incidents seen so far (an unreadable file counts as none: they are reported again)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data.get("incidents", {}) if isinstance(data, dict) else {}

    def new_or_grown(self, incidents: pd.DataFrame) -> pd.DataFrame:
        """The incidents not reported before, or with more requests or recipients since."""
        seen = self.load()
        keep = []
        for _i, incident in incidents.iterrows():
            before = seen.get(_key(incident))
            keep.append(before is None or int(incident["requests"]) > before.get("requests", 0)
                        or int(incident["recipients"]) > before.get("recipients", 0))
        return incidents[keep].reset_index(drop=True)

    def remember(self, incidents: pd.DataFrame) -> None:
        """Record the incidents as reported (atomically: a cron run killed midway leaves the old state)."""
        seen = self.load()
        for _i, incident in incidents.iterrows():
            seen[_key(incident)] = {"requests": int(incident["requests"]), "recipients": int(incident["recipients"]),
                                    "status": str(incident["status"])}
        write_text_atomic(json.dumps({"version": 1, "incidents": seen}, indent=1, sort_keys=True), self.path)
