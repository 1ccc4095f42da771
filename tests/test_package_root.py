"""The package root: the user's path only, listed in the README, and light to import."""
from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mailkit_analysis

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("duckdb", "matplotlib", "papermill", "nbconvert")


def _readme_root_names() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^### The package root\n(.*?)^#", text, flags=re.S | re.M)
    assert section, "README.md has no '### The package root' section"
    return re.findall(r"^- `([A-Za-z_][A-Za-z0-9_]*)`: \S", section.group(1), flags=re.M)


def test_readme_lists_exactly_the_root_names():
    listed = _readme_root_names()
    assert len(listed) == len(set(listed)), "a name is listed twice"
    assert listed == list(mailkit_analysis.__all__)


def test_root_is_small():
    assert len(mailkit_analysis.__all__) <= 22


@pytest.mark.parametrize("name", [n for n in mailkit_analysis.__all__ if n != "__version__"])
def test_every_root_name_resolves_to_its_module_object(name):
    value = getattr(mailkit_analysis, name)
    home = importlib.import_module(value.__module__)
    assert getattr(home, name) is value
    assert name in dir(mailkit_analysis)


def test_other_names_are_not_in_the_root():
    for name in ("build_results_frame", "mask_email", "by_campaign", "CATALOGUE", "parse_results_answer"):
        with pytest.raises(AttributeError, match=name):
            getattr(mailkit_analysis, name)


@pytest.mark.parametrize(
    "statement",
    [
        "import mailkit_analysis",
        "from mailkit_analysis import fetch_results, MailkitClient",
        "import mailkit_analysis.cli",
    ],
)
def test_importing_the_root_stays_light(statement):
    code = f"import sys\n{statement}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"{statement!r} imported {done.stdout.strip()}"


def test_a_lazy_name_loads_its_module_on_first_use():
    code = ("import sys\nimport mailkit_analysis\n"
            "print('mailkit_analysis.presentation.report' in sys.modules)\n"
            "mailkit_analysis.render_report\n"
            "print('mailkit_analysis.presentation.report' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]


def test_the_fetch_command_stays_light(tmp_path):
    """A cron job that only fetches loads neither DuckDB, matplotlib nor the report tools."""
    from simhelpers import ANCHOR

    from mailkit_analysis.simulator import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_MD5, MailkitSimulator, SimulatedAccount

    account = SimulatedAccount(seed=0, anchor=ANCHOR)
    request_id = next(iter(account.setup_failures()))
    code = (
        "import sys\nfrom mailkit_analysis.cli import main\n"
        f"status = main(sys.argv[1:])\n"
        f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
        "sys.exit(status)"
    )
    env = {"MAILKIT_CLIENT_ID": str(DEFAULT_CLIENT_ID), "MAILKIT_CLIENT_MD5": DEFAULT_CLIENT_MD5,
           "PATH": "/usr/bin:/bin"}
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim:
        done = subprocess.run(
            [sys.executable, "-c", code, "fetch", "--url", sim.json_url, "--data-dir", str(tmp_path),
             "--request-id", str(request_id)],
            capture_output=True, text=True, timeout=120, env=env,
        )
    assert done.returncode == 0, done.stderr
    assert "error rows in 1 request" in done.stdout  # it did fetch
    assert done.stdout.strip().splitlines()[-1] == "HEAVY:"
