"""The report command's process does not compile the IRI grammar jsonschema never needs here.

``jsonschema`` builds a lark parser for the ``iri`` format on import when ``rfc3987-syntax`` is
installed (JupyterLab brings it): over a second of every report. The command marks it absent;
the notebooks still validate against nbformat's schema, and a Python user's own process is
left alone.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

from mailkit_analysis.presentation.report import find_notebook


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


def test_the_report_process_validates_notebooks_without_the_iri_grammar():
    notebook = find_notebook("01")
    done = _run(f"""
        import sys
        from mailkit_analysis.presentation.report import skip_unused_schema_formats
        skip_unused_schema_formats()
        import nbformat
        nb = nbformat.read({str(notebook)!r}, as_version=4)
        nbformat.validate(nb)
        broken = nbformat.from_dict(nb)
        broken.cells[0]["cell_type"] = "slide"
        try:
            nbformat.validate(broken)
        except nbformat.ValidationError:
            print("invalid notebook refused")
        print("lark" in sys.modules, "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is not None)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["invalid notebook refused", "False False"]


def test_a_python_users_process_is_left_as_it_is():
    done = _run("""
        import sys
        import mailkit_analysis.presentation.report
        print(sys.modules.get("rfc3987_syntax", "absent") is None)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
