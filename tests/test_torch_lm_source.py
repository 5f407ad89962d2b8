"""The synthetic source of torch_lm lives in one place: the notebook's provided cell in
solutions/torch_lm.md, which the checks load through the reference. The book, which must run
without the repository, shows the same cell; this test keeps the two identical."""
import jupytext

from conftest import ROOT

NAMES = ("markov_source", "sample_markov", "entropy_rate")


def _cell(path):
    cells = [c.source for c in jupytext.read(path).cells
             if c.cell_type == "code" and "def markov_source" in c.source]
    assert len(cells) == 1, f"{path}: expected one cell defining the source, found {len(cells)}"
    return cells[0].strip()


def test_book_and_notebook_share_the_source():
    notebook = _cell(ROOT / "solutions" / "torch_lm.md")
    assert all(f"def {name}(" in notebook for name in NAMES)
    assert _cell(ROOT / "book" / "torch_lm" / "training.md") == notebook
