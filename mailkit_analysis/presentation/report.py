"""Render a notebook of ``notebooks/`` as one self-contained HTML report to share.

:func:`render_report` executes the notebook with papermill (always the ``python3`` kernel,
in a temporary working directory, the data folder passed as an absolute path), cleans the
executed notebook and converts it with nbconvert's ``HTMLExporter`` into one HTML file:
charts inline as ``data:`` URIs, no code, no prompts, no scripts from the web.

What a report holds, and what it never holds:

* It shows the notebook's markdown, tables and charts, under a title with the date window
  and the time it was made, in one language (``lang``): the title, the sentences around the
  content and every table and chart speak it, and of the Markdown cells tagged by language
  (``lang-en``, ``lang-cs``) only those of that language are kept; untagged cells are kept in
  every language. Recipient addresses are masked in the frame before anything is
  displayed (``j***@gmail.com``) unless ``mask_emails=False``; the file name then says
  ``unmasked``.
* It never reads credentials: the kernel runs without ``MAILKIT_CLIENT_*`` in its
  environment and in a working directory without a ``.env``, so neither the API ID nor the
  MD5 code can reach it.
* The executed notebook is cleaned before conversion: the parameters cells (they hold the
  data folder's path), notebook and cell metadata, widget state, stderr streams and every
  alternative representation of an output that the HTML would not show (``text/plain``,
  ``application/vnd...``) are dropped, so nothing hidden travels in the HTML source.
* A failing cell raises :class:`ReportError` naming the notebook and the cell; no HTML with
  a traceback is written. A masked report in which an address-like text slipped through
  is refused the same way.
"""
from __future__ import annotations

import datetime as dt
import html as html_lib
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from .. import __version__
from ..atomic import SHARED_MODE, write_text_atomic
from ..errors import MailkitError
from ..prague_time import PRAGUE, window_bounds
from ..i18n import format_datetime, gettext as _, language, ngettext, resolve_language
from ..paths import project_root, resolve_data_dir

__all__ = ["ReportError", "DEFAULT_NOTEBOOK", "notebooks_dir", "list_notebooks", "find_notebook",
           "render_report"]

#: The notebook ``mailkit-analysis report`` renders when none is named.
DEFAULT_NOTEBOOK = "01_error_overview"
#: Cells with one of these tags never reach a report.
SKIPPED_TAGS = frozenset({"parameters", "injected-parameters", "lab-only"})
#: A Markdown cell tagged ``lang-<code>`` is in that language; a report keeps only its own.
LANGUAGE_TAG_PREFIX = "lang-"
#: Kept per output, richest first; every other representation is dropped.
SHOWN_MIME_TYPES = ("text/html", "image/png", "text/markdown", "text/plain")
#: Environment variables the kernel must not see.
SECRET_ENV = ("MAILKIT_CLIENT_ID", "MAILKIT_CLIENT_MD5")
KERNEL_NAME = "python3"


class ReportError(MailkitError):
    """A report could not be rendered: a notebook cell failed, or the notebook was not found.

    Attributes
    ----------
    notebook : str
        The notebook's file name.
    cell : int or None
        Number of the failing cell in the notebook as committed (1-based), when a cell failed.
    ename, evalue : str or None
        The exception the cell raised.
    """

    def __init__(self, message: str, *, notebook: str, cell: int | None = None,
                 ename: str | None = None, evalue: str | None = None):
        self.notebook, self.cell, self.ename, self.evalue = notebook, cell, ename, evalue
        super().__init__(message)


# --------------------------------------------------------------------------- finding notebooks

def notebooks_dir() -> Path:
    """The ``notebooks/`` folder of the project checkout the package runs from.

    Raises
    ------
    ReportError
        When the package is not installed from a checkout (pass a notebook path instead).
    """
    root = project_root()
    folder = root / "notebooks" if root is not None else None
    if folder is None or not folder.is_dir():
        raise ReportError(
            "The notebooks/ folder was not found: reports need the project checkout (or pass the "
            "path of a .ipynb file as the notebook).",
            notebook=DEFAULT_NOTEBOOK,
        )
    return folder


def list_notebooks() -> list[str]:
    """Names (without ``.ipynb``) of the notebooks in :func:`notebooks_dir`."""
    return sorted(p.stem for p in notebooks_dir().glob("*.ipynb") if not p.name.startswith("."))


def find_notebook(name: str | os.PathLike) -> Path:
    """Resolve a notebook: an existing ``.ipynb`` path, a name in ``notebooks/`` (with or
    without ``.ipynb``), or an unambiguous part of one (``"overview"``, ``"03"``).

    Raises
    ------
    ReportError
        No notebook, or several, match (the message lists the available ones).
    """
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path.resolve()
    text = path.name.removesuffix(".ipynb")
    available = list_notebooks()
    if text in available:
        return notebooks_dir() / f"{text}.ipynb"
    matches = [n for n in available if text.lower() in n.lower()]
    if len(matches) == 1:
        return notebooks_dir() / f"{matches[0]}.ipynb"
    problem = "matches several notebooks" if matches else "is not a notebook"
    raise ReportError(f"{str(name)!r} {problem}; available: {', '.join(available)}", notebook=str(name))


# --------------------------------------------------------------------------- naming

def _slug(notebook: Path) -> str:
    """``01_error_overview`` -> ``error-overview``."""
    return re.sub(r"^\d+[_-]+", "", notebook.stem).replace("_", "-").lower() or notebook.stem


def default_output(notebook: Path, made: pd.Timestamp, masked: bool = True) -> Path:
    """``reports/error-overview_2026-11-27T0105.html`` under the project (or the working
    directory when the package is not run from a checkout)."""
    root = project_root() or Path.cwd()
    suffix = "" if masked else "_unmasked"
    return root / "reports" / f"{_slug(notebook)}_{made.strftime('%Y-%m-%dT%H%M')}{suffix}.html"


def _title(nb, notebook: Path, lang: str) -> str:
    """The notebook's title in ``lang``: its ``mailkit_report.title`` metadata through the
    catalogue, else its first heading in that language."""
    meta = nb.metadata.get("mailkit_report", {})
    if meta.get("title"):
        return _(str(meta["title"]))
    for cell in nb.cells:
        if cell.cell_type == "markdown" and _in_language(cell, lang):
            match = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if match:
                return match.group(1).strip()
    return _slug(notebook).replace("-", " ").capitalize()


def _in_language(cell, lang: str) -> bool:
    """Whether ``cell`` belongs in a report in ``lang``: untagged cells belong in every one."""
    tagged = {t[len(LANGUAGE_TAG_PREFIX):] for t in cell.metadata.get("tags", [])
              if t.startswith(LANGUAGE_TAG_PREFIX)}
    return not tagged or lang in tagged


def _window_text(since, until, data_dir: Path) -> str:
    """The window in the language in force, open bounds filled from the cache."""
    from ..cache import cache_info
    from .notebook_helpers import describe_window

    since_ts, until_ts = window_bounds(since, until)
    first = last = None
    if since_ts is None or until_ts is None:
        info = cache_info(data_dir)
        first = pd.Timestamp(info.first_date) if info.first_date else None
        last = pd.Timestamp(info.last_date) if info.last_date else None
    return describe_window(since_ts, until_ts, first, last)


def _as_parameter(value):
    """Window bounds as text for papermill (it passes str, numbers, lists and None)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- executing

#: Longest socket path a kernel may be given (Unix sockets allow about 104 to 108 bytes).
_MAX_SOCKET_PATH = 90


def _kernel_manager_class(socket_dir: str | None = None):
    """An AsyncKernelManager whose kernels never see the Mailkit credentials.

    With ``socket_dir`` (on POSIX, where the path is short enough for a Unix socket) the
    kernel talks over sockets in that folder instead of TCP ports on loopback: kernels
    started at the same moment (reports rendered in parallel, a cron job beside a user)
    picked the same free port now and then, and one died with "Address already in use".
    """
    from jupyter_client import AsyncKernelManager

    use_ipc = (socket_dir is not None and os.name == "posix"
               and len(os.path.join(socket_dir, "kernel-65535")) <= _MAX_SOCKET_PATH)

    class CredentialFreeKernelManager(AsyncKernelManager):
        def __init__(self, *args, **kwargs):
            if use_ipc:
                kwargs.setdefault("transport", "ipc")
                kwargs.setdefault("ip", os.path.join(socket_dir, "kernel"))
            super().__init__(*args, **kwargs)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            env = dict(kw.get("env") or os.environ)
            for name in SECRET_ENV:
                env.pop(name, None)
            kw["env"] = env
            return await super()._async_launch_kernel(kernel_cmd, **kw)

        async def _async_interrupt_kernel(self):
            # jupyter_client interrupts a kernel before asking it to shut down; the kernel of a
            # finished notebook is idle, and the SIGINT only makes it log "KeyboardInterrupt
            # caught in kernel" into the report's output. A shutdown needs no interrupt.
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return CredentialFreeKernelManager


def _cell_number(source, index: int) -> int:
    """1-based number, in the notebook as committed, of cell ``index`` of the executed one.

    papermill inserts its injected-parameters cell right after the ``parameters`` cell (at
    the top when there is none); cells after it moved down by one.
    """
    tags = [c.metadata.get("tags", []) for c in source.cells]
    params = next((i for i, t in enumerate(tags) if "parameters" in t), None)
    injected_at = params + 1 if params is not None else 0
    return index if index > injected_at else index + 1


def _execute(notebook: Path, parameters: dict, progress: bool):
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = nbformat.read(notebook, as_version=4)
    with tempfile.TemporaryDirectory(prefix="mailkit-report-") as cwd:
        try:
            # The notebook's own kernelspec is ignored: "python3" is the kernel of the
            # environment the toolkit is installed in (make venv registers it). The kernel
            # starts in the empty temporary folder (no .env to find there); giving it that
            # folder through nbclient's resources, rather than papermill's cwd=, leaves this
            # process's working directory alone, so reports can render in parallel threads.
            return papermill.execute_notebook(
                source, None, parameters=parameters, kernel_name=KERNEL_NAME, language="python",
                progress_bar=progress, log_output=False, request_save_on_cell_execute=False,
                resources={"metadata": {"path": cwd}},
                kernel_manager_class=_kernel_manager_class(cwd),
                # The kernel's own start-up warnings (plain TCP on loopback) are noise here.
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
            )
        except PapermillExecutionError as exc:
            number = _cell_number(source, exc.cell_index)  # papermill counts its injected cell too
            first_line = next((l for l in str(exc.source).splitlines() if l.strip()), "").strip()
            hint = ""
            if exc.ename in ("ModuleNotFoundError", "ImportError") and "mailkit_analysis" in str(exc.evalue):
                hint = (" The python3 kernel runs another Python than this toolkit's: register this "
                        "environment's kernel with `python -m ipykernel install --sys-prefix --name python3`.")
            raise ReportError(
                f"Notebook {notebook.name}: cell {number} ({first_line[:60]}) failed with "
                f"{exc.ename}: {exc.evalue}.{hint}",
                notebook=notebook.name, cell=number, ename=exc.ename, evalue=exc.evalue,
            ) from None
        except Exception as exc:  # no kernel, a dead kernel, a timeout: all mean "no report"
            if isinstance(exc, MailkitError):
                raise
            raise ReportError(f"Notebook {notebook.name} could not be executed: {type(exc).__name__}: {exc}",
                              notebook=notebook.name) from None


# --------------------------------------------------------------------------- cleaning

def _clean(nb, title: str, header: str, footer: str, lang: str):
    """Keep only what the report shows (see the module docstring)."""
    import nbformat
    from nbformat.v4 import new_markdown_cell

    cells = []
    for cell in nb.cells:
        if SKIPPED_TAGS & set(cell.metadata.get("tags", [])) or not _in_language(cell, lang):
            continue
        cell.metadata = {}
        if cell.cell_type == "code":
            cell.execution_count = None
            cell.outputs = [o for o in (_clean_output(o) for o in cell.outputs) if o is not None]
            # The source never reaches the HTML (exclude_input), and is dropped all the same.
            cell.source = ""
        elif cell.cell_type == "raw":
            continue
        cell.pop("attachments", None)
        cells.append(cell)
    nb.cells = [new_markdown_cell(header), *cells, new_markdown_cell(footer)]
    for number, cell in enumerate(nb.cells):
        cell.id = f"cell-{number}"
    nb.metadata = nbformat.NotebookNode({"title": title, "language_info": {"name": "python"}})
    return nb


def _clean_output(output):
    kind = output.get("output_type")
    if kind == "stream":
        # stderr holds warnings with machine paths; stdout is a print the notebook meant.
        return output if output.get("name") == "stdout" else None
    if kind not in ("display_data", "execute_result"):
        return None
    data = output.get("data", {})
    shown = next((m for m in SHOWN_MIME_TYPES if m in data), None)
    if shown is None:
        return None
    metadata = output.get("metadata", {}).get(shown, {})
    keep = {k: v for k, v in metadata.items() if k in ("width", "height", "alt")} if shown == "image/png" else {}
    output["data"] = {shown: data[shown]}
    output["metadata"] = {shown: keep} if keep else {}
    if kind == "execute_result":
        output["execution_count"] = None
    return output


# --------------------------------------------------------------------------- converting

_TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{% block html_head_js %}{% endblock html_head_js %}
{% block html_head_js_mathjax %}{% endblock html_head_js_mathjax %}
{% block html_head_js_mermaidjs %}{% endblock html_head_js_mermaidjs %}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{% block extra_css %}
<meta name="generator" content="mailkit-analysis">
<style type="text/css">
%CSS%
</style>
{% endblock extra_css %}
{% block markdowncell scoped %}
<div class="jp-Cell jp-MarkdownCell jp-Notebook-cell">
<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-MarkdownOutput" data-mime-type="text/markdown">
{{ cell.source | markdown2html | strip_files_prefix }}
</div>
</div>
{%- endblock markdowncell %}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
{%- set width = output | get_metadata('width', 'image/png') -%}
{%- if width is not none %} width="{{ width | escape_html }}"{% endif -%}
{%- set height = output | get_metadata('height', 'image/png') -%}
{%- if height is not none %} height="{{ height | escape_html }}"{% endif %}
 alt="{{ ((output | get_metadata('alt', 'image/png')) or 'chart') | escape_html }}">
</div>
{%- endblock data_png %}
"""

_CSS = """
body.jp-Notebook { background: #ffffff; color: #1f2328; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 36px 56px; }
.jp-Notebook-cell { padding: 0 !important; }
.jp-MarkdownCell { display: block; }
.jp-MarkdownCell > .jp-RenderedMarkdown, .jp-OutputArea-output { display: block; width: 100%;
  box-sizing: border-box; padding-left: 0 !important; padding-right: 0 !important; }
.jp-Cell { margin: 0 0 4px 0; }
.jp-RenderedHTMLCommon { padding-right: 0; font-size: 14px; line-height: 1.5; }
.jp-RenderedMarkdown h1 { font-size: 28px; margin: 0 0 6px 0; padding-bottom: 8px;
  border-bottom: 3px solid #b2182b; }
.jp-RenderedMarkdown h2 { font-size: 20px; margin-top: 34px; padding-bottom: 4px;
  border-bottom: 1px solid #d0d7de; }
.jp-RenderedMarkdown p { max-width: 60em; }
.mk-subtitle, .jp-RenderedMarkdown p.mk-subtitle { color: #57606a; font-size: 14px; }
.jp-RenderedHTMLCommon table { font-size: 13px; table-layout: auto; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { max-width: 42em; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
.jp-RenderedImage { margin: 4px 0 18px 0; }
.jp-OutputPrompt, .jp-InputPrompt { display: none; }
footer.mk-footer, .mk-footer { color: #57606a; font-size: 12px; }
"""


def _exporter(lang: str):
    import jinja2
    from nbconvert import HTMLExporter

    template = _TEMPLATE.replace("%CSS%", _CSS)
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"mailkit_report.html.j2": template})],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        anchor_link_text="",
        language_code=lang,  # <html lang="cs">: hyphenation, spelling and screen readers
    )
    exporter.template_file = "mailkit_report.html.j2"
    return exporter


# An "@" with something other than the "***" of a masked local part right before it, in the
# visible text: the mark of an address that escaped masking.
_UNMASKED = re.compile(r"(?<!\*\*\*)(?<=[^\s>\"'(\[;,:@])@(?=[^\s<@])")
_INVISIBLE = re.compile(r"<style\b.*?</style>|<script\b.*?</script>|data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+",
                        re.S | re.I)


_IMG_SRC = re.compile(r'<img ((?:[a-z-]+="[^"]*"\s*)*?)src="(data:image/png;base64,[^"]*)"\s*')


def _src_first(markup: str) -> str:
    """``<img src="data:image/png;base64,..." alt=... height=...>``: nbconvert's HTML pass sorts
    attributes alphabetically; the source first keeps inline charts easy to find in the file."""
    return _IMG_SRC.sub(lambda m: f'<img src="{m.group(2)}" {m.group(1)}'.rstrip() + " ", markup)


def _assert_masked(markup: str, notebook: Path) -> None:
    visible = _INVISIBLE.sub(" ", markup)
    if _UNMASKED.search(visible):
        # The address itself is not repeated: the error may end up in a log.
        raise ReportError(
            f"Notebook {notebook.name}: the report would show an unmasked address-like text; it was "
            "not written. Display addresses only from the masked window (notebook_helpers.load_window).",
            notebook=notebook.name,
        )



def _chrome(title: str, window: str, campaigns: list[int] | None, made: pd.Timestamp, notebook: Path,
            masked: bool) -> tuple[str, str, str]:
    """The report's header, footer and ``<title>``, in the language in force."""
    made_text = format_datetime(made)
    masking = (_("recipient addresses masked") if masked
               else "<strong>" + html_lib.escape(_("recipient addresses in full: do not share")) + "</strong>")
    scope = ""
    if campaigns is not None:
        scope = " · " + ngettext("campaign {ids}", "campaigns {ids}", len(campaigns)).format(
            ids=", ".join(str(c) for c in campaigns))
    made_words = _("made {time}").format(time=made_text)
    header = (f"# {html_lib.escape(title)}\n\n"
              f'<p class="mk-subtitle">{html_lib.escape(window)}{html_lib.escape(scope)} · '
              f"{html_lib.escape(made_words)} · {masking}</p>")
    holds = (_("The report holds the tables and charts above and nothing else: no code, no credentials, "
               "no full recipient addresses.") if masked
             else _("The report holds the tables and charts above and nothing else: no code, no credentials; "
                    "but it shows FULL RECIPIENT ADDRESSES: do not share it."))
    made_by = _("Made by mailkit-analysis {version} from {notebook} at {time} (Europe/Prague).").format(
        version=__version__, notebook=notebook.name, time=made_text)
    footer = f'<p class="mk-footer">{html_lib.escape(made_by)} {html_lib.escape(holds)}</p>'
    return header, footer, f"{title} · {window} · {made_words}"


# --------------------------------------------------------------------------- public

def skip_unused_schema_formats() -> None:
    """Keep this process's ``jsonschema`` from compiling an IRI grammar it never uses.

    nbformat imports ``jsonschema``, which, when ``rfc3987-syntax`` is installed (JupyterLab
    brings it), builds a lark parser for the ``iri`` format at import time: over a second of
    every report. The notebook schemas use no ``format`` keyword, so a command process that
    only renders reports marks that optional module as absent (``jsonschema`` then leaves the
    ``iri`` format unchecked, as it does whenever the module is not installed). Only the
    command line calls this; a Python user's process is left as it is.
    """
    import sys

    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


def render_report(
    notebook: str | os.PathLike = DEFAULT_NOTEBOOK,
    *,
    data_dir: str | os.PathLike | None = None,
    since=None,
    until=None,
    campaigns: Iterable[int] | None = None,
    mask_emails: bool = True,
    output: str | os.PathLike | None = None,
    parameters: Mapping[str, object] | None = None,
    progress: bool = True,
    lang: str | None = None,
) -> Path:
    """Execute a notebook and write it as one self-contained HTML report.

    Parameters
    ----------
    notebook : str or path, default "01_error_overview"
        A notebook of ``notebooks/`` (``"01_error_overview"``, ``"02_campaign_drilldown"``,
        ``"03_recipient_quality"``, or an unambiguous part such as ``"overview"``), or the
        path of a ``.ipynb`` file.
    data_dir : path, optional
        Data folder of the cache (default: the project's ``data/``); passed to the notebook
        as an absolute path.
    since, until : str, date or datetime, optional
        The date window (``until`` as a bare date includes that day; Prague time).
    campaigns : iterable of int, optional
        Only these campaigns (notebook 02: the campaign to drill into).
    mask_emails : bool, default True
        Mask recipient addresses (``j***@gmail.com``). False shows them in full and adds
        ``_unmasked`` to the default file name: such a report must not be shared.
    output : path, optional
        Where to write; default ``reports/<name>_<YYYY-MM-DDTHHMM>.html`` of the project.
    parameters : mapping, optional
        Further notebook parameters, e.g. ``{"id_send": 53377}`` for notebook 02.
    progress : bool, default True
        Show papermill's progress bar on stderr.
    lang : {"en", "cs"}, optional
        The report's language: its title, headings, sentences, tables and charts, numbers and
        dates. Default: ``$MAILKIT_ANALYSIS_LANG``, else English. Values programs read (the
        ``severity`` of a flag, column names of exports) stay as they are.

    Returns
    -------
    Path
        The written report.

    Raises
    ------
    ReportError
        The notebook was not found, a cell failed (the message names the notebook and the
        cell), or an address-like text escaped masking.
    ValueError
        ``since``/``until`` is not a date, or ``lang`` is not a language the toolkit speaks
        (:class:`~mailkit_analysis.i18n.UnknownLanguageError`).
    """
    import nbformat


    lang = resolve_language(lang)
    path = find_notebook(notebook)
    window_bounds(since, until)  # a bad date fails here, not in cell 3
    data = resolve_data_dir(data_dir)
    made = pd.Timestamp.now(tz=PRAGUE)
    values = {
        "data_dir": str(data),
        "since": _as_parameter(since),
        "until": _as_parameter(until),
        "campaigns": None if campaigns is None else [int(c) for c in campaigns],
        "mask_emails": bool(mask_emails),
        "lang": lang,
        **dict(parameters or {}),
    }
    executed = _execute(path, values, progress)
    with language(lang):
        title = _title(nbformat.read(path, as_version=4), path, lang)
        header, footer, head_title = _chrome(title, _window_text(since, until, data), values["campaigns"],
                                             made, path, bool(mask_emails))
    cleaned = _clean(executed, head_title, header, footer, lang)
    markup = _exporter(lang).from_notebook_node(cleaned)[0]
    markup = _src_first(markup)
    if mask_emails:
        _assert_masked(markup, path)
    target = Path(output).expanduser() if output is not None else default_output(path, made, bool(mask_emails))
    write_text_atomic(markup, target.resolve(), mode=SHARED_MODE)  # a report is made to be read
    return target.resolve()
