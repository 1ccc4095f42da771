"""Recording request ids at send time: ``record_request`` and ``mailkit-analysis manifest add``.

No Mailkit function lists past ``sendmail_mass`` requests, so the application that sends
must keep each id. It appends one line per request to ``cache/recorded-requests.csv`` (the
manifest's columns), under a lock of its own so that many processes can append at once
without losing or interleaving a line, and without waiting for a fetch that holds the cache
lock.

The next fetch (or any command that changes the cache) moves the recorded lines into the
request state, under the cache lock: the file is first renamed aside (so appends go on into
a fresh file meanwhile), merged, and deleted once the state that holds it is committed. A
kill in between leaves the renamed file, which the next merge reads again; merging twice is
harmless. Until then readers see recorded requests as followed and never fetched.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

from filelock import FileLock

from ..atomic import replace_file
from ..paths import CachePaths
from .manifest import ManifestError

__all__ = ["record_request", "RECORDED_NAME", "recorded_files", "claim_recorded", "read_recorded"]

RECORDED_NAME = "recorded-requests.csv"
_MERGING = "recorded-requests.merging-"
_COLUMNS = ("request_id", "id_send", "campaign_id", "sent_at", "recipients")


def _whole(name: str, value, *, minimum: int) -> str:
    if value is None or value == "":
        if name == "request_id":
            raise ManifestError("request_id is required", source="record_request", column=name)
        return ""
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ManifestError(f"{value!r} is not a whole number", source="record_request", column=name) from None
    if number < minimum:
        raise ManifestError(f"{number} must be {'positive' if minimum else '≥ 0'}", source="record_request", column=name)
    return str(number)


def _instant(value) -> str:
    """ISO 8601 in UTC; naive times are Prague time (Mailkit's own); default: now."""
    if value is None or value == "":
        stamp = dt.datetime.now(dt.timezone.utc)
    elif isinstance(value, dt.datetime):
        stamp = value
    else:
        try:
            stamp = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ManifestError(f"{str(value)[:40]!r} is not an ISO 8601 date/time", source="record_request",
                                column="sent_at") from None
    if stamp.tzinfo is None:
        # Naive = Prague wall time, by the one rule for ambiguous and skipped hours (imported
        # here: a sending application that records ids pays for pandas only when it passes one).
        from ..prague_time import to_prague

        stamp = to_prague(stamp).to_pydatetime()
    return stamp.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def record_request(
    request_id: int,
    *,
    id_send: int | None = None,
    campaign_id: int | None = None,
    sent_at: dt.datetime | str | None = None,
    recipients: int | None = None,
    data_dir: str | os.PathLike | None = None,
) -> None:
    """Record one ``sendmail_mass`` request, so that the next fetch follows it.

    Safe to call from many processes at once; returns once the line is on disk.

    Parameters
    ----------
    request_id : int
        The id ``mailkit.sendmail_mass`` returned.
    id_send, campaign_id : int, optional
        The send it created and the campaign (``ID_MESSAGE``) used.
    sent_at : datetime or str, optional
        When ``sendmail_mass`` was called (default: now); naive times are Prague time.
    recipients : int, optional
        How many recipients the request carried (the denominator of error rates).
    data_dir : path, optional
        Data folder (default: :func:`mailkit_analysis.paths.default_data_dir`).

    Raises
    ------
    ManifestError
        A value that is not a positive whole number or not a time.

    Examples
    --------
    >>> answer = client.call("mailkit.sendmail_mass", ...)             # doctest: +SKIP
    >>> record_request(answer["data"], id_send=..., recipients=len(batch))  # doctest: +SKIP
    """
    values = (
        _whole("request_id", request_id, minimum=1),
        _whole("id_send", id_send, minimum=1),
        _whole("campaign_id", campaign_id, minimum=1),
        _instant(sent_at),
        _whole("recipients", recipients, minimum=0),
    )
    paths = CachePaths.under(data_dir)
    paths.root.mkdir(parents=True, exist_ok=True)
    target = paths.root / RECORDED_NAME
    with FileLock(str(paths.root / ".recorded.lock")):
        new = not target.exists() or target.stat().st_size == 0
        line = ("" if not new else ",".join(_COLUMNS) + "\n") + ",".join(values) + "\n"
        # One write of one short line, appended and flushed before the lock is released.
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def recorded_files(paths: CachePaths) -> list[Path]:
    """Recorded-request files not merged yet: set aside by an interrupted merge, then current."""
    if not paths.root.is_dir():
        return []
    files = sorted(paths.root.glob(f"{_MERGING}*.csv"))
    current = paths.root / RECORDED_NAME
    return files + ([current] if current.is_file() else [])


def claim_recorded(paths: CachePaths) -> list[Path]:
    """Set the current recorded lines aside for merging; returns every file to merge.

    Call it holding the cache lock; delete the returned files once the merged state is
    committed.
    """
    current = paths.root / RECORDED_NAME
    if current.is_file():
        with FileLock(str(paths.root / ".recorded.lock")):
            if current.is_file():
                replace_file(current, paths.root / f"{_MERGING}{uuid.uuid4().hex[:8]}.csv")
    return recorded_files(paths)


def read_recorded(files: list[Path], *, quarantine: Path | None = None):
    """The recorded requests of ``files`` as one manifest frame (None when there are none).

    A request recorded twice keeps the first known value of each column (a retried send
    records the same id again, a little later). A file that cannot be read is skipped with
    a warning, or moved to ``quarantine`` when given (only while holding the cache lock).
    """
    import logging
    import shutil

    import pandas as pd

    from .manifest import normalise_manifest

    frames = []
    for path in files:
        try:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False)
            raw = raw.replace("", None)
            if "request_id" in raw.columns:
                raw = raw.groupby("request_id", sort=False, as_index=False, dropna=False).first()
            frames.append(normalise_manifest(raw, source=str(path), line_offset=2))
        except (ManifestError, ValueError, OSError, pd.errors.ParserError) as exc:
            logging.getLogger(__name__).warning("recorded requests in %s cannot be used: %s", path.name, exc)
            if quarantine is not None:
                quarantine.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), quarantine / path.name)
    if not frames:
        return None
    combined = pd.concat(frames, ignore_index=True)
    merged = combined.groupby("request_id", sort=False, as_index=False).first()
    return merged.astype(combined.dtypes.to_dict())[list(combined.columns)]
