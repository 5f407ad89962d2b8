"""An nbgrader course directory and the nbgrader steps run on it, configured in one place.

nbgrader's own layout is used unchanged (``source/``, ``release/``, ``submitted/``,
``autograded/``, ``feedback/`` under one root, see ``nbgrader.coursedir``), so an instructor can
open the same folder with the ``nbgrader`` command line or formgrader.
"""
import dataclasses
import os
import sys
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.coursedir import CourseDirectory
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, GetGrades,
                                    IgnorePattern, LimitOutput)
from nbgrader.utils import capture_log, temp_attrs
from traitlets.config import Config

from . import build
from .sandbox import Limits
from .preprocessors import (FeedbackExporter, HideHiddenTests, SandboxedExecute,
                            SaveVerdicts, TrustedVerdicts)

COURSE_ID = "rnn-course"
# What replaces a solution in the student version (nbgrader's default stub, made explicit).
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


class StepFailed(RuntimeError):
    """An nbgrader step reported failure; the message holds its captured log."""


def _environment() -> None:
    # nbgrader 0.9.6 runs `alembic` in a subprocess (gradebook migrations): it must be on PATH.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    import nbgrader.api

    nbgrader.api.get_alembic_version = alembic_head


def alembic_head() -> str:
    """The revision nbgrader stamps a new gradebook with. nbgrader 0.9.6 asks a subprocess
    (``alembic heads``) for it: ~2.5 s of imports at the start of every grading run. The same
    answer, read from nbgrader's migration scripts in this process, takes ~0.1 s."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    heads = ScriptDirectory(ALEMBIC_DIR).get_heads()
    if len(heads) != 1:  # nbgrader's own code takes the first line; never guess between two
        raise RuntimeError(f"nbgrader's migrations have {len(heads)} heads: {heads}")
    return heads[0]


class Course:
    """One nbgrader course directory rooted at ``root``, its gradebook at ``db_url``."""

    def __init__(self, root, db_url: str | None = None, *, slot: int = 0, hide=(),
                 limits: Limits = Limits()):
        _environment()
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_url = db_url or f"sqlite:///{self.root / 'gradebook.db'}"
        self.config = Config()
        self.config.CourseDirectory.root = str(self.root)
        self.config.CourseDirectory.course_id = COURSE_ID
        self.config.CourseDirectory.db_url = self.db_url
        self.config.ClearSolutions.code_stub = {"python": CODE_STUB}
        # Autograde as nbgrader does, except that the notebook runs in the sandbox and the
        # scores come from the grader's own judgment (preprocessors.py); order as nbgrader's.
        self.config.Autograde.autograde_preprocessors = [
            SandboxedExecute, TrustedVerdicts, IgnorePattern, ClearMetadataPreprocessor,
            LimitOutput, SaveVerdicts, AssignLatePenalties, CheckCellMetadata]
        # Feedback goes to students: no hidden-test code in it (see preprocessors.py).
        self.config.GenerateFeedback.preprocessors = [
            GetGrades, CSSHTMLHeaderPreprocessor, HideHiddenTests]
        self.config.GenerateFeedback.exporter_class = FeedbackExporter
        self.config.SandboxedExecute.slot = slot
        self.config.SandboxedExecute.hide = [str(self.root), *map(str, hide)]
        self.config.SandboxedExecute.limits = dataclasses.asdict(limits)
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
        return self.released(assignment)

    def released(self, assignment: str) -> Path:
        """The student notebook generated for ``assignment`` (after :meth:`generate`)."""
        return self.path(self.coursedir.release_directory, assignment) / f"{assignment}.ipynb"

    def add_students(self, students: list[str]) -> None:
        """Create the students up front: parallel autogrades would race to create them."""
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url, self.coursedir.course_id) as gb:
            for student in students:
                gb.update_or_create_student(student)

    def warm_up(self, assignment: str) -> None:
        """Launch the kernel of the first notebook now, warming up for ``assignment``, so that
        it boots while this process is still getting ready."""
        SandboxedExecute(config=self.config).runner().prestart_for(assignment)

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
