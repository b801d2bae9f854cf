"""The browser checker's own logic, without a browser: which page it judges, and redirects."""

from __future__ import annotations

import browser_check
from browser_check import LOAD_ATTEMPTS, _open, _page_problems, redirect_target


class StaleBrowser:
    """A stand-in driver that shows the previously loaded page for the first ``stale`` loads."""

    def __init__(self, stale: int):
        self.stale, self.loads, self.shown = stale, 0, "/about.html"

    def get(self, url: str) -> None:
        self.loads += 1
        if self.loads > self.stale:
            self.shown = "/" + url.split("/", 3)[3]

    def execute_async_script(self, script, timeout):
        return {"path": self.shown}


def test_a_page_handed_back_stale_is_loaded_again():
    driver = StaleBrowser(stale=1)
    found = _open(driver, "http://127.0.0.1:1/", "_generated/study/glued.html")
    assert found["path"] == "/_generated/study/glued.html"
    assert driver.loads == 2


def test_a_page_never_shown_is_a_problem_not_a_count_of_zero():
    driver = StaleBrowser(stale=LOAD_ATTEMPTS)
    found = _open(driver, "http://127.0.0.1:1/", "glued.html")
    assert driver.loads == LOAD_ATTEMPTS
    problems = _page_problems("glued.html", found, {"pasted_text": 1, "figures": 1, "pasted_math": 0}, [])
    assert problems == [f"glued.html: the browser showed /about.html instead, {LOAD_ATTEMPTS} times"]


def test_redirect_pages_are_recognised(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=intro.html" />')
    (tmp_path / "sub" / "old.html").write_text('<META HTTP-EQUIV="refresh" content="0;url=new.html#top">')
    (tmp_path / "intro.html").write_text("<html><body><p>a page</p></body></html>")
    assert redirect_target(tmp_path, "index.html") == "intro.html"
    assert redirect_target(tmp_path, "sub/old.html") == "sub/new.html"
    assert redirect_target(tmp_path, "intro.html") is None


def test_a_redirect_to_a_missing_page_is_reported_without_a_browser(tmp_path, monkeypatch):
    (tmp_path / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=intro.html" />')

    monkeypatch.setattr(browser_check, "chromium", lambda: _NoBrowser())
    assert browser_check.check_pages(tmp_path) == ["index.html: redirects to intro.html, which the book does not have"]


class _NoBrowser:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def set_script_timeout(self, seconds):
        pass

    def get(self, url):
        raise AssertionError("a redirect page must not be opened in the browser")
