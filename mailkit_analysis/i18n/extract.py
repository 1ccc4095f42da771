"""Find every text marked for translation, for the catalogue's upkeep and its tests.

Marked texts are the literal arguments of ``_``/``gettext``, ``N_``, ``ngettext`` (singular and
plural), ``pgettext`` and ``NC_`` (context and text) in the package's modules and in the code
cells of the notebooks, plus each notebook's ``mailkit_report.title``. A notebook's Markdown is
not in the catalogue: it carries its languages itself, in cells tagged ``lang-en``, ``lang-cs``.

``scripts/update_catalogue.py`` merges what this finds into each language's ``.po`` file.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

__all__ = ["KEYWORDS", "extract_template"]

#: Babel's keyword specification of the marking functions.
KEYWORDS = {
    "_": None,
    "gettext": None,
    "N_": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "NC_": ((1, "c"), 2),
}
_COMMENT_TAGS = ("Translators:",)


def _python_messages(source: str, where: str):
    from babel.messages.extract import extract

    for lineno, message, comments, context in extract("python", io.BytesIO(source.encode("utf-8")),
                                                      keywords=KEYWORDS, comment_tags=_COMMENT_TAGS):
        yield message, context, (where, lineno), comments


def _notebook_messages(path: Path, where: str):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    title = notebook.get("metadata", {}).get("mailkit_report", {}).get("title")
    if title:
        yield title, None, (where, 0), ["The title of a report."]
    for number, cell in enumerate(notebook.get("cells", []), 1):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", []))
        # IPython magics (%matplotlib inline) are not Python.
        source = "\n".join("" if line.lstrip().startswith("%") else line for line in source.splitlines())
        yield from _python_messages(source, f"{where}#cell{number}")


def extract_template(package_dir: Path, notebooks_dir: Path | None = None):
    """A Babel ``Catalog`` of every marked text (no translations): the catalogues' template.

    Parameters
    ----------
    package_dir : path
        The ``mailkit_analysis`` package folder.
    notebooks_dir : path, optional
        The ``notebooks/`` folder of a checkout.
    """
    from babel.messages.catalog import Catalog

    from .catalogue import DOMAIN

    template = Catalog(project="mailkit-analysis", domain=DOMAIN, fuzzy=False)
    root = Path(package_dir).parent
    sources = []
    for path in sorted(Path(package_dir).rglob("*.py")):
        where = path.relative_to(root).as_posix()
        sources.append(_python_messages(path.read_text(encoding="utf-8"), where))
    if notebooks_dir is not None:
        for path in sorted(Path(notebooks_dir).glob("*.ipynb")):
            sources.append(_notebook_messages(path, path.relative_to(root).as_posix()))
    for messages in sources:
        for message, context, location, comments in messages:
            if isinstance(message, tuple):
                if any(part is None for part in message[:2]):
                    continue  # a call with a variable, not a literal: nothing to translate
                message = message[:2]
            elif message is None:
                continue
            existing = template.get(message if isinstance(message, str) else message[0], context)
            if existing is not None:
                existing.locations.append(location)
                existing.auto_comments.extend(c for c in comments if c not in existing.auto_comments)
            else:
                template.add(message, locations=[location], auto_comments=comments, context=context)
    return template
