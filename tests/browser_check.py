"""Open every page of a built book in headless Chromium and list what a reader would see broken.

Used by ``tests/test_browser.py`` on a small book, and usable on the full book::

    .venv/bin/python tests/browser_check.py _build/html

What counts as a problem on a page:

- an image that failed to load (``complete`` and ``naturalWidth == 0``) or never finished loading,
  and any request the local server answered with an error status (a missing image, script or style);
- a ``<figure>`` that holds no image;
- a JavaScript error (a ``SEVERE`` entry of the browser log). The browser reaches no host but
  localhost (as a reader offline); its failures to reach others are printed, not counted, since
  the theme asks for a few optional ones;
- maths left as raw LaTeX: a page with ``math`` elements where MathJax (served from the book's own
  ``_static/mathjax``) typeset none;
- error output of a notebook cell (``output stderr``, ``output traceback``, ``output error``) or the
  text ``Traceback (most recent call last)``;
- a glue placeholder left unresolved. myst-nb 1.4 drops an unresolved ``{glue:text}`` (or
  ``{glue:figure}``) from the page without a trace (the build warns, and a strict build fails), so
  the page is compared with its source in ``_sources/``: as many ``pasted-text`` spans as
  ``{glue:text}`` roles, at least as many figures as ``{glue:figure}`` directives, as many
  ``pasted-math`` blocks as ``{glue:math}`` directives; and no glue syntax
  (``{glue...}`` or ``<notebook>.ipynb::<key>``) may show as text;
- a page the browser did not show: after loading, the address the page reports must be the page
  asked for (a busy machine can hand back the previous page; it is loaded again, up to
  ``LOAD_ATTEMPTS`` times, before it counts as a problem);
- a redirect page (``<meta http-equiv="Refresh">``, such as the ``index.html`` the book writes)
  whose target the book does not have. A redirect is not opened itself: its target is a page too.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlparse

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMEDRIVER_NAMES = ("chromedriver",)
# what headless Chromium needs as root in a container, and what keeps it from calling home
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic", "--window-size=1280,1400",
    # every host but this machine is unreachable: the book must read offline
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
IMAGE_TIMEOUT_MS = 10_000
LOAD_ATTEMPTS = 3
REDIRECT = re.compile(r'<meta\s+http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"', re.I)

# Runs in the page: waits for every image, then reports what the reader would see broken.
PAGE_SCRIPT = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
images.forEach(img => { img.loading = "eager"; });
const settled = images.map(img => img.complete ? Promise.resolve() : new Promise(resolve => {
    img.addEventListener("load", resolve, {once: true});
    img.addEventListener("error", resolve, {once: true});
}));
const timeout = new Promise(resolve => setTimeout(resolve, arguments[0]));
// MathJax may start after the page's load event on a busy machine: on a page with maths, wait for
// it to appear (up to the timeout) and then for its typesetting, instead of judging too early
const startup = () => window.MathJax && MathJax.startup && MathJax.startup.promise;
const typeset = new Promise(resolve => {
    const poll = () => {
        if (startup()) { startup().then(resolve, resolve); return; }
        if (!document.querySelector("div.math, span.math")) { resolve(); return; }
        setTimeout(poll, 100);
    };
    poll();
});
Promise.race([Promise.all([...settled, typeset]), timeout]).then(() => {
    const text = document.body ? document.body.innerText : "";
    const media = "img, svg, object, embed, canvas, video, iframe";
    done({
        broken_images: images.filter(i => i.complete && i.naturalWidth === 0).map(i => i.getAttribute("src")),
        unloaded_images: images.filter(i => !i.complete).map(i => i.getAttribute("src")),
        empty_figures: Array.from(document.querySelectorAll("figure"))
            .filter(f => !f.querySelector(media)).map(f => f.id || f.innerText.slice(0, 60)),
        error_outputs: Array.from(document.querySelectorAll(
                ".output.stderr, .output.traceback, .output.error, .cell_output .stderr"))
            .map(e => e.innerText.trim().split("\\n").slice(-1)[0].slice(0, 200)),
        has_traceback: Array.from(document.querySelectorAll(".cell_output, .output"))
            .some(e => e.innerText.includes("Traceback (most recent call last)")),
        glue_syntax: (text.match(/\\{glue(:[a-z]*)?\\}|\\S+\\.ipynb::\\S+/g) || []).slice(0, 5),
        pasted_text: document.querySelectorAll(".pasted-text").length,
        pasted_math: document.querySelectorAll(".pasted-math").length,
        figures: document.querySelectorAll("figure").length,
        math: document.querySelectorAll("div.math, span.math").length,
        typeset_math: document.querySelectorAll("mjx-container").length,
        mathjax_loaded: !!(window.MathJax && MathJax.startup),
        title: document.title,
        path: window.location.pathname,
    });
});
"""


class BrowserUnavailable(RuntimeError):
    """No Chromium or no chromedriver on this machine (the message says which, and how to add it)."""


def find_browser() -> tuple[str, str]:
    """Paths of Chromium and of chromedriver; :class:`BrowserUnavailable` names what is missing."""
    browser = next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)
    driver = next((found for name in CHROMEDRIVER_NAMES if (found := shutil.which(name))), None)
    missing = [what for what, found in (("chromium", browser), ("chromedriver", driver)) if not found]
    if missing:
        raise BrowserUnavailable(
            f"{' and '.join(missing)} not found on PATH; on Debian: apt-get install chromium chromium-driver"
        )
    return browser, driver


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging each request; remembers every request it answered with an error."""

    def __init__(self, *args, failures: list[str], **kwargs):
        self.failures = failures
        super().__init__(*args, **kwargs)

    def log_request(self, code="-", size="-"):
        if isinstance(code, int) and code >= 400:
            self.failures.append(f"{self.command} {self.path} -> {int(code)}")

    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serve(html_dir: Path, failures: list[str]) -> Iterator[str]:
    """Serve ``html_dir`` on 127.0.0.1 at a free port; yield the base URL; note failed requests."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir), failures=failures)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="book-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium driven by Selenium, with a fresh profile removed afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = find_browser()
    with tempfile.TemporaryDirectory(prefix="synlib-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options,
                                  service=Service(executable_path=driver_path, log_output=subprocess.DEVNULL))
        try:
            driver.set_page_load_timeout(60)
            yield driver
        finally:
            driver.quit()


def html_pages(html_dir: Path) -> list[str]:
    """Every HTML page of a built book, relative to ``html_dir`` (static assets and sources left out)."""
    skipped = {"_static", "_sources", "_images"}
    return sorted(str(p.relative_to(html_dir)) for p in html_dir.rglob("*.html")
                  if not skipped & set(p.relative_to(html_dir).parts))


def redirect_target(html_dir: Path, page: str) -> str | None:
    """The page ``page`` redirects to (relative to ``html_dir``), or None when it is a page itself."""
    match = REDIRECT.search((html_dir / page).read_text(errors="replace")[:2000])
    if not match:
        return None
    return (Path(page).parent / urlparse(match.group(1)).path).as_posix()


def _shown(found: dict) -> str:
    return unquote(found["path"]).lstrip("/")


def _open(driver, base: str, page: str) -> dict:
    """Load ``page`` and run the page script on it, loading again when the browser shows another page."""
    for _ in range(LOAD_ATTEMPTS):
        driver.get(base + page)
        found = driver.execute_async_script(PAGE_SCRIPT, IMAGE_TIMEOUT_MS)
        if _shown(found) == page:
            return found
        print(f"browser_check: {page}: the browser showed {found['path']}; loading it again")
    return found


def _source_text(html_dir: Path, page: str) -> str:
    """The Markdown of a page's source as Sphinx copied it (the markdown cells of a notebook)."""
    stem = html_dir / "_sources" / page.removesuffix(".html")
    for suffix in (".md", ".md.txt", ".ipynb", ".ipynb.txt"):
        path = stem.with_name(stem.name + suffix)
        if path.is_file():
            if ".ipynb" in suffix:
                cells = json.loads(path.read_text())["cells"]
                return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
            return path.read_text()
    return ""


def _without_code(markdown: str) -> str:
    """``markdown`` without fenced code blocks and double-backtick spans (directive fences stay)."""
    kept: list[str] = []
    fences: list[tuple[str, bool]] = []  # open fences, innermost last: (marker, holds code)
    for line in markdown.splitlines():
        fence = re.match(r"^\s*(`{3,}|~{3,}|:{3,})\s*(.*)$", line)
        in_code = bool(fences) and fences[-1][1]
        if fence and fences and not fence.group(2) and fence.group(1).startswith(fences[-1][0]):
            fences.pop()
            continue
        if fence and not in_code:
            is_code = not fence.group(2).startswith("{")
            fences.append((fence.group(1), is_code))
            if not is_code:
                kept.append(line)
            continue
        if not in_code:
            kept.append(line)
    return re.sub(r"``.+?``", "", "\n".join(kept))


def _glue_in_source(markdown: str) -> dict[str, int]:
    """Glue roles and directives a page's source holds, leaving out code that shows their syntax."""
    plain = _without_code(markdown)
    return {
        "pasted_text": len(re.findall(r"\{glue:text\}`[^`]+`", plain)),
        "figures": len(re.findall(r"^\s*(?:```+|:::+)\s*\{glue:figure\}", plain, flags=re.M)),
        "pasted_math": len(re.findall(r"^\s*(?:```+|:::+)\s*\{glue:math\}", plain, flags=re.M)),
    }


def _offsite_network_failure(message: str) -> bool:
    url = message.split(" ", 1)[0]
    host = urlparse(url).hostname
    return "net::ERR_" in message and host is not None and host not in LOCAL_HOSTS


def _favicon(text: str) -> bool:
    # the browser asks for /favicon.ico by itself when a page names no icon; a reader sees a default
    return "/favicon.ico " in text


def _page_problems(page: str, found: dict, expected: dict[str, int], log: list[dict]) -> list[str]:
    if _shown(found) != page:
        return [f"{page}: the browser showed {found['path']} instead, {LOAD_ATTEMPTS} times"]
    problems = [f"{page}: broken image {src}" for src in found["broken_images"]]
    problems += [f"{page}: image still loading after {IMAGE_TIMEOUT_MS / 1000:.0f} s: {src}"
                 for src in found["unloaded_images"]]
    problems += [f"{page}: figure without an image: {name!r}" for name in found["empty_figures"]]
    problems += [f"{page}: error output in a cell: {text!r}" for text in found["error_outputs"]]
    if found["has_traceback"]:
        problems.append(f"{page}: shows a Python traceback")
    problems += [f"{page}: glue syntax shown as text: {text!r}" for text in found["glue_syntax"]]
    for kind, what in (("pasted_text", "{glue:text} values"), ("figures", "figures for {glue:figure}"),
                       ("pasted_math", "{glue:math} blocks")):
        if found[kind] < expected[kind]:
            problems.append(f"{page}: {found[kind]} {what} shown, {expected[kind]} in its source "
                            "(an unresolved glue key is dropped from the page)")
    if found["math"] and not found["typeset_math"]:
        problems.append(f"{page}: {found['math']} maths element(s) left as raw LaTeX (MathJax "
                        f"{'loaded but typeset nothing' if found['mathjax_loaded'] else 'did not load'})")
    for entry in log:
        message = entry["message"]
        if entry["level"] == "SEVERE" and not (_offsite_network_failure(message) or _favicon(message)):
            problems.append(f"{page}: JavaScript error: {message}")
    return problems


def check_pages(html_dir: Path, *, pages: list[str] | None = None,
                screenshots: dict[str, Path] | None = None) -> list[str]:
    """Open ``pages`` (default: every page) of the book in ``html_dir``; return the problems found.

    ``screenshots`` maps a page (e.g. ``"results.html"``) to the PNG file to save it as. Raises
    :class:`BrowserUnavailable` when Chromium or chromedriver is missing.
    """
    html_dir = Path(html_dir)
    pages = html_pages(html_dir) if pages is None else pages
    screenshots = screenshots or {}
    problems: list[str] = []
    failed_requests: list[str] = []
    with serve(html_dir, failed_requests) as base, chromium() as driver:
        driver.set_script_timeout(IMAGE_TIMEOUT_MS / 1000 + 10)
        for page in pages:
            target = redirect_target(html_dir, page)
            if target is not None:
                if not (html_dir / target).is_file():
                    problems.append(f"{page}: redirects to {target}, which the book does not have")
                continue
            failed_before = len(failed_requests)
            found = _open(driver, base, page)
            log = driver.get_log("browser")
            for entry in log:
                if entry["level"] == "SEVERE" and _offsite_network_failure(entry["message"]):
                    print(f"browser_check: {page}: not counted (an outside host): {entry['message']}")
            problems += _page_problems(page, found, _glue_in_source(_source_text(html_dir, page)), log)
            problems += [f"{page}: the server answered {failure}" for failure in failed_requests[failed_before:]
                         if not _favicon(failure)]
            if page in screenshots:
                screenshots[page].parent.mkdir(parents=True, exist_ok=True)
                driver.save_screenshot(str(screenshots[page]))
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/browser_check.py <book>/_build/html", file=sys.stderr)
        return 2
    problems = check_pages(Path(argv[0]))
    for problem in problems:
        print(problem)
    print(f"browser_check: {len(html_pages(Path(argv[0])))} pages, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
