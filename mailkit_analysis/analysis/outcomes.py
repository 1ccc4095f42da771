"""What became of a send's recipients, beside its error rows: delivered, failed, and how much
of the failure the error rows explain.

Mailkit's reports give a send's size (``SEND_COUNT``), its delivered count and, from
``mailkit.report.message``, its failed count; the cache keeps them in the sends table.
``sendmail_mass.results`` rows are only the failures Mailkit reports per recipient (bounces,
for one, are not among them), so the share of a send's failures its error rows account for
tells whether the rows tell the whole story.
"""
from __future__ import annotations

import pandas as pd

__all__ = ["send_outcomes"]


def send_outcomes(table: pd.DataFrame, sends: pd.DataFrame | None, *, errors: str = "errors") -> pd.DataFrame:
    """Add a send's delivered and failed counts, and the share of its failures its errors explain.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per send (or per request): ``id_send`` and a count of error rows (``errors``,
        as :func:`~mailkit_analysis.analysis.summaries.by_send` gives; ``rows`` in a
        window's sends).
    sends : pandas.DataFrame or None
        The sends table (:func:`~mailkit_analysis.cache.load_sends`): ``id_send``,
        ``send_count``, ``delivered_count``, ``failed_count``.
    errors : str
        The column of ``table`` that counts error rows.

    Returns
    -------
    pandas.DataFrame
        ``table`` with ``delivered`` (Int64), ``failed`` (Int64: ``failed_count``, else the
        send's size less its delivered count) and ``explained`` (Float64 in 0..1: error
        rows ÷ failed; <NA> where the counts are unknown or nothing failed).
    """
    out = table.copy()
    by_send = _counts(sends)
    keys = out["id_send"].astype("Int64")
    delivered = keys.map(by_send["delivered_count"]).astype("Int64")
    failed = keys.map(by_send["failed_count"]).astype("Int64")
    size = keys.map(by_send["send_count"]).astype("Int64")
    failed = failed.fillna(size - delivered).astype("Int64")
    failed = failed.where(failed >= 0).astype("Int64")  # more delivered than sent: unknown, not negative
    out["delivered"] = delivered.to_numpy()
    out["failed"] = failed.to_numpy()
    rows = pd.to_numeric(out[errors], errors="coerce").astype("Float64")
    share = (rows / failed.astype("Float64").where(failed > 0)).clip(upper=1.0)
    out["explained"] = share.astype("Float64").to_numpy()
    return out


def _counts(sends: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["send_count", "delivered_count", "failed_count"]
    if sends is None or not len(sends):
        return pd.DataFrame({c: pd.array([], dtype="Int64") for c in columns}, index=pd.Index([], dtype="Int64"))
    frame = sends.dropna(subset=["id_send"]).drop_duplicates("id_send", keep="last")
    return pd.DataFrame(
        {c: (frame[c] if c in frame else pd.Series(pd.NA, index=frame.index)).astype("Int64").to_numpy() for c in columns},
        index=pd.Index(frame["id_send"].astype("Int64")),
    )
