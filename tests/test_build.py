"""The solutions sources become valid nbgrader notebooks, and the conventions are enforced."""
import nbformat
import pytest

from autograder import build, checks, nbmeta, paths, reference

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


def _source(tmp_path, monkeypatch, body, checks_source="CHECKS = []\n"):
    (tmp_path / "broken.md").write_text(HEADER + body)
    (tmp_path / "broken_checks.py").write_text(checks_source)
    monkeypatch.setenv(paths.EXTRA_ENV, str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "autograder.checks.broken", raising=False)
    for cached in (reference._read, checks._forms, checks.expected):
        cached.cache_clear()  # each test's own "broken" source


@pytest.mark.parametrize("body, complaint", [
    ("```{code-cell} ipython3\n:tags: [solution]\n\nx = 1\n```\n", "exactly one function"),
    ("```{code-cell} ipython3\n:tags: [test]\n:grade_id: f-visible\n:points: 1\n\nassert True\n```\n",
     "generated from the declared checks"),
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


def test_a_kind_without_cases_or_an_unknown_function_fails_the_build(tmp_path, monkeypatch):
    solution = ("```{code-cell} ipython3\n:tags: [solution]\n\ndef f(x):\n"
                "    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n```\n")
    declared = ("from autograder.checks import Case, Check\n"
                "CHECKS = [Check('f', lambda rng: [Case((1,), 'one')], extra={'gradient': lambda rng: []},\n"
                "                points={'visible': 1, 'hidden': 1, 'gradient': 1},\n"
                "                visible=lambda: [Case((2,), 'two')])]\n")
    _source(tmp_path, monkeypatch, solution, declared)
    with pytest.raises(build.SourceError, match="f-gradient declares no cases"):
        build.source_notebook("broken")
    _source(tmp_path, monkeypatch, solution, declared.replace("'f'", "'g'"))
    with pytest.raises(build.SourceError, match="differ from the checks declared"):
        build.source_notebook("broken")
    _source(tmp_path, monkeypatch, solution,
            declared.replace("lambda rng: []", "lambda rng: [Case((3,), 'three')]"))
    nb = build.source_notebook("broken")
    assert [nbmeta.grade_id(c) for c in nb.cells if nbmeta.is_grade(c)] == [
        "f-visible", "f-hidden", "f-gradient"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_parameters_read_from_the_source_match_the_executed_reference(assignment):
    """The build and the judge read parameter names from the source without running it (no
    torch in the grading process); they must be what the executed reference's signatures say."""
    import inspect

    module = reference.load(assignment)
    names = [n for n, obj in vars(module).items() if not n.startswith("_") and callable(obj)
             and getattr(obj, "__module__", None) == module.__name__]
    assert names
    for name in names:
        try:
            signature = tuple(inspect.signature(getattr(module, name)).parameters)
        except (TypeError, ValueError):
            signature = ()
        assert reference.parameters(assignment, name) == signature, name
    assert reference.parameters(assignment, "no_such_function") == ()
