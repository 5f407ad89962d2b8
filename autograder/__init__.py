"""The course's autograder: instructor sources in, nbgrader assignments, grades and feedback out.

Pipeline (one module per step):

- ``build``: ``solutions/<assignment>.md`` (MyST, with compact cell tags) -> an nbgrader *source*
  notebook with full nbgrader cell metadata. The reference solution lives only in that file.
- ``release``: nbgrader ``generate_assignment`` -> the student notebook (no solutions, no hidden
  tests).
- ``grade``: nbgrader ``autograde`` / ``generate_feedback`` over a folder of submissions, after
  ``intake`` has checked and repaired each submission, then ``report`` writes the CSV files.
- ``checks``: the hidden checks of every graded function, declared once (inputs, oracle,
  tolerance, messages); hidden test cells only name them.

The CLI (``python -m autograder``) is a thin layer over ``release.release`` and ``grade.grade``,
which return structured results.
"""
import sys

# jsonschema (through nbformat) imports the optional `rfc3987_syntax`, which compiles 38 grammars
# at import (~0.9 s, in every grading process) to check an "iri" string format that no notebook
# schema uses; hidden, jsonschema leaves that one checker out (tools/jb.py does the same).
sys.modules.setdefault("rfc3987_syntax", None)


def quiet_library_warnings() -> None:
    """nbgrader 0.9.6 on SQLAlchemy 2.x prints harmless autoflush warnings by the dozen."""
    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)
