"""The book builds with warnings as errors, and every chapter was executed at build time."""
import re

import yaml

from conftest import ROOT


def chapter_pages():
    """The MyST chapter pages listed in _toc.yml (the exercise pages are shown, not run)."""
    toc = (ROOT / "_toc.yml").read_text()
    files = re.findall(r"file:\s*(\S+)", toc)
    return [f for f in files if (ROOT / f"{f}.md").is_file()
            and "code-cell" in (ROOT / f"{f}.md").read_text()]


def test_config_builds_only_the_toc_and_offline():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["only_build_toc_files"] is True
    assert ".venv" in config["exclude_patterns"]
    assert "book/exercises/*" in config["execute"]["exclude_patterns"]


def test_every_chapter_executed(built_book):
    pages = chapter_pages()
    assert "book/sequential_data/order" in pages
    for page in pages:
        html = (built_book / f"{page}.html").read_text()
        outputs = html.count('class="cell_output')
        assert outputs > 0, f"{page} shows no cell output: it was not executed"
        assert "Traceback" not in html, page


def test_mathjax_is_served_locally(built_book):
    html = (built_book / "book" / "sequential_data" / "order.html").read_text()
    scripts = re.findall(r'<script[^>]+src="([^"]*mathjax[^"]*)"', html, flags=re.I)
    assert scripts and all(not s.startswith(("http:", "https:", "//")) for s in scripts), scripts
    assert (built_book / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()
