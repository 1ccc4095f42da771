"""The rows a window reads, as DuckDB relations: the cache's parquet files or a user's frame.

Every table of :class:`~mailkit_analysis.analysis.window.Window` is one SQL query over the
relations made here, so the same definition runs over a cache of a hundred million rows
(DuckDB scans only the needed columns of the needed ``month=`` partitions) and over a
results frame a Python user hands in (DuckDB over the frame as an in-memory arrow table).

Three relations are offered on one connection:

``rows(...)``
    The result rows of a window: ``since <= date < until`` (the window prunes whole month
    partitions, then filters ``date``), optional campaigns, send and codes, with
    ``campaign_id``/``campaign_name`` filled like :func:`~mailkit_analysis.cache.load_results`
    fills them (stored ids, else the send's or the request's campaign from the cache's
    tables).
``mk_sends``
    One row per send enrichment knows: ``id_send``, ``campaign_id``, ``send_count``
    (Mailkit's SEND_COUNT) and ``sent`` (its send date, Prague, zone-aware).
``mk_requests``
    One row per request of the manifest: ``request_id``, ``id_send``, ``campaign_id``,
    ``sent_at``, ``recipients``, ``status``, ``final``.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Iterable

import duckdb
import pandas as pd
import pyarrow as pa

from ..cache.load import _months_between
from ..cache.lock import reading
from ..cache.schema import CAMPAIGNS_SCHEMA, REQUESTS_SCHEMA, SENDS_SCHEMA
from ..cache.store import ResultsStore
from ..cache.tables import table_problem
from ..frame import RESULTS_SCHEMA
from ..masking import RECIPIENT_KEY
from ..paths import CachePaths
from ..prague_time import PRAGUE_DTYPE, PRAGUE_NAME, sql_assume_prague, sql_assume_prague_per_hour, to_prague_times

__all__ = ["DUCKDB_THREADS", "DUCKDB_MEMORY_LIMIT", "LOOKUPS", "ProcessMemo", "Source", "prague", "sql_ints", "sql_time"]

log = logging.getLogger(__name__)

#: Threads per DuckDB connection: all cores up to four (a notebook shares the machine).
DUCKDB_THREADS = max(1, min(4, os.cpu_count() or 1))
#: DuckDB's own memory cap per connection: its aggregations spill to disk beyond it, so a
#: window's answers stay within a laptop's memory however many rows the cache holds.
DUCKDB_MEMORY_LIMIT = "512MB"

# Mailkit's SEND_DATE is Prague wall time: read by prague_time's one rule.
_SEND_WALL = "try_strptime(send_date, '%Y-%m-%d %H:%M:%S')"
_SEND_DATE = sql_assume_prague(_SEND_WALL)
# How materialize() reads a whole lookup where reading it row by row costs more: the sends'
# Prague rule once per wall hour, not per send (1.7M sends: 0.6 s -> 0.3 s).
_WHOLE_LOOKUP = {"mk_sends": sql_assume_prague_per_hour("mk_sends_wall", "sent_wall",
                                                        ["id_send", "campaign_id", "send_count"], "sent")}
# Columns a rows relation can offer, with their SQL types (for an empty relation).
_ROW_TYPES = {
    "request_id": "BIGINT", "id_send": "BIGINT", "id_send_message": "BIGINT", "id_email": "BIGINT",
    "email": "VARCHAR", "error_code": "BIGINT", "error_name": "VARCHAR", "info": "VARCHAR",
    "date": "TIMESTAMPTZ", "fetched_at": "TIMESTAMPTZ", "campaign_id": "BIGINT", "campaign_name": "VARCHAR",
}


def sql_ints(values: Iterable[int]) -> str:
    """A SQL list of whole numbers (``NULL`` when empty, which matches nothing)."""
    return ", ".join(str(int(v)) for v in sorted({int(v) for v in values})) or "NULL"


def sql_time(stamp: pd.Timestamp) -> str:
    """A zone-aware timestamp as a SQL ``TIMESTAMPTZ`` literal."""
    return f"'{stamp.isoformat()}'::TIMESTAMPTZ"


def _quote(path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class ProcessMemo:
    """Arrow answers a process keeps while the cache files they came from are unchanged.

    A notebook asks several questions that need the same intermediate answer (the sends and
    requests lookups, the recipients sent per send), and computing it is seconds on a large
    account. Each entry is stored with the fingerprint of the files it was read from (see
    :func:`_fingerprint`) and used again only while the fingerprint is the same; the oldest
    entries are dropped past ``entries`` or ``limit_bytes``, and an answer larger than
    ``limit_bytes`` is not kept at all (it is computed again per question instead).
    """

    def __init__(self, entries: int, limit_bytes: int):
        self.entries, self.limit_bytes = entries, limit_bytes
        self._kept: dict = {}

    def get(self, key, mark: tuple) -> pa.Table | None:
        kept = self._kept.get(key)
        if kept is None or kept[0] != mark:
            return None
        self._kept[key] = self._kept.pop(key)  # most recently used last
        return kept[1]

    def put(self, key, mark: tuple, table: pa.Table) -> None:
        self._kept.pop(key, None)
        if table.nbytes > self.limit_bytes:
            return
        self._kept[key] = (mark, table)
        while len(self._kept) > self.entries or sum(t.nbytes for _, t in self._kept.values()) > self.limit_bytes:
            self._kept.pop(next(iter(self._kept)))

    def clear(self) -> None:
        self._kept.clear()


#: The lookups (``mk_sends``, ``mk_requests``) of the latest cache read: about 3M sends or
#: requests fit; beyond that they are read again per question instead of held.
LOOKUPS = ProcessMemo(entries=2, limit_bytes=256 * 1024 * 1024)


def _fingerprint(files: list[Path]) -> tuple:
    """What identifies the content of ``files``: a part is written once under a new name, and
    a base file is replaced by a rename (a new inode), so path, inode, size and mtime suffice."""
    marks = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            marks.append((str(path), None))
            continue
        marks.append((str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns))
    return tuple(marks)


# {(fingerprint of a base file, key): whether it holds one row per key}.
_UNIQUE_KEYS: dict[tuple, bool] = {}


def _strictly_increasing(path: Path, key: str) -> bool | None:
    """True when the non-null ``key`` values of ``path`` are strictly increasing (so each is
    there once), None when they are not or the column cannot be read (then counted in SQL).

    The toolkit writes each base sorted by key, so one read of the key column and one
    comparison answer "one row per key?" in milliseconds, where DuckDB's distinct count
    hashed every key in each new process (half a second on 1.7 million sends).
    """
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        column = pq.read_table(path, columns=[key]).column(key)
    except (OSError, KeyError, pa.ArrowException) as exc:
        log.debug("%s: %s", path, str(exc)[:120])
        return None
    if not pa.types.is_integer(column.type):
        return None
    values = pc.drop_null(column).to_numpy()
    return True if bool(np.all(values[1:] > values[:-1])) else None


# {fingerprint of one results part: whether all its rows carry both campaign columns}.
_COMPLETE_PARTS: dict[tuple, bool] = {}


def _campaigns_complete(path: Path) -> bool:
    """Whether the parquet statistics of ``path`` show no missing ``campaign_id`` or
    ``campaign_name`` (False when a row group has no statistics or the file lacks a column).

    Read from the footer only, and kept per file version: a generated or backfilled cache
    stores both on every row, a fetched one fills them from the lookups.
    """
    import pyarrow.parquet as pq

    mark = _fingerprint([path])
    known = _COMPLETE_PARTS.get(mark)
    if known is not None:
        return known
    complete = False
    try:
        meta = pq.read_metadata(path)
        names = [meta.schema.column(i).path for i in range(meta.num_columns)]
        wanted = [names.index(c) for c in ("campaign_id", "campaign_name") if c in names]
        if len(wanted) == 2:
            complete = all(
                (stats := meta.row_group(g).column(i).statistics) is not None
                and stats.has_null_count and stats.null_count == 0
                for g in range(meta.num_row_groups) for i in wanted
            )
    except (OSError, ValueError, pa.ArrowException):
        complete = False  # the query will read the file and say what is wrong with it
    if len(_COMPLETE_PARTS) > 10_000:
        _COMPLETE_PARTS.clear()
    _COMPLETE_PARTS[mark] = complete
    return complete


#: Row numbers of one part stay below this; a part's rows rank after every earlier part's.
_PART_STRIDE = 1 << 40


def _parts_relation(files: list[Path]) -> str:
    """The rows of ``files`` (base first, then updates) as one relation whose
    ``file_row_number`` orders them by part, then by row: the last is the latest."""
    parts = [
        f"(SELECT * EXCLUDE (file_row_number), file_row_number + {i * _PART_STRIDE} AS file_row_number "
        f"FROM read_parquet({_quote(path)}, file_row_number = true))"
        for i, path in enumerate(files)
    ]
    # BY NAME: a part of an older schema version lacks columns added since (read as nulls).
    return "(" + " UNION ALL BY NAME ".join(parts) + ") AS cache_parts"


def _last_rows(key: str, columns: dict[str, str]) -> str:
    """One row per ``key``: the values (``{name: SQL expression}``) of its latest row, whole."""
    packed = ", ".join(f"{name} := {expr}" for name, expr in columns.items())
    picked = ", ".join(f"latest.{name} AS {name}" for name in columns)
    return (f"SELECT {key}, {picked} FROM (SELECT {key}, arg_max(struct_pack({packed}), file_row_number) AS latest "
            f"FROM {{file}} WHERE {key} IS NOT NULL GROUP BY {key})")


def _and(conditions: list[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def prague(values) -> pd.Series:
    """DuckDB timestamps (zone-aware, any zone) as Prague datetimes in microseconds."""
    values = pd.Series(values)
    if not isinstance(values.dtype, pd.DatetimeTZDtype):
        values = pd.to_datetime(values, utc=True)
    return to_prague_times(values).astype(PRAGUE_DTYPE)


class Source:
    """Where a window's rows come from, opened as DuckDB relations on one connection.

    Parameters
    ----------
    data_dir : path, optional
        Data folder of the cache (default: :func:`mailkit_analysis.paths.default_data_dir`).
    frame : pandas.DataFrame, optional
        A results frame to read instead of the cache's results (its campaign columns are
        taken as they are).
    sends, requests : pandas.DataFrame, optional
        With ``frame``: the sends (``id_send``, ``send_count``, optionally ``campaign_id``,
        ``send_date``) and requests (``request_id``, ``recipients``, optionally ``id_send``,
        ``campaign_id``, ``sent_at``, ``status``, ``final``) that give rates their
        denominators. Without ``frame`` the cache's own tables are read.

    Use as a context manager: ``with Source(...) as source: source.query(sql)``.
    """

    def __init__(self, data_dir=None, *, frame: pd.DataFrame | None = None, sends=None, requests=None):
        self.frame = frame
        self.paths = None if frame is not None else CachePaths.under(data_dir)
        self._sends, self._requests = sends, requests
        self.con: duckdb.DuckDBPyConnection | None = None
        self._months: dict[str, list[Path]] = {}
        self._lookup_files: dict[str, list[Path]] = {}
        self._reading = None

    @property
    def recipient_column(self) -> str:
        """The column that says who a row is about: a masked frame's ``recipient_key``
        (:func:`~mailkit_analysis.masking.mask_frame`: one mask may stand for several
        recipients), else ``email``."""
        if self.frame is not None and RECIPIENT_KEY in self.frame.columns:
            return RECIPIENT_KEY
        return "email"

    # ----------------------------------------------------------------------- connection
    def __enter__(self) -> "Source":
        # Reading the cache holds its lock until __exit__: no compaction removes a part
        # DuckDB reads, and no fetch batch is seen half applied.
        self._reading = reading(self.paths) if self.paths is not None else None
        if self._reading is not None:
            self._reading.__enter__()
        try:
            self._open()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _open(self) -> None:
        self.con = duckdb.connect(
            database=":memory:",
            config={
                "threads": DUCKDB_THREADS,
                "memory_limit": DUCKDB_MEMORY_LIMIT,
                "preserve_insertion_order": False,
                "temp_directory": os.path.join(tempfile.gettempdir(), "mailkit-analysis-duckdb"),
            },
        )
        # Times leave DuckDB zone-aware and are converted to Prague in pandas; an implicit
        # cast (a bare date in SQL) should mean Prague, as everywhere in the toolkit.
        self.con.execute(f"SET TimeZone = '{PRAGUE_NAME}'")
        # DuckDB's progress bar would be printed into command output. Inside a Jupyter kernel
        # without ipywidgets DuckDB refuses to change the setting (it shows no bar there).
        try:
            self.con.execute("SET enable_progress_bar = false")
        except duckdb.InvalidInputException:
            pass
        if self.frame is not None:
            self._register_frame()
        else:
            self._register_cache()

    def __exit__(self, *exc) -> None:
        try:
            if self.con is not None:
                self.con.close()
            self.con = None
        finally:
            if self._reading is not None:
                self._reading.__exit__(*exc)
                self._reading = None

    def materialize(self, *names: str) -> None:
        """Read the named lookup views (``mk_sends``, ``mk_requests``) once into tables, for a
        question that joins them several times.

        The process keeps what it read (:data:`LOOKUPS`): the next question on
        the same cache uses it as long as the lookup's files are unchanged. The cache's lock is
        held meanwhile, so the files checked are the files read.
        """
        if self.frame is not None:
            return  # a user's tables are tables already
        for name in names:
            mark = _fingerprint(self._lookup_files.get(name, []))
            table = LOOKUPS.get(name, mark)
            if table is None:
                table = self.arrow(_WHOLE_LOOKUP.get(name, f"SELECT * FROM {name}"))
                LOOKUPS.put(name, mark, table)
            self.con.register(f"{name}_read", table)
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {name}_read")

    def fingerprint(self) -> tuple | None:
        """What identifies the cache's content as this source reads it (every results part,
        lookup and campaign file); None for a user's frame, whose content is not tracked."""
        if self.frame is not None:
            return None
        files = [p for paths in self._months.values() for p in paths]
        files += [p for paths in self._lookup_files.values() for p in paths] + [self.paths.campaigns]
        return _fingerprint(files)

    def arrow(self, sql: str) -> pa.Table:
        """Run ``sql`` and return its answer as an arrow table."""
        relation = self.con.sql(sql)
        fetch = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table  # DuckDB 2 / 1
        return fetch()

    def query(self, sql: str) -> pd.DataFrame:
        """Run ``sql`` and return its (small) answer; integers as ``Int64``."""
        return self.arrow(sql).to_pandas(types_mapper=lambda t: pd.Int64Dtype() if pa.types.is_integer(t) else None)

    # ----------------------------------------------------------------------- the rows
    def rows(
        self,
        columns: Iterable[str],
        *,
        since: pd.Timestamp | None = None,
        until: pd.Timestamp | None = None,
        campaigns: Iterable[int] | None = None,
        id_send: int | None = None,
        codes: Iterable[int] | None = None,
    ) -> str:
        """A SQL relation (parenthesised) of the window's rows with ``columns``.

        ``campaign_id``/``campaign_name`` are filled when asked for or when ``campaigns``
        filters on them; a date window never holds rows without a date.
        """
        columns = list(dict.fromkeys(columns))
        unknown = [c for c in columns if c not in _ROW_TYPES and not (c == RECIPIENT_KEY and self.recipient_column == c)]
        if unknown:
            raise ValueError(f"no result column(s) {unknown}")
        where = []
        if since is not None:
            where.append(f"date >= {sql_time(since)}")
        if until is not None:
            where.append(f"date < {sql_time(until)}")
        if codes is not None:
            where.append(f"error_code IN ({sql_ints(codes)})")
        if id_send is not None:
            where.append(f"id_send = {int(id_send)}")
        wanted = None if campaigns is None else sql_ints(campaigns)
        listed = ", ".join(columns)
        if self.frame is not None:
            if wanted is not None:
                where.append(f"campaign_id IN ({wanted})")
            return f"(SELECT {listed} FROM mk_frame{_and(where)})"
        scan = self._scan(since, until)
        if scan is None:
            nothing = ", ".join(f"NULL::{_ROW_TYPES[c]} AS {c}" for c in columns)
            return f"(SELECT {nothing} WHERE false)"
        if wanted is None and not {"campaign_id", "campaign_name"} & set(columns):
            return f"(SELECT {listed} FROM {scan}{_and(where)})"
        if self._campaigns_stored(since, until):
            # Every row carries both campaign columns (the parts' statistics say so): the join
            # with the lookups below would find nothing to fill, yet build its tables.
            if wanted is not None:
                where.append(f"campaign_id IN ({wanted})")
            return f"(SELECT {listed} FROM {scan}{_and(where)})"
        # Rows that carry both campaign columns need no lookup (every row of a generated or
        # backfilled cache); only the others are joined with the enrichment tables.
        stored = where + ["campaign_id IS NOT NULL", "campaign_name IS NOT NULL"]
        if wanted is not None:
            stored.append(f"campaign_id IN ({wanted})")
        missing = where + ["(campaign_id IS NULL OR campaign_name IS NULL)"]
        plain = [c for c in columns if c not in ("campaign_id", "campaign_name")]
        r_cols = "".join(f"r.{c}, " for c in plain)
        f_cols = "".join(f"f.{c}, " for c in plain)
        filled = (
            f"SELECT {r_cols}r.campaign_name AS stored_name, "
            "coalesce(r.campaign_id, s.campaign_id, q.campaign_id) AS campaign_id "
            f"FROM (SELECT * FROM {scan}{_and(missing)}) r "
            "LEFT JOIN mk_send_campaigns s ON s.id_send = r.id_send "
            "LEFT JOIN mk_request_campaigns q ON q.request_id = r.request_id"
        )
        named = (
            f"SELECT {f_cols}f.campaign_id, coalesce(f.stored_name, n.campaign_name) AS campaign_name "
            f"FROM ({filled}) f LEFT JOIN mk_campaign_names n ON n.campaign_id = f.campaign_id"
            + (f" WHERE f.campaign_id IN ({wanted})" if wanted is not None else "")
        )
        both = plain + ["campaign_id", "campaign_name"]
        return (
            f"(SELECT {listed} FROM (SELECT {', '.join(both)} FROM {scan}{_and(stored)} "
            f"UNION ALL {named}))"
        )

    def _files(self, since, until) -> list[Path]:
        """The results parts of the month partitions the window can touch."""
        months = self._months
        if since is not None or until is not None:
            months = {m: months[m] for m in _months_between(since, until, months)}
        return [p for paths in months.values() for p in paths]

    def _campaigns_stored(self, since, until) -> bool:
        """Whether every row the window can touch has ``campaign_id`` and ``campaign_name``."""
        return all(_campaigns_complete(path) for path in self._files(since, until))

    def _scan(self, since, until) -> str | None:
        """``read_parquet`` over the month partitions the window can touch."""
        files = [str(p) for p in self._files(since, until)]
        if not files:
            return None
        listed = ", ".join(_quote(f) for f in files)
        return f"read_parquet([{listed}], hive_partitioning = true, union_by_name = true)"

    # ----------------------------------------------------------------------- registering
    def _register_cache(self) -> None:
        from ..cache.keyed import requests_table, sends_table

        store = ResultsStore(self.paths)
        self._months = {}
        for part in store.usable_parts():
            self._months.setdefault(part.month, []).append(part.path)
        for problem in store.problems:
            log.warning("skipping %s: %s (the next fetch re-fetches what it held)", problem.path, problem.reason)
        # The sends and the request state are a base file plus update parts (cache.keyed):
        # every part is read, and rows are ordered by part, then by row within it.
        sends, requests = sends_table(self.paths).files(), requests_table(self.paths).files()
        self._lookup_files = {"mk_sends": sends, "mk_requests": requests}
        # The lookups load_results fills campaigns from, read by DuckDB straight from the
        # small tables' files: the last row per key with a value wins, like the dicts
        # Enrichment builds; a missing or unusable file is an empty table.
        self._table("mk_send_campaigns", sends, SENDS_SCHEMA,
                    "SELECT id_send, arg_max(campaign_id, file_row_number) AS campaign_id FROM {file} "
                    "WHERE id_send IS NOT NULL AND campaign_id IS NOT NULL GROUP BY id_send",
                    "NULL::BIGINT AS id_send, NULL::BIGINT AS campaign_id")
        self._table("mk_request_campaigns", requests, REQUESTS_SCHEMA,
                    "SELECT request_id, arg_max(campaign_id, file_row_number) AS campaign_id FROM {file} "
                    "WHERE request_id IS NOT NULL AND campaign_id IS NOT NULL GROUP BY request_id",
                    "NULL::BIGINT AS request_id, NULL::BIGINT AS campaign_id")
        self._table("mk_campaign_names", [self.paths.campaigns], CAMPAIGNS_SCHEMA,
                    "SELECT campaign_id, arg_max(campaign_name, file_row_number) AS campaign_name FROM {file} "
                    "WHERE campaign_id IS NOT NULL AND campaign_name IS NOT NULL GROUP BY campaign_id",
                    "NULL::BIGINT AS campaign_id, NULL::VARCHAR AS campaign_name")
        # One row per send and per request: the last row written of each, whole (an update
        # part holds whole rows, so a value it leaves empty is empty, not the older one).
        # The sends keep their wall time (mk_sends_wall); mk_sends gives it its zone per row,
        # and materialize(), which reads every send, once per hour (_WHOLE_LOOKUP).
        send_columns = {"campaign_id": "campaign_id", "send_count": "send_count", "sent_wall": _SEND_WALL}
        request_columns = {c: c for c in ("id_send", "campaign_id", "sent_at", "recipients", "status", "final")}
        bases = {"mk_sends": sends_table(self.paths).base, "mk_requests": requests_table(self.paths).base}
        self._table("mk_sends_wall", sends, SENDS_SCHEMA,
                    self._lookup_sql(sends, SENDS_SCHEMA, bases["mk_sends"], "id_send", send_columns),
                    "NULL::BIGINT AS id_send, NULL::BIGINT AS campaign_id, NULL::BIGINT AS send_count, "
                    "NULL::TIMESTAMP AS sent_wall")
        self.con.execute(f"CREATE TEMP VIEW mk_sends AS SELECT id_send, campaign_id, send_count, "
                         f"{sql_assume_prague('sent_wall')} AS sent FROM mk_sends_wall")
        self._table("mk_requests", requests, REQUESTS_SCHEMA,
                    self._lookup_sql(requests, REQUESTS_SCHEMA, bases["mk_requests"], "request_id",
                                     request_columns),
                    "NULL::BIGINT AS request_id, NULL::BIGINT AS id_send, NULL::BIGINT AS campaign_id, "
                    "NULL::TIMESTAMPTZ AS sent_at, NULL::BIGINT AS recipients, NULL::VARCHAR AS status, "
                    "NULL::BOOLEAN AS final")

    def _lookup_sql(self, files: list[Path], schema: pa.Schema, base: Path, key: str, columns: dict[str, str]) -> str:
        """The query (over ``{file}``, all parts) of one row per ``key``: its latest row's ``columns``.

        The latest row of each key is a grouping of every row, seconds on millions of sends.
        A base file with one row per key (compaction writes it so; checked once per version
        of the file, since an older cache may not) needs it only for the keys the update parts
        hold: the base's other rows are read as they are.
        """
        grouped = _last_rows(key, columns)
        usable = [path for path in files if path.is_file() and table_problem(path, schema) is None]
        if not usable or usable[0] != base or not self._one_row_per_key(base, key):
            return grouped
        exprs = ", ".join(f"{expr} AS {column}" for column, expr in columns.items())
        plain = f"SELECT {key}, {exprs} FROM read_parquet({_quote(base)}) WHERE {key} IS NOT NULL"
        updates = usable[1:]
        if updates:
            changed = _parts_relation(updates)
            plain = (f"SELECT * FROM ({plain}) ANTI JOIN (SELECT DISTINCT {key} FROM {changed}) USING ({key}) "
                     f"UNION ALL BY NAME {grouped.format(file=changed)}")
        # Names its files itself: braces in a path must survive _table's format().
        return plain.replace("{", "{{").replace("}", "}}")

    def _one_row_per_key(self, path: Path, key: str) -> bool:
        mark = (_fingerprint([path]), key)
        known = _UNIQUE_KEYS.get(mark)
        if known is None:
            known = _strictly_increasing(path, key)
        if known is None:
            try:
                known = bool(self.con.sql(f"SELECT count({key}) = count(DISTINCT {key}) FROM "
                                          f"read_parquet({_quote(path)})").fetchall()[0][0])
            except duckdb.Error as exc:  # an older schema, say: the grouped reading copes with it
                log.debug("%s: %s", path, str(exc)[:120])
                known = False
            if len(_UNIQUE_KEYS) > 1000:
                _UNIQUE_KEYS.clear()
            _UNIQUE_KEYS[mark] = known
        return known

    def _table(self, name: str, files: list[Path], schema: pa.Schema, query: str, empty: str) -> None:
        empty_query = f"SELECT {empty} WHERE false"
        sql = empty_query
        usable = [path for path in files if path.is_file() and table_problem(path, schema) is None]
        if usable:
            sql = query.format(file=_parts_relation(usable))
        # A view, not a table: on a cache of millions of sends, reading the sends and requests
        # tables takes seconds, and most questions (counts by code, over time, by domain)
        # never touch them. A file whose data fails further in than its footer makes the
        # first query that reads it fail, which is the answer the user needs to hear of.
        try:
            self.con.execute(f"CREATE TEMP VIEW {name} AS {sql}")
        except duckdb.Error as exc:  # passed the footer check, failed at binding
            log.warning("cache file %s cannot be used: %s", usable[0] if usable else name, str(exc)[:120])
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {empty_query}")

    def _register_frame(self) -> None:
        frame = self.frame
        data = {}
        for name, field in zip(RESULTS_SCHEMA.names, RESULTS_SCHEMA):
            if name in frame.columns:
                data[name] = pa.array(frame[name], type=field.type, from_pandas=True)
            else:
                data[name] = pa.nulls(len(frame), type=field.type)
        # A masked frame's recipient key tells the recipients behind one mask apart: the
        # per-recipient tables group by it where the frame has it (see recipient_column).
        if RECIPIENT_KEY in frame.columns:
            data[RECIPIENT_KEY] = pa.array(frame[RECIPIENT_KEY].astype("string"), type=pa.string(), from_pandas=True)
        self.con.register("mk_frame", pa.table(data))
        self._register_small("mk_sends", self._sends, {
            "id_send": "BIGINT", "campaign_id": "BIGINT", "send_count": "BIGINT", "send_date": "VARCHAR"})
        self._register_small("mk_requests", self._requests, {
            "request_id": "BIGINT", "id_send": "BIGINT", "campaign_id": "BIGINT", "sent_at": "TIMESTAMPTZ",
            "recipients": "BIGINT", "status": "VARCHAR", "final": "BOOLEAN"})
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE mk_sends AS SELECT id_send, campaign_id, send_count, "
            f"{_SEND_DATE} AS sent FROM mk_sends_given"
        )
        self.con.execute("CREATE OR REPLACE TEMP TABLE mk_requests AS SELECT * FROM mk_requests_given")

    def _register_small(self, name: str, table, types: dict[str, str]) -> None:
        """A user's sends or requests table with the columns ``types`` names (missing ones null)."""
        given = f"{name}_given"
        if table is None or len(table) == 0:
            nulls = ", ".join(f"NULL::{t} AS {c}" for c, t in types.items())
            self.con.execute(f"CREATE TEMP TABLE {given} AS SELECT {nulls} WHERE false")
            return
        table = pd.DataFrame(table).copy()
        if "send_date" in types and "send_date" in table and not pd.api.types.is_string_dtype(table["send_date"]):
            table["send_date"] = pd.to_datetime(table["send_date"]).dt.strftime("%Y-%m-%d %H:%M:%S")
        present = {c: t for c, t in types.items() if c in table.columns}
        self.con.register(f"{name}_user", table[list(present)])
        listed = ", ".join(
            f"CAST({c} AS {t}) AS {c}" if c in present else f"NULL::{t} AS {c}" for c, t in types.items()
        )
        self.con.execute(f"CREATE TEMP TABLE {given} AS SELECT {listed} FROM {name}_user")
