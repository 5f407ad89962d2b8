"""The solutions sources become valid nbgrader notebooks, and the conventions are enforced."""
import nbformat
import pytest

from autograder import build, checks, nbmeta, paths

from conftest import ASSIGNMENTS

HEADER = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
"""


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebook_has_nbgrader_metadata(assignment):
    nb = build.source_notebook(assignment)
    nbformat.validate(nb)
    solutions = [c for c in nb.cells if nbmeta.is_solution(c)]
    tests = [c for c in nb.cells if nbmeta.is_grade(c)]
    assert solutions and tests
    for cell in solutions:
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
        assert nbmeta.defined_functions(cell.source) == [nbmeta.grade_id(cell)]
    for cell in tests:
        meta = nbmeta.nbgrader(cell)
        assert meta["locked"] and meta["points"] > 0
        assert nbmeta.graded_function(meta["grade_id"]) in build.graded_functions(nb)
    assert all("tags" not in c.metadata or not set(c.metadata.tags) & set(nbmeta.COURSE_TAGS)
               for c in nb.cells)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_function_has_declared_hidden_checks(assignment):
    nb = build.source_notebook(assignment)
    assert build.graded_functions(nb) == checks.declared_functions(assignment)
    hidden = {nbmeta.graded_function(nbmeta.grade_id(c)) for c in nb.cells
              if nbmeta.is_grade(c) and "BEGIN HIDDEN TESTS" in c.source}
    assert hidden == set(checks.declared_functions(assignment))


def test_contract_functions_of_sequences():
    assert checks.declared_functions("sequences") == [
        "build_vocab", "encode", "decode", "one_hot", "make_windows", "cbow_context",
        "lag_correlation"]


def _source(tmp_path, monkeypatch, body):
    (tmp_path / "broken.md").write_text(HEADER + body)
    monkeypatch.setattr(paths, "SOLUTIONS", tmp_path)


@pytest.mark.parametrize("body, complaint", [
    ("```{code-cell} ipython3\n:tags: [solution]\n\nx = 1\n```\n", "exactly one function"),
    ("```{code-cell} ipython3\n:tags: [test]\n:points: 1\n\nassert True\n```\n", "grade_id"),
    ("```{code-cell} ipython3\n:tags: [test]\n:grade_id: f-visible\n\nassert True\n```\n", "points"),
    ("```{code-cell} ipython3\n:grade_id: f-visible\n\nassert True\n```\n", "without a course tag"),
])
def test_malformed_sources_are_rejected(tmp_path, monkeypatch, body, complaint):
    _source(tmp_path, monkeypatch, body)
    with pytest.raises(build.SourceError, match=complaint):
        build.source_notebook("broken")


def test_release_has_stubs_and_no_hidden_tests(released):
    for path in released.values():
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            assert "BEGIN SOLUTION" not in cell.source and "BEGIN HIDDEN" not in cell.source
            if nbmeta.is_solution(cell):
                assert "raise NotImplementedError()" in cell.source
