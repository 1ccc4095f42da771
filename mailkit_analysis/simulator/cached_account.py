"""A written cache served as a Mailkit account: the simulator's server over generated data.

The generator and the test scenarios write caches, not accounts. :class:`CachedAccount` reads
one back and answers what :class:`~.account.SimulatedAccount` answers (the rows of a request,
the campaign list and the report functions), so that ``MailkitSimulator(CachedAccount(dir))``
serves, say, the quarter test account over both wire formats, and a fetch into a fresh folder
rebuilds the same rows.

A row counts as processed from its ``date`` on; a request is known from its ``sent_at`` on.
"""
from __future__ import annotations

import math
import os
from datetime import date, datetime, timezone

import numpy as np
import pandas as pd

from ..cache import load_campaigns, load_requests, load_results, load_sends
from ..errors import ConfigError
from ..prague_time import PRAGUE
from .account import (
    DATE_FORMAT,
    answer_results,
    RequestRecord,
    campaign_record,
    error_row,
    send_record,
)
from .catalog import CAMPAIGNS

__all__ = ["CachedAccount"]

UTC = timezone.utc


def _epoch(values: pd.Series) -> np.ndarray:
    """Aware times as epoch seconds (floats), whatever their unit."""
    return (values.dt.tz_convert("UTC") - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def _ints(values: pd.Series) -> np.ndarray:
    """Nullable ids as Mailkit sends them: missing is 0."""
    return values.astype("Int64").fillna(0).to_numpy(dtype=np.int64)


class CachedAccount:
    """The account behind a cache written by the generator or a scenario.

    Parameters
    ----------
    data_dir : path
        Data folder holding ``cache/`` (results, ``requests.parquet``, ``sends.parquet``,
        ``campaigns.parquet``).

    Raises
    ------
    ConfigError
        The folder holds no cache with requests.

    Examples
    --------
    >>> from mailkit_analysis.simulator import MailkitSimulator              # doctest: +SKIP
    >>> with MailkitSimulator(CachedAccount("quarter-data")) as sim:        # doctest: +SKIP
    ...     print(sim.json_url)
    """

    def __init__(self, data_dir: str | os.PathLike) -> None:
        requests = load_requests(data_dir).sort_values("sent_at", kind="stable").reset_index(drop=True)
        if requests.empty or requests["sent_at"].isna().any():
            raise ConfigError(f"{data_dir} holds no cache of requests with their send times to serve")
        rows = load_results(data_dir).sort_values(["request_id", "date"], kind="stable").reset_index(drop=True)
        sends = load_sends(data_dir)
        names = load_campaigns(data_dir)
        self._request_ids = requests["request_id"].to_numpy(dtype=np.int64)
        self._position = {int(rid): i for i, rid in enumerate(self._request_ids)}
        self._sent_ts = _epoch(requests["sent_at"])
        self._id_send = _ints(requests["id_send"])
        self._campaign = _ints(requests["campaign_id"])
        self._recipients = requests["recipients"].astype("Int64").fillna(0).to_numpy(dtype=np.int64)
        # Rows grouped by request: offsets into the sorted columns.
        ids = rows["request_id"].to_numpy(dtype=np.int64)
        self._row_start = dict(zip(*np.unique(ids, return_index=True)))
        self._row_count = dict(zip(*np.unique(ids, return_counts=True)))
        self._columns = {
            "code": rows["error_code"].to_numpy(dtype=np.int64),
            "info": rows["info"].fillna("").to_numpy(dtype=object),
            "stamp": rows["date"].dt.strftime(DATE_FORMAT).to_numpy(dtype=object),
            "ts": _epoch(rows["date"]),
            "email": rows["email"].fillna("").to_numpy(dtype=object),
            "id_email": _ints(rows["id_email"]),
            "id_send": _ints(rows["id_send"]),
            "message": _ints(rows["id_send_message"]),
        }
        self._sends = sends.set_index("id_send")
        self._names = dict(zip(names["campaign_id"].astype(int), names["campaign_name"]))
        by_name = {c.name: c.subject for c in CAMPAIGNS}
        # Generated variants ("Faktura za služby – SK") keep their template's subject.
        self._subjects = {cid: next((s for n, s in by_name.items() if name.startswith(n)), name)
                          for cid, name in self._names.items()}
        self.anchor = datetime.fromtimestamp(float(max(self._sent_ts.max(), self._columns["ts"].max(initial=0))), UTC)

    # ------------------------------------------------------------- results

    def _rows(self, request_id: int) -> tuple[list[float], list[dict]]:
        start, count = self._row_start.get(request_id), self._row_count.get(request_id, 0)
        if start is None:
            return [], []
        c, span = self._columns, slice(int(start), int(start) + int(count))
        rows = [error_row(int(code), info, stamp, email, int(id_email), int(id_send), int(message))
                for code, info, stamp, email, id_email, id_send, message in zip(
                    c["code"][span], c["info"][span], c["stamp"][span], c["email"][span],
                    c["id_email"][span], c["id_send"][span], c["message"][span])]
        return c["ts"][span].tolist(), rows

    def results_for(
        self, request_id: int, id_send: int | None = None, now: datetime | None = None
    ) -> tuple[str, list[dict]]:
        """Answer ``mailkit.sendmail_mass.results`` (as :meth:`.SimulatedAccount.results_for`)."""
        return answer_results(request_id, id_send, now, position=self._position, sent_ts=self._sent_ts,
                              id_sends=self._id_send, timed_rows=lambda i: self._rows(int(request_id)))

    def requests(self) -> list[RequestRecord]:
        """The manifest, oldest first (processing time: until the request's last row)."""
        out = []
        for i, rid in enumerate(self._request_ids.tolist()):
            times, _ = self._rows(rid)
            minutes = max(1, math.ceil((max(times) - self._sent_ts[i]) / 60)) if times else 1
            out.append(RequestRecord(rid, int(self._id_send[i]), int(self._campaign[i]),
                                     datetime.fromtimestamp(float(self._sent_ts[i]), UTC),
                                     int(self._recipients[i]), minutes))
        return out

    def demo_request_ids(self) -> list[int]:
        """All request ids, ascending."""
        return sorted(self._request_ids.tolist())

    # ------------------------------------------------------------- campaigns and reports

    def campaigns(self) -> list[dict]:
        """The campaign list, as ``mailkit.campaigns.list`` documents it."""
        out = []
        for k, (cid, name) in enumerate(sorted(self._names.items())):
            own = self._sent_ts[self._campaign == cid]
            first, last = (("", "") if not own.size else
                           (self._stamp(own.min()), self._stamp(own.max())))
            out.append(campaign_record(cid, name, self._subjects[cid], first, last, 20000 + k))
        return out

    @staticmethod
    def _stamp(ts: float) -> str:
        return datetime.fromtimestamp(float(ts), PRAGUE).strftime(DATE_FORMAT)

    def _listed(self, now: datetime | None, first: date | None, last: date | None) -> pd.DataFrame:
        sends = self._sends
        day = sends["send_date"].str.slice(0, 10)
        keep = pd.Series(True, index=sends.index)
        if now is not None:
            keep &= sends["send_date"] <= now.astimezone(PRAGUE).strftime(DATE_FORMAT)
        if first is not None:
            keep &= day >= first.isoformat()
        if last is not None:
            keep &= day <= last.isoformat()
        return sends[keep].sort_values("send_date", kind="stable")

    def report_campaign(self, id_message: int, now: datetime | None = None,
                        range_from: date | None = None, range_to: date | None = None) -> list[dict]:
        """The sends of one campaign, as ``mailkit.report.campaign`` documents them.

        Raises
        ------
        KeyError
            No such campaign.
        """
        cid = int(id_message)
        if cid not in self._names:
            raise KeyError(id_message)
        listed = self._listed(now, range_from, range_to)
        listed = listed[listed["campaign_id"] == cid]
        return [send_record(int(sid), row.send_date, row.send_date, self._subjects[cid],
                            int(row.send_count), int(row.delivered_count))
                for sid, row in zip(listed.index, listed.itertuples())]

    def report_message(self, id_send: int, now: datetime | None = None) -> dict:
        """One send, as ``mailkit.report.message`` describes it.

        Raises
        ------
        KeyError
            No such send (by ``now``).
        """
        sid = int(id_send)
        if sid not in self._sends.index:
            raise KeyError(id_send)
        row = self._sends.loc[sid]
        if now is not None and row["send_date"] > now.astimezone(PRAGUE).strftime(DATE_FORMAT):
            raise KeyError(id_send)
        size, delivered = int(row["send_count"]), int(row["delivered_count"])
        return {"SEND_COUNT": size, "FAILED_COUNT": size - delivered, "DELIVERED_COUNT": delivered,
                "SEND_DATE": row["send_date"], "SUBJECT": self._subjects[int(row["campaign_id"])], "UTM": ""}

    def report(self, range_from: date | None, range_to: date | None, now: datetime | None = None) -> list[dict]:
        """Per-campaign totals of the sends in a range, as ``mailkit.report`` gives them."""
        listed = self._listed(now, range_from, range_to)
        totals = listed.groupby("campaign_id")[["send_count", "delivered_count"]].sum()
        return [{"ID_MESSAGE": int(cid), "NAME": self._names.get(int(cid), ""), "SEND_COUNT": int(row.send_count),
                 "DELIVERED_COUNT": int(row.delivered_count)} for cid, row in zip(totals.index, totals.itertuples())]
