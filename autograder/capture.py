"""The probe protocol, on the grader's side: what a test cell becomes when a notebook runs.

A test cell's visible part runs in the kernel as the student wrote it (for their reading); then,
where the cell stands, the kernel's probe (``probe.py``, set up from ``SETUP``) calls the graded
function on the check's inputs and sends the outcomes back as one display output of a private
MIME type, which :func:`read` takes apart. The verdict is the grader's (``checks.judge``).
"""
import json

import nbformat

from . import checks, nbmeta, paths
from .probe import MIME

# The probe runs in the kernel on the codec and the comparison code (one private namespace).
PROBE_FILES = ("codec.py", "checks/compare.py", "probe.py")
SETUP = "__rnn_grader__ = {'__name__': '__rnn_grader__'}\n" + "".join(
    f"exec({(paths.ROOT / 'autograder' / name).read_text()!r}, __rnn_grader__)\n"
    for name in PROBE_FILES)
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def visible_part(source: str) -> str:
    """A test cell's source without its hidden block (that runs on the grader's side)."""
    lines, hidden = [], False
    for line in source.splitlines():
        if line.strip() == HIDDEN_BEGIN:
            hidden = True
        elif line.strip() == HIDDEN_END:
            hidden = False
        elif not hidden:
            lines.append(line)
    return "\n".join(lines).strip()


def test_cell(kernels, client, assignment: str, cell, index: int):
    """Run a test cell: its visible part in the kernel (outputs into ``cell``), then the probe
    of its check; returns the raw outcomes, or why there are none."""
    gid = nbmeta.grade_id(cell)
    visible = visible_part(cell.source)
    if visible:
        shown = nbformat.v4.new_code_cell(visible)
        client.execute_cell(shown, index)
        cell.outputs, cell.execution_count = shown.outputs, shown.execution_count
    function, kind = nbmeta.split_grade_id(gid)
    request = checks.request(assignment, gid, function, kind)
    probe_cell = kernels.run_code(client, f"__rnn_grader__['capture'](globals(), {request!r})",
                                  index=-2 - index)
    return read(probe_cell, gid)


def read(cell, grade_id: str) -> list | str:
    for output in cell.outputs:
        text = output.get("data", {}).get(MIME)
        if text is None:
            continue
        try:
            message = json.loads(text)
        except (TypeError, ValueError):
            return "the grader received malformed results"
        if isinstance(message, dict) and message.get("id") == grade_id:
            return message.get("results")
    errors = [o for o in cell.outputs if o.output_type == "error"]
    if errors:
        return f"the grader's check stopped with {errors[0].ename}: {str(errors[0].evalue)[:200]}"
    return "the grader received no results (was the output cap reached?)"
