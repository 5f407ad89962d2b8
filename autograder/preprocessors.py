"""nbgrader preprocessors of our own, configured into nbgrader's pipelines by ``course``."""
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

from . import nbmeta


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
