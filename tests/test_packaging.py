"""pyproject.toml and environment.yml stay in step; CI and README run the same commands."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"duckdb": "python-duckdb"}
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def _split(requirement: str) -> tuple[str, str]:
    """``"pandas>=2.2,<4"`` -> ``("pandas", ">=2.2,<4")`` (name lower-cased, spaces dropped)."""
    match = _NAME.match(requirement.split(";")[0])
    assert match, f"cannot read requirement {requirement!r}"
    return match.group(1).lower().replace("_", "-"), re.sub(r"\s+", "", match.group(3))


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _read_environment_yml(text: str) -> dict:
    """Just enough YAML for environment.yml: top-level keys, ``- item`` lists, a nested ``pip:`` list."""
    data: dict = {}
    key = None
    nested: list | None = None
    for raw in text.splitlines():
        line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        stripped = line.strip()
        if indent == 0:
            name, _, value = stripped.partition(":")
            key, nested = name.strip(), None
            data[key] = value.strip() or []
        elif stripped.startswith("- "):
            item = stripped[2:].strip()
            if item.endswith(":") and key is not None:  # "- pip:" opens a nested list
                nested = []
                data[key].append({item[:-1]: nested})
            elif nested is not None and indent > _list_indent(text, key):
                nested.append(item)
            else:
                nested = None
                data[key].append(item)
    return data


def _list_indent(text: str, key: str | None) -> int:
    """Indent of the first ``- `` item under ``key`` (items deeper than it are nested)."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(f"{key}:"))
    for line in lines[start + 1:]:
        if line.strip().startswith("- "):
            return len(line) - len(line.lstrip())
    return 0


@pytest.fixture(scope="module")
def environment() -> dict:
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    data = _read_environment_yml(text)
    try:
        import yaml
    except ImportError:  # not a dependency: the small reader above is what counts
        return data
    assert yaml.safe_load(text) == data, "the small reader and PyYAML disagree about environment.yml"
    return data


def _conda_specs(environment: dict) -> dict[str, str]:
    return dict(_split(d) for d in environment["dependencies"] if isinstance(d, str))


def test_reader_understands_the_layout():
    sample = "name: x\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n      - -e .\n"
    assert _read_environment_yml(sample) == {
        "name": "x", "channels": ["conda-forge"], "dependencies": ["python=3.11", "pip", {"pip": ["-e ."]}],
    }


def test_environment_has_conda_forge_and_editable_install(environment):
    assert "conda-forge" in environment["channels"]
    pip_sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1 and "-e ." in pip_sections[0]
    assert "pip" in environment["dependencies"]


@pytest.mark.parametrize("group", ["runtime", "test", "lab"])
def test_every_dependency_is_in_environment_yml_with_the_same_range(environment, group):
    project = _pyproject()["project"]
    requirements = project["dependencies"] if group == "runtime" else project["optional-dependencies"][group]
    assert requirements, f"no {group} dependencies found"
    conda = _conda_specs(environment)
    problems = []
    for requirement in requirements:
        name, spec = _split(requirement)
        conda_name = CONDA_NAMES.get(name, name)
        if conda_name not in conda:
            problems.append(f"{conda_name} missing")
        elif conda[conda_name] != spec:
            problems.append(f"{conda_name}: environment.yml {conda[conda_name]!r} != pyproject {spec!r}")
    assert not problems, "; ".join(problems)


def test_python_versions_agree(environment):
    conda = _conda_specs(environment)
    assert conda["python"] == "=3.11"
    assert _pyproject()["project"]["requires-python"].startswith(">=3.11")


def test_ci_runs_make_test():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [l.strip() for l in script.splitlines() if l.strip() and not l.strip().startswith("#")]
    assert "make test" in commands


def test_makefile_has_run_and_test_targets():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^test:", makefile, re.M) and re.search(r"^run:", makefile, re.M)
    assert re.search(r"^\t.*-m pytest", makefile, re.M)


def test_readme_shows_make_test_and_make_run():
    readme = ROOT / "README.md"
    if not readme.is_file():
        pytest.skip("README.md does not exist yet")
    text = readme.read_text(encoding="utf-8")
    assert "make test" in text
    assert "make run" in text


def test_package_version_matches_pyproject():
    import mailkit_analysis

    assert mailkit_analysis.__version__ == _pyproject()["project"]["version"]
