"""The built book as a student meets it: every page opened in headless Chromium, network off.

The site is served from _build/html on 127.0.0.1 and every request to any other origin is blocked
and recorded, the way a classroom without internet sees it. Each page is opened once (a fixture
records what the tests need: console errors, failed requests, math, images, links, headings, copy
buttons); the tests then assert on those records, so the whole module stays well under a minute
after the build. Screenshots of the landing page and of a chapter go to _build/screenshots/.

It needs Debian's chromium (.ci/run installs it): without it the module is skipped on a
developer's machine, and fails in CI (CI set), where a skip would hide a broken site.
"""
import functools
import os
import re
import threading
import urllib.error
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import nbformat
import pytest

from conftest import ASSIGNMENTS, ROOT
from test_book import chapter_pages
from test_leaks import leaks

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); CI never skips this",
                allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402  (only once chromium is known)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "_build" / "screenshots"
# A chapter section with equations, code and figures
LANDING, CHAPTER = "book/intro.html", "book/sequential_data/order.html"

# What each page reports once loaded (and once MathJax has typeset it).
INSPECT = """() => {
  const visible = (el) => !el.closest('.onlyprint');  // the theme's print-only copy of the title
  return {
    math: [...document.querySelectorAll('.math')].map(
      (m) => ({tex: m.textContent.slice(0, 60), rendered: !!m.querySelector('mjx-container')})),
    images: [...document.images].map((i) => ({src: i.getAttribute('src'),
      alt: i.getAttribute('alt'), width: i.complete ? i.naturalWidth : 0})),
    links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
    icons: [...document.querySelectorAll('link[rel~="icon"]')].map((l) => l.href),
    headings: [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].filter(visible)
      .map((h) => ({level: +h.tagName[1], text: h.textContent.trim().slice(0, 60)})),
    codeBlocks: document.querySelectorAll('div.highlight').length,
    withoutCopyButton: [...document.querySelectorAll('div.highlight')]
      .filter((d) => !d.querySelector('button.copybtn')).length,
  };
}"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(built_book):
    """The base URL of _build/html served on loopback for the module's duration."""
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_QuietHandler, directory=str(built_book)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def context(site):
    """A Chromium context that can reach only the local site; `blocked` lists what it refused."""
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        context.blocked = []

        def offline(route):
            if route.request.url.startswith(site):
                route.continue_()
            else:
                context.blocked.append(route.request.url)
                route.abort()

        context.route("**/*", offline)
        yield context
        chromium.close()


def html_pages(root: Path) -> list[str]:
    """Every HTML page of the site, relative to its root (index.html only redirects)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html")
                  if not {"_static", "_sources"} & set(p.relative_to(root).parts)
                  and 'http-equiv="Refresh"' not in p.read_text())


def open_page(context, url):
    """Open ``url`` and return the page with its console errors and failed requests attached."""
    page = context.new_page()
    page.errors, page.failed = [], []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("requestfailed", lambda r: page.failed.append(f"{r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and page.failed.append(f"{r.url} ({r.status})"))
    page.goto(url, wait_until="networkidle")  # async scripts and fonts too, and their errors
    return page


@pytest.fixture(scope="module")
def visits(built_book, site, context):
    """Every page, opened once: what INSPECT found plus its console errors and failed requests."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found = {}
    for name in html_pages(built_book):
        page = open_page(context, site + name)
        if page.locator(".math").count():
            page.wait_for_function("() => window.MathJax?.startup?.promise")
            page.evaluate("() => MathJax.startup.promise")  # resolves once the page is typeset
        found[name] = page.evaluate(INSPECT) | {"errors": page.errors, "failed": page.failed}
        if name in (LANDING, CHAPTER):
            # The landing page as a reader first sees it (a full-page shot would clip its sticky
            # "Contents" sidebar, which no real window does); the whole chapter, figures and all.
            page.screenshot(path=SCREENSHOTS / f"{Path(name).stem}.png", full_page=name == CHAPTER)
        page.close()
    return found


def test_every_page_is_offline_and_error_free(visits, context):
    assert len(visits) >= 5, sorted(visits)
    assert context.blocked == [], "requests that left the site"
    assert {n: v["errors"] for n, v in visits.items() if v["errors"]} == {}
    assert {n: v["failed"] for n, v in visits.items() if v["failed"]} == {}
    # A page without an icon makes Chromium fetch /favicon.ico and log its 404 as an error; it
    # skips that fetch while page.route is on, so check the icon instead (its link is resolved
    # with the other links).
    assert [n for n, v in visits.items() if not v["icons"]] == []


def test_the_site_root_leads_to_the_landing_page(context, site):
    page = open_page(context, site)
    page.wait_for_url(site + LANDING)
    page.close()


def test_every_equation_is_rendered_by_mathjax(visits):
    assert len(visits[CHAPTER]["math"]) > 20
    unrendered = {n: [m["tex"] for m in v["math"] if not m["rendered"]] for n, v in visits.items()}
    assert {n: tex for n, tex in unrendered.items() if tex} == {}


def test_every_image_loads_and_has_alt_text(visits):
    assert any("_images/" in i["src"] for i in visits[CHAPTER]["images"]), "the chapter has figures"
    broken = {n: [i["src"] for i in v["images"] if i["width"] == 0] for n, v in visits.items()}
    no_alt = {n: [i["src"] for i in v["images"] if not (i["alt"] or "").strip()]
              for n, v in visits.items()}
    assert {n: s for n, s in broken.items() if s} == {}
    assert {n: s for n, s in no_alt.items() if s} == {}


def test_headings_nest_with_one_h1(visits):
    for name, visit in visits.items():
        levels = [h["level"] for h in visit["headings"]]
        assert levels.count(1) == 1 and levels[0] == 1, (name, visit["headings"])
        skips = [(a, b) for a, b in zip(levels, levels[1:]) if b > a + 1]
        assert skips == [], (name, visit["headings"])


def test_every_code_block_has_a_copy_button(visits):
    assert visits[CHAPTER]["codeBlocks"] > 10
    assert {n: v["withoutCopyButton"] for n, v in visits.items() if v["withoutCopyButton"]} == {}


def _fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, ""


def test_every_internal_link_resolves(visits, site):
    links = {link for v in visits.values() for link in v["links"] + v["icons"]
             if link.startswith(site)}
    targets = {}
    for url in sorted({urldefrag(link).url for link in links}):
        targets[url] = _fetch(url)
    assert {url: status for url, (status, _) in targets.items() if status != 200} == {}
    missing = []
    for link in links:
        url, fragment = urldefrag(link)
        body = targets[url][1]
        if fragment and not re.search(rf'\sid="{re.escape(unquote(fragment))}"', body):
            missing.append(link)
    assert sorted(missing) == []
    assert len(targets) > 10


@pytest.mark.parametrize("page", chapter_pages())
def test_search_finds_the_chapter(context, site, page):
    title = (ROOT / f"{page}.md").read_text().split("\n# ", 1)[1].splitlines()[0]
    term = max(title.split(), key=len)
    search = open_page(context, f"{site}search.html?q={term}")
    hit = search.locator(f'#search-results a[href*="{page}.html"]')
    hit.first.wait_for()
    assert search.errors == [] and search.failed == []
    search.close()


def _download_links(context, site, page_name):
    """Open a page's download menu; return its links (text -> absolute URL), checked visible."""
    page = open_page(context, site + page_name)
    page.locator(".dropdown-download-buttons > button").click()
    links = {}
    for link in page.locator(".dropdown-download-buttons a").all():
        assert link.is_visible()
        links[link.inner_text().strip()] = link.evaluate("a => a.href")
    launch = [a.evaluate("a => a.href") for a in page.locator(".dropdown-launch-buttons a").all()]
    page.close()
    return links, launch


def _notebook(url: str):
    status, text = _fetch(url)
    assert status == 200, url
    nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4
    nbformat.validate(nb)
    return nb, text


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercise_page_downloads_the_student_notebook(context, site, assignment):
    links, _ = _download_links(context, site, f"book/exercises/{assignment}.html")
    nb, text = _notebook(links[".ipynb"])
    assert "raise NotImplementedError()" in text
    assert leaks(text) == []  # no BEGIN SOLUTION / BEGIN HIDDEN TESTS, no solution line


@pytest.mark.parametrize("page", chapter_pages() + [f"book/exercises/{a}" for a in ASSIGNMENTS])
def test_page_offers_its_notebook_and_launches_it(context, site, page):
    links, launch = _download_links(context, site, f"{page}.html")
    assert ".ipynb" in links, links
    _notebook(links[".ipynb"])
    # Every launch service opens that same notebook (on the published site's branch), not a .md.
    notebook_path = urlsplit(links[".ipynb"]).path.lstrip("/")
    assert launch, "no launch buttons"
    for url in launch:
        assert unquote(unquote(url)).endswith(notebook_path), url


def test_screenshots_were_taken(visits):
    for name in (LANDING, CHAPTER):
        shot = SCREENSHOTS / f"{Path(name).stem}.png"
        assert shot.is_file() and shot.stat().st_size > 10_000, shot
