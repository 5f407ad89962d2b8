"""One torch<->numpy adapter serves the checks and the book.

A chapter page must run as a downloaded notebook, without this repository, so it cannot import
``autograder.adapters``. A page that maps PyTorch's weights to the course's numpy weights, or
picks a gate's block, defines the adapter's functions it needs in a code cell whose first line
is ``MARKER``, copied from ``autograder/adapters.py`` verbatim, and uses them (d2l's ``#@save``
habit, with the module as the one source). These tests keep the copies identical to the module
(as ``ast`` trees: docstrings and defaults count, comments and layout do not), and keep the
pages from re-deriving the mapping elsewhere: a line that names one of PyTorch's recurrent
parameters (``weight_ih_l0``, ``bias_hh``, ...) and transposes, slices or splits it, or that
slices gate blocks by hand (``.chunk(4)``, ``np.split(a, 3, ...)``, ``[H:2 * H]``), must sit in
a marked cell or say ``OPT_OUT`` (a page showing PyTorch's own layout on purpose). No book
execution: the pages are parsed, not run.
"""
import ast
import re
from pathlib import Path

import jupytext
import pytest

from conftest import ROOT

MARKER = "# the course's adapter (autograder/adapters.py)"
OPT_OUT = "# layout demo"
ADAPTERS = ROOT / "autograder" / "adapters.py"
PAGES = sorted((ROOT / "book").rglob("*.md"))
# The pages that teach or use the adapter: each must keep a marked cell.
USERS = ["rnn/shapes.md", "rnn/deep_bidirectional.md", "lstm_gru/why_gating.md",
         "lstm_gru/lstm.md", "lstm_gru/gru.md", "lstm_gru/conventions.md"]

PARAMETER = re.compile(r"\b(?:weight|bias)_(?:ih|hh)(?:_l\d+(?:_reverse)?)?\b")
REARRANGE = re.compile(r"\.T\b|\.mT\b|\.t\(\)|\.transpose\(|\.permute\(|\.chunk\(|\.split\("
                       r"|\[[^\]]*:[^\]]*\]")
GATE_SLICE = re.compile(r"\.chunk\(\s*[34]\b|np\.split\([^#]*,\s*[34]\s*[,)]"
                        r"|\[[^\]#]*\d\s*\*\s*\w+\s*:|\[[^\]#]*:\s*\d\s*\*\s*\w+")


def definitions(tree: ast.Module) -> dict[str, ast.stmt]:
    """The top-level functions, classes and assigned names of a module or cell."""
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            found[node.name] = node
        elif isinstance(node, ast.Assign):
            found.update((t.id, node) for t in node.targets if isinstance(t, ast.Name))
    return found


ADAPTER = definitions(ast.parse(ADAPTERS.read_text()))


def code_cells(page: Path) -> list[str]:
    nb = jupytext.reads(page.read_text(), fmt="md:myst")
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def is_marked(source: str) -> bool:
    return source.lstrip().startswith(MARKER)


def copy_problems(source: str, adapter: dict = ADAPTER) -> list[str]:
    """Why a marked cell is not a verbatim copy of the adapter: a definition that differs from
    the module's, or is not in it; a statement that is neither an import nor a definition."""
    problems = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        names = list(definitions(ast.Module(body=[node], type_ignores=[])))
        if not names:
            problems.append(f"line {node.lineno}: not a definition ({ast.unparse(node)[:60]})")
        for name in names:
            if name not in adapter:
                problems.append(f"{name}: not in autograder/adapters.py")
            elif ast.dump(adapter[name]) != ast.dump(node):
                problems.append(f"{name}: differs from autograder/adapters.py")
    return problems


def helpers_missing(sources: list[str], adapter: dict = ADAPTER) -> list[str]:
    """Adapter names that a copied function uses but that no marked cell of the page defines."""
    defined = set().union(*(definitions(ast.parse(s)) for s in sources))
    used = {n.id for s in sources for n in ast.walk(ast.parse(s))
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return sorted((used & set(adapter)) - defined)


def ad_hoc_lines(source: str) -> list[str]:
    """The lines of an unmarked cell that transpose, slice or split PyTorch's recurrent weights,
    or slice gate blocks by hand, without the opt-out comment."""
    return [line.strip() for line in source.splitlines()
            if OPT_OUT not in line
            and ((PARAMETER.search(line) and REARRANGE.search(line)) or GATE_SLICE.search(line))]


def marked_cells() -> list[tuple[str, int, str]]:
    return [(str(page.relative_to(ROOT / "book")), k, source)
            for page in PAGES for k, source in enumerate(code_cells(page)) if is_marked(source)]


MARKED = marked_cells()


def test_every_user_page_has_a_marked_cell():
    pages = {page for page, _, _ in MARKED}
    assert set(USERS) <= pages, f"no marked cell in {sorted(set(USERS) - pages)}"


@pytest.mark.parametrize("page, index, source", MARKED,
                         ids=[f"{page}:{k}" for page, k, _ in MARKED])
def test_a_marked_cell_is_the_adapter_verbatim(page, index, source):
    assert copy_problems(source) == [], f"{page}, code cell {index}"


@pytest.mark.parametrize("page", sorted({page for page, _, _ in MARKED}))
def test_a_page_copies_the_helpers_it_uses(page):
    sources = [source for p, _, source in MARKED if p == page]
    assert helpers_missing(sources) == [], page


def test_no_page_maps_the_weights_on_its_own():
    found = {}
    for page in PAGES:
        for k, source in enumerate(code_cells(page)):
            if not is_marked(source) and ad_hoc_lines(source):
                found[f"{page.relative_to(ROOT / 'book')}, code cell {k}"] = ad_hoc_lines(source)
    assert found == {}


def test_the_checks_catch_a_planted_divergence():
    page, _, source = next(m for m in MARKED if "def weights_from_torch" in m[2])
    assert copy_problems(source) == []
    # the transpose dropped: an ordinary-looking, wrong copy
    wrong = source.replace('p["weight_ih" + end].T.copy()', 'p["weight_ih" + end].copy()')
    assert wrong != source
    assert copy_problems(wrong) == ["weights_from_torch: differs from autograder/adapters.py"]
    # a changed default, a docstring edited, a stray statement, a function of the page's own
    assert copy_problems(source.replace("layer=0", "layer=1", 1))
    assert copy_problems(source.replace('"""The course', '"""My course', 1))
    assert copy_problems(source + "\nprint(1)\n")[0].endswith("(print(1))")
    assert copy_problems(source + "\ndef helper():\n    pass\n") == [
        "helper: not in autograder/adapters.py"]
    # comments and layout are free
    assert copy_problems(source.replace("    end = ", "    # a comment\n    end =  ", 1)) == []
    # a copy that calls an adapter function without copying it
    assert helpers_missing(["def f(a):\n    return gate(a, 'f')\n"]) == ["gate"]
    # ad-hoc mappings in an unmarked cell, and the opt-out
    assert ad_hoc_lines('W = params["weight_ih_l0"].T.copy()')
    assert ad_hoc_lines("b = cell.bias_ih[H:2 * H]")
    assert ad_hoc_lines("i, f, g, o = a.chunk(4, dim=1)")
    assert ad_hoc_lines("r, z, n = np.split(a, 3, axis=1)")
    assert ad_hoc_lines("n = Wh[:, 2 * H:]")
    assert not ad_hoc_lines("i, f, o, g = np.split(a, 4, axis=1)  " + OPT_OUT)
    assert not ad_hoc_lines("rnn.weight_ih_l0.fill_(0.5)")
    assert not ad_hoc_lines("half = out[0, :, H:]")
