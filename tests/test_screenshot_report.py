"""scripts/screenshot_report.py: the language of what it shows, and a notebook rendered first.

The screenshot of a real rendered report is taken in tests/test_notebooks_report.py; these
tests use small pages and need Chromium only where they say so.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CZECH_PAGE = ('<!DOCTYPE html>\n<html lang="cs"><head><meta charset="utf-8"><title>Přehled</title></head>'
              "<body><h1>Chyby rozesílek Mailkitu: přehled</h1><p>řeřicha, měsíc, kůň, čaj, šíp, žába: "
              "1\u00a0234 chybových záznamů, 36,0\u00a0%, 18. 11. 2026 10:03</p></body></html>\n")


@pytest.fixture(scope="module")
def shot():
    spec = importlib.util.spec_from_file_location("screenshot_report", ROOT / "scripts" / "screenshot_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def czech_report(tmp_path) -> Path:
    report = tmp_path / "overview_cs.html"
    report.write_text(CZECH_PAGE, encoding="utf-8")
    return report


def test_a_report_says_its_language(shot, czech_report, tmp_path):
    assert shot.report_language(czech_report) == "cs"
    english = tmp_path / "en.html"
    english.write_text('<html lang="en-GB"><body>Overview</body></html>', encoding="utf-8")
    assert shot.report_language(english) == "en"
    bare = tmp_path / "bare.html"
    bare.write_text("<html><body>?</body></html>", encoding="utf-8")
    assert shot.report_language(bare) is None


def test_chromium_runs_in_the_language_asked_for(shot):
    command = shot.chromium_command("chromium", "/profile", "--screenshot=x.png", lang="cs")
    assert "--lang=cs" in command and "--accept-lang=cs" in command
    assert "--headless" in command and "--no-sandbox" in command
    assert not [c for c in shot.chromium_command("chromium", "/profile") if c.startswith("--lang")]


def test_a_report_in_another_language_is_refused_with_the_command_that_makes_it(shot, tmp_path, monkeypatch,
                                                                                  capsys):
    monkeypatch.setattr(shot, "find_chromium", lambda: "chromium-that-is-never-started")
    english = tmp_path / "overview.html"
    english.write_text('<html lang="en"><body>Overview</body></html>', encoding="utf-8")
    assert shot.main([str(english), "--lang", "cs", "-o", str(tmp_path / "x.png")]) == shot.EXIT_MISSING
    err = capsys.readouterr().err
    assert "'en', not 'cs'" in err and "mailkit-analysis report --lang cs" in err
    assert not (tmp_path / "x.png").exists()


def test_an_unknown_notebook_lists_the_notebooks(shot, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shot, "find_chromium", lambda: "chromium-that-is-never-started")
    assert shot.main(["no_such_notebook", "--lang", "cs", "-o", str(tmp_path / "x.png")]) == shot.EXIT_MISSING
    assert "01_error_overview" in capsys.readouterr().err


def test_an_unknown_language_is_a_usage_error(shot, czech_report):
    with pytest.raises(SystemExit) as stop:
        shot.main([str(czech_report), "--lang", "xx"])
    assert stop.value.code == 2


def test_a_czech_page_is_photographed(shot, czech_report, tmp_path):
    if shot.find_chromium() is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    png = tmp_path / "overview_cs.png"
    assert shot.main([str(czech_report), "--lang", "cs", "-o", str(png), "--height", "300"]) == 0
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (shot.WIDTH, 300)
