"""The notebooks as a user opens them: JupyterLab in a real browser, every cell run.

JupyterLab is started headless on a free loopback port (token auth, ``--allow-root`` when
running as root, as in every container and CI) over a temporary folder holding *copies* of
the notebooks, so autosave never writes outputs into the committed ones. Its kernels read a
cache filled from the built-in simulator (``MAILKIT_ANALYSIS_DATA``). Debian's Chromium,
driven by Selenium through the system ``chromedriver``, opens each notebook, runs all cells
from the Run menu and waits for the kernel to go idle; the test then wants every code cell
executed, a rendered HTML table and no error output.

Without Chromium, chromedriver, Selenium or JupyterLab the browser tests skip, except under
CI (``CI=true``), where they fail: CI installs all of them (``.ci/run``, ``make test``).
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import requests
from simhelpers import ANCHOR, sim_client

from mailkit_analysis.demo import simulator_manifest
from mailkit_analysis.simulator import MailkitSimulator, SimulatedAccount
from mailkit_analysis.sync.fetch import fetch_results

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ("01_error_overview", "02_campaign_drilldown", "03_recipient_quality")
CHROMIUM = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver", "chromedriver")
#: Headless, sandbox-less (root cannot use Chromium's sandbox), offline and quiet.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
SERVER_START_S = 60
PAGE_LOAD_S = 45
RUN_ALL_S = 75
#: JupyterLab settings of the test server: every cell attached to the page (so the test sees
#: all of them), no news or update checks (no network).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}
_PROMPT = re.compile(r"^\[(\d+|\*| )\]:$")


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _missing(what: str) -> None:
    """Skip (fail under CI) because ``what`` is not installed."""
    message = f"{what} is not installed (CI installs it: .ci/run and make test)"
    if _under_ci():
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


def _first_executable(candidates: tuple[str, ...]) -> str | None:
    for candidate in candidates:
        found = candidate if Path(candidate).is_file() and os.access(candidate, os.X_OK) else shutil.which(candidate)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Tools:
    chromium: str
    chromedriver: str


@dataclass
class Lab:
    """A running JupyterLab server."""

    url: str
    token: str
    root: Path
    log: Path

    def api(self, method: str, path: str) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", headers={"Authorization": f"token {self.token}"},
                                timeout=10)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def tools() -> Tools:
    """Chromium, chromedriver, Selenium and JupyterLab, or a skip (a failure under CI)."""
    chromium = _first_executable(CHROMIUM)
    if chromium is None:
        _missing("Chromium (apt-get install chromium)")
    chromedriver = _first_executable(CHROMEDRIVER)
    if chromedriver is None:
        _missing("chromedriver (apt-get install chromium-driver)")
    for module, package in (("selenium", "selenium"), ("jupyterlab", "jupyterlab")):
        if importlib.util.find_spec(module) is None:
            _missing(f"{package} (pip install -e '.[test]')")
    return Tools(chromium, chromedriver)


@pytest.fixture(scope="module")
def lab_cache(tmp_path_factory) -> Path:
    """A cache filled over HTTP from a simulator account (what ``make run`` does)."""
    data = tmp_path_factory.mktemp("lab-cache") / "data"
    account = SimulatedAccount(seed=11, anchor=ANCHOR, n_requests=200)
    with MailkitSimulator(account, clock=lambda: ANCHOR) as sim:
        with sim_client(sim.json_url, clock=lambda: ANCHOR) as client:
            outcome = fetch_results(manifest=simulator_manifest(account), data_dir=data, client=client,
                                    progress=False, clock=lambda: pd.Timestamp(ANCHOR))
    assert outcome.ok and len(outcome.frame) > 500
    return data


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _lab_environment(home: Path, cache: Path) -> dict[str, str]:
    """The server's (and so the kernels') environment: the test cache, no credentials, and
    Jupyter's own folders inside ``home`` so a developer's settings and kernels stay out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILKIT_", "JUPYTER"))}
    folders = {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data", "JUPYTER_RUNTIME_DIR": "runtime",
               "JUPYTERLAB_SETTINGS_DIR": "settings", "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
               "IPYTHONDIR": "ipython"}
    for name, folder in folders.items():
        (home / folder).mkdir(parents=True, exist_ok=True)
        env[name] = str(home / folder)
    for name, values in LAB_SETTINGS.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    env["MAILKIT_ANALYSIS_DATA"] = str(cache)
    return env


def _stop(process: subprocess.Popen, lab: Lab) -> None:
    """Ask the server to shut down (it stops its kernels), then make sure it is gone."""
    if process.poll() is None:
        try:
            lab.api("POST", "/api/shutdown")
            process.wait(timeout=20)
        except (requests.RequestException, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def lab(tools, lab_cache, tmp_path_factory) -> Iterator[Lab]:
    """JupyterLab on a free loopback port over copies of the notebooks."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    root.mkdir()
    for name in NOTEBOOKS:
        shutil.copy2(ROOT / "notebooks" / f"{name}.ipynb", root / f"{name}.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}"]
    if os.geteuid() == 0:  # what `make lab` decides too: JupyterLab refuses root without it
        command.append("--allow-root")
    log = base / "server.log"
    server = Lab(url=f"http://127.0.0.1:{port}", token=token, root=root, log=log)
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=base, env=_lab_environment(base / "home", lab_cache),
                                   stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}", pytrace=False)
            try:
                if server.api("GET", "/api/status").ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s:\n{server.log_tail()}",
                            pytrace=False)
            time.sleep(0.3)
        yield server
    finally:
        _stop(process, server)
    assert process.returncode == 0, server.log_tail()


@pytest.fixture
def browser(tools, tmp_path) -> Iterator:
    """A fresh headless Chromium (own profile) driven through the system chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = tools.chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    # A Service with an explicit driver path: Selenium Manager never looks for (or downloads) one.
    service = Service(executable_path=tools.chromedriver, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(PAGE_LOAD_S)
    try:
        yield driver
    finally:
        driver.quit()


@contextmanager
def _screenshot_on_failure(driver, path: Path) -> Iterator[None]:
    """Save what the browser shows to ``path`` when the block fails, and say where it is."""
    try:
        yield
    except BaseException as failure:
        try:
            driver.save_screenshot(str(path))
            note = f"screenshot of the page: {path}"
        except Exception as error:  # noqa: BLE001 - the original failure matters more
            note = f"no screenshot ({error})"
        print(note)  # pytest shows a failing test's output, whatever the kind of failure
        raise


# --------------------------------------------------------------------------- page helpers

def _wait(what: str, condition: Callable[[], object], seconds: float, interval: float = 0.25):
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}", pytrace=False)
        time.sleep(interval)


def _notebook_state(driver) -> dict:
    """Prompts of the open notebook's code cells, its error outputs and its tables, read from the page."""
    return driver.execute_script("""
        const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
        if (!panel) { return null; }
        const cells = [...panel.querySelectorAll('.jp-Notebook .jp-CodeCell')];
        const table = panel.querySelector('.jp-OutputArea-output table');
        return {
            prompts: cells.map(c => (c.querySelector('.jp-InputArea-prompt') || {}).textContent || ''),
            // Tracebacks and stderr both render as application/vnd.jupyter.stderr.
            errors: [...panel.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                        .map(o => o.textContent.slice(0, 2000)),
            table: table ? {rows: table.querySelectorAll('tbody tr').length,
                            headers: table.querySelectorAll('thead th').length,
                            text: table.textContent.slice(0, 500)} : null,
        };
    """)


def _kernel_idle(lab: Lab, name: str) -> bool:
    """Whether the kernel of notebook ``name`` is started and idle."""
    answer = lab.api("GET", "/api/sessions")
    if answer.status_code != 200:  # a kernel that stops while the list is built answers 404: ask again
        return False
    kernels = [s["kernel"] for s in answer.json() if s.get("path", "").endswith(f"{name}.ipynb") and s.get("kernel")]
    return bool(kernels) and all(k.get("execution_state") == "idle" for k in kernels)


def _run_all_from_the_run_menu(driver) -> None:
    """Run > Run All Cells, as a user would; the menu is closed and opened again until its
    item can be clicked (the first click can land while JupyterLab is still settling)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    run_menu = ("//li[contains(@class,'lm-MenuBar-item')]"
                "[.//div[contains(@class,'lm-MenuBar-itemLabel') and normalize-space()='Run']]")
    run_all = ("//li[contains(@class,'lm-Menu-item') and not(contains(@class,'lm-mod-disabled'))]"
               "[@data-command='notebook:run-all-cells' or .//div[normalize-space()='Run All Cells']]")

    def click_run_all() -> bool:
        try:
            driver.find_element(By.XPATH, run_menu).click()
            item = _wait_briefly(lambda: [i for i in driver.find_elements(By.XPATH, run_all) if i.is_displayed()])
            if item:
                item[0].click()
                return True
            driver.switch_to.active_element.send_keys(Keys.ESCAPE)  # close the menu for the next try
        except WebDriverException:  # the menu re-rendered under the click: try again
            pass
        return False

    _wait("Run > Run All Cells to be clickable", click_run_all, 30, interval=0.5)


def _wait_briefly(condition: Callable[[], object], seconds: float = 3.0):
    """``condition()`` once it is truthy, or its last falsy value after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


# --------------------------------------------------------------------------- tests

@pytest.mark.timeout(150)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab_in_a_real_browser(lab, browser, name, tmp_path):
    started = time.monotonic()
    with _screenshot_on_failure(browser, tmp_path / f"{name}-failure.png"):
        state = _open_and_run_all(lab, browser, name)
        assert not state["errors"], f"{name} shows error output:\n" + "\n---\n".join(state["errors"])
        counts = [int(_PROMPT.match(p.strip()).group(1)) for p in state["prompts"]]
        assert counts == sorted(counts) and len(set(counts)) == len(counts), f"cells ran out of order: {counts}"
        table = state["table"]
        assert table is not None, f"{name} rendered no HTML table"
        assert table["headers"] > 0 and table["rows"] > 0, f"{name}'s first table is empty: {table}"
    # The committed notebook is untouched: the server only ever saw a copy of it.
    committed = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
    assert all(not c.get("outputs") for c in committed["cells"] if c["cell_type"] == "code")
    # Free the kernel before the next notebook.
    for session in lab.api("GET", "/api/sessions").json():
        assert lab.api("DELETE", f"/api/sessions/{session['id']}").status_code == 204
    assert time.monotonic() - started < 120


def _open_and_run_all(lab: Lab, driver, name: str) -> dict:
    """Open ``name`` in JupyterLab, Run All Cells, and return the page once every cell ran
    (or as soon as an error output shows)."""
    driver.get(f"{lab.url}/lab/tree/{name}.ipynb?reset&token={lab.token}")
    state = _wait(f"{name} to open in JupyterLab",
                  lambda: (s := _notebook_state(driver)) and s["prompts"] and s, PAGE_LOAD_S)
    assert all(p.strip() in ("[ ]:", "") for p in state["prompts"]), f"{name} opened with outputs: {state}"
    _wait("the notebook's kernel to start", lambda: _kernel_idle(lab, name), PAGE_LOAD_S, interval=0.5)

    _run_all_from_the_run_menu(driver)

    def finished() -> dict | None:
        state = _notebook_state(driver)
        if state["errors"]:
            return state
        prompts = [_PROMPT.match(p.strip()) for p in state["prompts"]]
        executed = all(m and m.group(1).isdigit() for m in prompts)
        return state if executed and _kernel_idle(lab, name) else None

    return _wait(f"every code cell of {name} to run", finished, RUN_ALL_S, interval=0.5)


def _make_lab_command(tmp_path: Path, uid: int) -> str:
    """What ``make lab`` would run when ``id -u`` says ``uid`` (``make -n``: nothing is started)."""
    fake_bin = tmp_path / f"bin-{uid}"
    fake_bin.mkdir()
    fake_id = fake_bin / "id"
    fake_id.write_text(f"#!/bin/sh\necho {uid}\n", encoding="utf-8")
    fake_id.chmod(0o755)
    venv = tmp_path / "venv"
    env = {**os.environ, "PATH": f"{fake_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["make", "--no-print-directory", "-n", "-o", f"{venv}/.installed", "lab", f"VENV={venv}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("uid, allow_root", [(0, True), (1000, False)])
def test_make_lab_passes_allow_root_only_as_root_and_listens_on_loopback(tmp_path, uid, allow_root):
    command = _make_lab_command(tmp_path, uid)
    assert re.search(r"/bin/jupyter lab\b", command), command
    assert ("--allow-root" in command.split()) is allow_root, command
    assert "--ServerApp.ip=127.0.0.1" in command.split(), command
    assert "--ServerApp.root_dir=notebooks" in command.split(), command
