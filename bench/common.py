"""What the bench scripts share: running a step in a fresh process, inputs, the table.

Timings on a shared machine are noisy, so every line of the table measures the naive way
and the toolkit's way in the same run, alternating (naive, toolkit, naive, toolkit, ...),
and reports the median of each.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = HERE / "steps.py"


@dataclass
class Measured:
    """The runs of one way of doing a step."""

    label: str
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        return max(self.peak_mb)


def run_step(name: str, *args, timeout: float = 3600) -> dict:
    """Run one step of ``steps.py`` in a fresh interpreter; returns its JSON line."""
    done = subprocess.run(
        [sys.executable, str(STEPS), name, *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"step {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(label: str, name: str, *args, into: Measured | None = None) -> Measured:
    result = run_step(name, *args)
    into = into or Measured(label)
    into.seconds.append(result["seconds"])
    into.peak_mb.append(max(result["peak_mb"], result.get("children_peak_mb") or 0.0))
    into.note = result["note"]
    return into


def interleaved(naive: tuple, toolkit: tuple, repeat: int) -> tuple[Measured, Measured]:
    """``naive``/``toolkit`` are ``(label, step name, *args)``; run them alternately."""
    first, second = Measured(naive[0]), Measured(toolkit[0])
    for _ in range(repeat):
        measure(naive[0], *naive[1:], into=first)
        measure(toolkit[0], *toolkit[1:], into=second)
    return first, second


# --------------------------------------------------------------------------- the table

@dataclass
class Line:
    """One line of the table: a task, the naive way, the toolkit's way (either may be absent)."""

    task: str
    naive: Measured | None
    toolkit: Measured | None
    comment: str = ""


def machine() -> str:
    import duckdb
    import pandas
    import pyarrow

    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, pandas {pandas.__version__}, "
        f"pyarrow {pyarrow.__version__}, duckdb {duckdb.__version__}"
    )


def format_table(lines: list[Line], title: str) -> str:
    header = ("task", "naive way", "s", "peak MB", "toolkit way", "s", "peak MB", "speed-up")
    rows = [header]
    for line in lines:
        naive, toolkit = line.naive, line.toolkit
        ratio = f"{naive.median / toolkit.median:.1f}x" if naive and toolkit and toolkit.median > 0 else "-"
        rows.append((
            line.task,
            naive.label if naive else "-",
            f"{naive.median:.2f}" if naive else "-",
            f"{naive.peak:.0f}" if naive else "-",
            toolkit.label if toolkit else line.comment,
            f"{toolkit.median:.2f}" if toolkit else "-",
            f"{toolkit.peak:.0f}" if toolkit else "-",
            ratio,
        ))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    numeric = {2, 3, 5, 6, 7}
    out = [title, ""]
    for k, row in enumerate(rows):
        cells = [str(c).rjust(w) if i in numeric else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [f"  {line.task}: {line.toolkit.note if line.toolkit else line.comment}" for line in lines]
    out += ["", "seconds: median of the runs; peak MB: largest peak RSS of a run (fresh process each)", *notes]
    return "\n".join(out)


# --------------------------------------------------------------------------- inputs

def prepare_bodies(folder: Path, rows: int) -> tuple[Path, Path]:
    """A ``results`` answer of ``rows`` simulator rows, as Mailkit's JSON and XML-RPC."""
    import json as json_module

    from mailkit_analysis.simulator import SimulatedAccount
    from mailkit_analysis.simulator.xmlrpc_api import dump_response

    # About 7 rows per request today; the model's rates change, so grow the account until
    # it holds enough rows rather than trusting one ratio.
    n_requests = max(100, rows // 10)
    while True:
        account = SimulatedAccount(seed=1, n_requests=n_requests)
        picked: list[dict] = []
        for found in account.all_rows().values():
            picked.extend(found)
            if len(picked) >= rows:
                break
        if len(picked) >= rows:
            break
        if n_requests >= 100 * max(100, rows // 10):
            raise RuntimeError("the simulator account is too small for that many rows")
        n_requests *= 2
    picked = picked[:rows]
    order = ("ID_SEND_MESSAGE", "ID_SEND", "ID_EMAIL", "DATE", "EMAIL", "ERROR_CODE", "INFO")  # Mailkit's page
    folder.mkdir(parents=True, exist_ok=True)
    json_path, xml_path = folder / "answer.json", folder / "answer.xml"
    json_rows = [{key: row[key] for key in order} for row in picked]
    json_path.write_bytes(
        json_module.dumps({"error_status": 1, "status": "ERROR", "results": json_rows}, ensure_ascii=False).encode("utf-8")
    )
    xml_path.write_bytes(dump_response({"status": "ERROR", "results": picked}))
    return json_path, xml_path


def prepare_cache(folder: Path, rows: int) -> Path:
    """A generated cache of ``rows`` rows (reused when the folder already holds one)."""
    from mailkit_analysis.cache import cache_info
    from mailkit_analysis.simulator.generate import generate_cache

    if (folder / "cache" / "requests.parquet").exists() and cache_info(folder).rows == rows:
        return folder
    made = generate_cache(folder, rows, seed=0)
    print(f"  generated {made}", file=sys.stderr)
    return folder


def size_label(rows: int) -> str:
    return f"{rows / 1e6:g}M" if rows >= 1_000_000 else f"{rows / 1e3:g}k"


# --------------------------------------------------------------------------- a canned answer

class _CannedAnswer:
    """A loopback HTTP server answering every POST with one prepared body (JSON or XML-RPC)."""

    def __init__(self, json_body: Path, xml_body: Path):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        bodies = {"/json.fcgi": (json_body.read_bytes(), "application/json"),
                  "/rpc.fcgi": (xml_body.read_bytes(), "text/xml")}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body, kind = bodies[self.path]
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        port = self.server.server_address[1]
        self.json_url, self.rpc_url = f"http://127.0.0.1:{port}/json.fcgi", f"http://127.0.0.1:{port}/rpc.fcgi"
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def canned_answer(json_body: Path, xml_body: Path) -> _CannedAnswer:
    """``with canned_answer(json, xml) as server:`` serves them at ``server.json_url`` / ``rpc_url``."""
    return _CannedAnswer(json_body, xml_body)
