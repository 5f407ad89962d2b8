"""nbgrader preprocessors of our own, configured into nbgrader's pipelines by ``course``."""
import atexit

import nbformat
from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor, SaveAutoGrades
from traitlets import Bool, Dict, Integer, List, Unicode

from . import checks, execute, nbmeta, sandbox


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback shows what a hidden test found, never its code.

    nbgrader's feedback renders the autograded notebook, whose test cells hold the hidden tests
    restored from the gradebook, and their tracebacks quote those lines. This removes the hidden
    block from each test cell (as nbgrader's ``ClearHiddenTests`` does at release) and cuts the
    traceback of such a cell down to its last line, ``ExceptionType: message``.
    """

    def preprocess(self, nb, resources):
        self._clear = ClearHiddenTests(parent=self, enforce_metadata=False)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not nbmeta.is_grade(cell):
            return cell, resources
        had_hidden = self._clear.begin_test_delimeter in cell.source
        cell, resources = self._clear.preprocess_cell(cell, resources, index)
        if had_hidden:
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class SandboxedExecute(NbGraderPreprocessor):
    """Replaces nbgrader's ``Execute``: runs the notebook in the sandbox (see ``execute``) and
    leaves, for ``TrustedVerdicts``, what each test cell's check sent back."""

    slot = Integer(0, help="job slot: which unprivileged sandbox user runs the kernel").tag(config=True)
    hide = List(Unicode(), help="paths the kernel must not see (besides solutions/ and "
                                "the grader's own code)").tag(config=True)
    limits = Dict(help="every field of sandbox.Limits (memory, processes, file size, scratch "
                       "size, time per cell and per notebook, output caps); defaults for the "
                       "fields not given").tag(config=True)

    prestart = Bool(True, help="launch the next notebook's kernel while this one is judged "
                               "(a fresh kernel per notebook all the same)").tag(config=True)

    def runner(self) -> execute.Runner:
        """This configuration's runner, kept across notebooks: it holds the prestarted kernel."""
        limits = sandbox.Limits(**self.limits)
        key = (self.slot, tuple(self.hide), limits, self.prestart)
        if key not in RUNNERS:
            RUNNERS[key] = execute.Runner(slot=self.slot, hide=list(self.hide), limits=limits,
                                          prestart=self.prestart)
        return RUNNERS[key]

    def preprocess(self, nb, resources):
        execution = self.runner().run(resources["nbgrader"]["assignment"], nb)
        resources["execution"] = execution
        LAST_RUN.clear()
        LAST_RUN.update(seconds=execution.seconds, events=execution.events, verdicts={})
        return execution.notebook, resources


class TrustedVerdicts(NbGraderPreprocessor):
    """Judges every test cell from what its check sent back (``checks.judge``): the verdict (the
    failure messages, none for a pass) goes to ``resources["verdicts"]``, which ``SaveVerdicts``
    scores, so a student's stderr warning or patched ``assert`` changes nothing. The cell's
    outputs are set for reading: the grader's message on a failure, a line on a pass."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not nbmeta.is_grade(cell):
            return cell, resources
        gid = nbmeta.grade_id(cell)
        function, kind = nbmeta.split_grade_id(gid)
        assignment = resources["nbgrader"]["assignment"]
        captured = resources["execution"].captures.get(gid, "the grader's check did not run")
        if isinstance(captured, str):
            found = [f"{function}: {captured}"]
        else:
            found = checks.judge(assignment, function, kind, captured)
        # stderr never scores (a warning is harmless); the kernel's own errors count only on a
        # failure, where they show the student's traceback beside the grader's verdict
        shown = [o for o in cell.get("outputs", [])
                 if not (o.output_type == "stream" and o.name == "stderr")]
        errors = [o.ename for o in shown if o.output_type == "error"]
        if errors:  # what the student saw: their own run of this cell's visible asserts failed
            LAST_RUN.setdefault("kernel_errors", {})[gid] = errors[0]
        # The verdict is the score: SaveVerdicts writes it to the gradebook from here, and the
        # grade step reads the messages from the same record; the outputs below are for reading.
        resources.setdefault("verdicts", {})[gid] = found
        LAST_RUN.setdefault("verdicts", {})[gid] = found
        if found:
            message = checks.summary(function, found, kind)
            cell.outputs = shown + [nbformat.v4.new_output(
                "error", ename="CheckFailed", evalue=message, traceback=message.splitlines())]
        else:
            n = len(checks.cases(assignment, function, kind))
            cell.outputs = [o for o in shown if o.output_type != "error"] + [nbformat.v4.new_output(
                "stream", name="stdout", text=f"Grader: all {n} {kind} checks of {function} passed.\n")]
        return cell, resources


class SaveVerdicts(SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades``, scoring each test cell from the grader's verdict (full
    points when no case failed, none otherwise) instead of from the cell's outputs."""

    def _add_score(self, cell, resources):
        gid = nbmeta.grade_id(cell)
        grade = self.gradebook.find_grade(gid, self.notebook_id, self.assignment_id, self.student_id)
        verdict = resources.get("verdicts", {}).get(gid, ["the grader's check did not run"])
        grade.auto_score = 0.0 if verdict else float(nbmeta.nbgrader(cell)["points"])
        grade.needs_manual_grade = grade.manual_score is not None
        self.gradebook.db.commit()


RUNNERS: dict = {}


@atexit.register
def close_runners() -> None:
    """Stop every runner's spare kernel and zygote (more than once does no harm)."""
    for runner in RUNNERS.values():
        runner.close()


# What the last SandboxedExecute/TrustedVerdicts run in this process found (the grade step
# reads it right after nbgrader's autograde returns; one submission at a time per process).
LAST_RUN: dict = {}


class _MemoryBytecodeCache(BytecodeCache):
    def __init__(self):
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _MemoryBytecodeCache()


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback exporter, with its Jinja templates compiled once per process
    instead of once per student (a third of the time a feedback page takes): the cache is
    keyed by each template's name and source, so the output is the same."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _TEMPLATES
        return environment
