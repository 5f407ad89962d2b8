"""An nbgrader course directory and the nbgrader steps run on it, configured in one place.

nbgrader's own layout is used unchanged (``source/``, ``release/``, ``submitted/``,
``autograded/``, ``feedback/`` under one root, see ``nbgrader.coursedir``), so an instructor can
open the same folder with the ``nbgrader`` command line or formgrader.
"""
import os
import sys
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import GetGrades
from nbgrader.utils import capture_log, temp_attrs
from traitlets.config import Config

from . import build, paths
from .preprocessors import HideHiddenTests

COURSE_ID = "rnn-course"
# What replaces a solution in the student version (nbgrader's default stub, made explicit).
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
CELL_TIMEOUT_S = 120


class StepFailed(RuntimeError):
    """An nbgrader step reported failure; the message holds its captured log."""


def _environment() -> None:
    # nbgrader 0.9.6 runs `alembic` in a subprocess (gradebook migrations): it must be on PATH.
    # The grading kernel imports autograder.checks for the hidden tests: the repo goes on its path.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    pythonpath = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if str(paths.ROOT) not in pythonpath:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(paths.ROOT)] + [p for p in pythonpath if p])


class Course:
    """One nbgrader course directory rooted at ``root``, its gradebook at ``db_url``."""

    def __init__(self, root, db_url: str | None = None):
        _environment()
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_url = db_url or f"sqlite:///{self.root / 'gradebook.db'}"
        self.config = Config()
        self.config.CourseDirectory.root = str(self.root)
        self.config.CourseDirectory.course_id = COURSE_ID
        self.config.CourseDirectory.db_url = self.db_url
        self.config.ClearSolutions.code_stub = {"python": CODE_STUB}
        self.config.Execute.timeout = CELL_TIMEOUT_S
        self.config.Execute.interrupt_on_timeout = True
        # Feedback goes to students: no hidden-test code in it (see preprocessors.py).
        self.config.GenerateFeedback.preprocessors = [
            GetGrades, CSSHTMLHeaderPreprocessor, HideHiddenTests]
        self.coursedir = CourseDirectory(config=self.config)

    def path(self, step: str, assignment: str, student: str = ".") -> Path:
        """The folder of one step for one assignment (and student), nbgrader's layout."""
        return Path(self.coursedir.format_path(step, student, assignment))

    def generate(self, assignment: str) -> Path:
        """Build the source notebook and run nbgrader ``generate_assignment``; returns the
        student notebook's path."""
        from nbgrader.converters import GenerateAssignment

        build.write_source(assignment, self.root)
        self._run(GenerateAssignment, assignment_id=assignment, force=True, create_assignment=True)
        return self.path(self.coursedir.release_directory, assignment) / f"{assignment}.ipynb"

    def autograde(self, assignment: str, student: str) -> None:
        from nbgrader.converters import Autograde

        self._run(Autograde, assignment_id=assignment, student_id=student, force=True,
                  create_student=True)

    def feedback(self, assignment: str, student: str) -> Path:
        from nbgrader.converters import GenerateFeedback

        self._run(GenerateFeedback, assignment_id=assignment, student_id=student, force=True)
        return self.path(self.coursedir.feedback_directory, assignment, student) / f"{assignment}.html"

    def _run(self, converter_class, *, assignment_id, student_id="*", **options):
        with temp_attrs(self.coursedir, assignment_id=assignment_id, student_id=student_id):
            app = converter_class(coursedir=self.coursedir, config=self.config)
            for name, value in options.items():
                setattr(app, name, value)
            result = capture_log(app)
        if not result["success"]:
            raise StepFailed(f"{converter_class.__name__} failed for {assignment_id}/{student_id}:\n"
                             + result.get("log", "") + result.get("error", ""))
        return result
