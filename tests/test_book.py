"""Every study plan smoke-runs through the runner with tiny parameters, and the book builds strictly.

This is the test of the whole chain: the same runner and the same build as ``make book``,
with each plan's ``smoke`` profile, in a private copy of ``book/`` so that a developer's
real results are never touched.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from synlib import book, paths
from synlib.plan import load_plan
from synlib.runner import run_plans

from conftest import copy_book_sources

pytestmark = pytest.mark.slow

# simulated-nonlinear runs the simulated part's notebooks with other parameters; test_plans checks its plan
PLANS = ["simulated", "shoulder", "gait", "verdict", "validation"]
# what myst-nb renders for a cell's error, traceback or standard-error output
ERROR_MARKERS = ("Traceback (most recent call last)", 'class="output error', 'class="output traceback',
                 'class="output stderr')


NEEDS = {"shoulder": ["rmr-solver-shoulder"], "gait": ["musclesyneRgies"], "validation": ["musclesyneRgies"],
         "verdict": ["rmr-solver-shoulder", "musclesyneRgies"]}
"""The public recordings each plan reads (no download in tests)."""


def _missing(plan_name: str) -> list[str]:
    return [n for n in NEEDS.get(plan_name, []) if not any((root / n).is_dir() for root in paths.data_search_path())]


@pytest.fixture(scope="module")
def smoke_book(tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke")
    source = copy_book_sources(root)
    env = {"SYNLIB_RESULTS": root / "results", "SYNLIB_CACHE": root / "cache", "SYNLIB_GENERATED": source / "_generated"}
    with pytest.MonkeyPatch.context() as mp:
        for var, value in env.items():
            mp.setenv(var, str(value))
        plans = [load_plan(paths.STUDIES / f"{name}.yml") for name in PLANS if not _missing(name)]
        run_plans(plans, overrides=[plan.profiles["smoke"] for plan in plans], jobs=2)
        html = book.build(plans, source=source, output=root)
        yield plans, html


def test_every_planned_run_has_a_page_without_errors(smoke_book):
    plans, html = smoke_book
    for plan in plans:
        for run in plan.runs:
            page = html / "_generated" / plan.name / f"{run.id}.html"
            assert page.exists(), f"no page for {plan.name}/{run.id}"
            text = page.read_text()
            found = [m for m in ERROR_MARKERS if m in text]
            assert not found, f"{page.name} shows {found}"


@pytest.mark.parametrize("plan_name", [name for name in PLANS if name in NEEDS])
def test_plans_on_public_recordings_are_in_the_book(smoke_book, plan_name):
    # the book is built without the plans whose recordings are absent; say so instead of passing quietly
    missing = _missing(plan_name)
    if missing:
        pytest.skip(f"plan {plan_name!r} left out of the smoke book: {', '.join(missing)} not found in the data "
                    f"search path ({', '.join(map(str, paths.data_search_path()))})")
    assert plan_name in [plan.name for plan in smoke_book[0]]


def test_narrative_pages_exist_and_glue_resolved(smoke_book):
    plans, html = smoke_book
    pages = ["intro", "methods", "own_data", "reproduce", "api", "bibliography"]
    pages += [p for plan in plans for p in plan.book.get("before", []) + plan.book.get("after", [])]
    for name in pages:
        text = (html / f"{name}.html").read_text()
        if name != "api":  # the API page quotes a doctest's expected traceback
            assert "Traceback (most recent call last)" not in text, name
        assert not re.search(r"\.ipynb::", text), f"{name}.html has an unresolved glue reference"
    assert (html / "index.html").exists()


def test_reproduce_page_shows_the_environment(smoke_book):
    plans, html = smoke_book
    text = (html / "reproduce.html").read_text()
    assert "git commit" in text and "torch" in text
    for plan in plans:
        assert f"studies/{plan.path.name}" in text


def test_each_part_opens_with_its_plan_and_the_introduction_lists_this_builds_parts(smoke_book):
    plans, html = smoke_book

    def page(path):   # as a reader sees it: entities decoded, typographic apostrophes plain
        return unescape(path.read_text()).replace("\u2019", "'")

    intro = page(html / "intro.html")
    for plan in plans:
        about = page(html / "_generated" / plan.name / "about.html")
        assert plan.title.split(":")[0] in about and f"studies/{plan.path.name}" in about
        if any(run.notebook.stem == "00_data" for run in plan.runs):
            assert "sampling rate" in about and "licence" in about, f"{plan.name}: no dataset facts"
        assert plan.book.get("part", plan.title) in intro
        entry = re.search(rf'href="_generated/{plan.name}/about.html">([^<]*)<', intro).group(1)
        expected = book.ABOUT_ENTRY if plan.book.get("part", plan.title) == plan.title else plan.title
        assert unescape(entry).replace("\u2019", "'") == expected, f"{plan.name}: sidebar shows {entry!r}"
    # the non-linear arm is not in the smoke book, so the introduction does not list it
    assert "non-linear mixing" not in intro.split("How the book is organised")[1].split("Reading the synergy")[0]
