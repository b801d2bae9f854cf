"""The rendered book, tested in a real browser.

A small book (the runner fixture plan and the glue fixture, in a private copy of ``book/``) is
built strictly, served on localhost and opened page by page in headless Chromium (see
``browser_check.py`` for what counts as a problem). The checker is then shown a page with faults
planted in it, so that a checker blind to a kind of fault fails here too.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from browser_check import BrowserUnavailable, check_pages, find_browser
from conftest import copy_book_sources
from synlib import book, paths
from synlib.plan import load_plan
from synlib.runner import run_plan

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "runner_fixtures"
RESULTS_PAGE = "glue_results.html"
GLUED_MEAN = '<span class="pasted-text">2.333</span>'  # mean of the fixture's values [1, 2, 4]
PLANTED = """
<img src="_images/planted-missing.png" alt="planted">
<figure id="planted-empty-figure"><figcaption>a figure whose image is gone</figcaption></figure>
<div class="cell_output docutils container"><div class="output stderr"><pre>Traceback (most recent call last):
ValueError: planted</pre></div></div>
<script>plantedUndefinedFunction();</script>
<span class="math notranslate nohighlight">\\(x^2\\)</span>
"""


def _browser_or_skip() -> None:
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")
    try:
        find_browser()
    except BrowserUnavailable as exc:
        pytest.skip(f"no headless browser for the book test: {exc}")


def _build_small_book(root: Path, monkeypatch) -> Path:
    source = copy_book_sources(root)
    shutil.copy(FIXTURES / "glue_results.md", source)
    for var, value in {"SYNLIB_RESULTS": root / "results", "SYNLIB_CACHE": root / "cache",
                       "SYNLIB_GENERATED": source / "_generated"}.items():
        monkeypatch.setenv(var, str(value))
    plans = [load_plan(FIXTURES / "plan.yml"), load_plan(FIXTURES / "glue.yml")]
    for plan in plans:
        run_plan(plan)
    return book.build(plans, source=source, output=root, strict=True)


def _plant_faults(html: Path) -> str:
    """A copy of the results page with its glued value dropped and one fault of every other kind."""
    text = (html / RESULTS_PAGE).read_text()
    faulty = text.replace(GLUED_MEAN, "").replace("</article>", PLANTED + "</article>", 1)
    # without its MathJax script the planted equation stays raw LaTeX
    faulty = re.sub(r'<script[^>]*mathjax[^>]*>\s*</script>', "", faulty)
    (html / "planted.html").write_text(faulty)
    shutil.copy(html / "_sources" / "glue_results.md", html / "_sources" / "planted.md")
    return "planted.html"


def _publish_screenshot(screenshot: Path) -> Path:
    """Copy the screenshot to ``_build/screenshots/`` of the checkout when SYNLIB_SCREENSHOTS is set."""
    if not os.environ.get("SYNLIB_SCREENSHOTS"):
        return screenshot
    kept = paths.ROOT / "_build" / "screenshots" / "results.png"
    kept.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, kept)
    return kept


def test_every_page_of_a_small_book_works_in_a_browser(tmp_path, monkeypatch):
    _browser_or_skip()
    html = _build_small_book(tmp_path, monkeypatch)
    assert GLUED_MEAN in (html / RESULTS_PAGE).read_text(), "the results page must quote the glued mean"
    # the methods page has equations, and MathJax comes with the book: the check of typeset maths
    # on every page (with every outside host blocked) is not vacuous
    assert 'class="math' in (html / "methods.html").read_text()
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()

    screenshot = tmp_path / "screenshots" / "results.png"
    problems = check_pages(html, screenshots={RESULTS_PAGE: screenshot})
    assert problems == [], "\n".join(problems)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot of {RESULTS_PAGE}: {_publish_screenshot(screenshot)}")

    found = "\n".join(check_pages(html, pages=[_plant_faults(html)]))
    for expected in (
        "broken image _images/planted-missing.png",
        "the server answered GET /_images/planted-missing.png -> 404",
        "figure without an image: 'planted-empty-figure'",
        "error output in a cell: 'ValueError: planted'",
        "shows a Python traceback",
        "0 {glue:text} values shown, 1 in its source",
        "plantedUndefinedFunction is not defined",
        "maths element(s) left as raw LaTeX (MathJax did not load)",
    ):
        assert expected in found, f"the checker missed {expected!r}; it found:\n{found}"
