"""Execute a submission in a sandboxed kernel and capture what the checks need.

The grader, not the kernel, is in charge: it sends the notebook's cells one at a time, enforces
the wall-clock limits per cell and per notebook and the output cap, and at each test cell asks
the kernel (through ``probe``) to call the graded function on the check's inputs. The kernel runs
inside ``sandbox`` and talks to the grader over IPC sockets in a folder of its own (the one folder
it shares with the grader); its working directory is a tmpfs holding nothing but the notebook.

A cell that times out or kills the kernel (``os._exit``, a segfault, the memory cap) costs only
itself: the kernel is killed and restarted, the earlier cells that define things are run again
(without their outputs), and execution goes on with the next cell.

One job per module: ``kernels`` starts and stops the sandboxed kernels, ``capture`` speaks the
probe protocol of a test cell, and the :class:`Runner` here steps through a notebook, with its
restarts and replays.
"""
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from . import capture, nbmeta, sandbox
from .kernels import Kernels, SandboxError  # noqa: F401  (SandboxError: part of this API)


@dataclass
class Execution:
    """What came out of one run: the executed notebook (outputs in place), the raw results of
    each test cell's check (or why there are none), and what went wrong on the way."""
    notebook: nbformat.NotebookNode
    captures: dict[str, list | str] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Runner:
    """Runs notebooks in one job slot's sandbox, one fresh kernel each.

    With ``prestart``, the kernel of the next notebook is launched as soon as one is done, so
    that it boots while the grader judges and reports (a kernel is never used for two
    notebooks: the spare has run nothing but its own start-up)."""

    def __init__(self, *, slot: int = 0, hide: list[str] = (),
                 limits: sandbox.Limits = sandbox.Limits(), prestart: bool = False):
        # ``hide`` is kept for callers: the sandbox is an allow-list, nothing else is visible.
        self.limits, self.prestart = limits, prestart
        self.kernels = Kernels(slot=slot, limits=limits)
        self.assignment = None
        self._spare = None

    def prestart_for(self, assignment: str) -> None:
        """Launch the next notebook's kernel now (it warms up for ``assignment``)."""
        if self._spare is None:
            self.kernels.assignment = assignment
            self.kernels.sweep()  # anything an interrupted earlier run left
            self._spare = self.kernels.launch()

    def run(self, assignment: str, nb: nbformat.NotebookNode) -> Execution:
        started = time.monotonic()
        self.prestart_for(assignment)  # unless a spare is ready (whatever it warmed up for)
        self.assignment = self.kernels.assignment = assignment  # (the next spare warms up for it)
        spare, self._spare = self._spare, None
        workdir, client = spare
        try:
            execution = self._execute(nb, workdir, started, client)
        finally:
            self.kernels.sweep()
            shutil.rmtree(workdir, ignore_errors=True)
        execution.seconds = time.monotonic() - started
        if self.prestart:
            self._spare = self.kernels.launch()
        return execution

    def close_spare(self) -> None:
        if self._spare is not None:
            workdir, client = self._spare
            self._spare = None
            self.kernels.stop(client)
            shutil.rmtree(workdir, ignore_errors=True)

    def close(self) -> None:
        """Stop the spare kernel, if any, and remove this runner's folder."""
        self.close_spare()
        self.kernels.close()
        shutil.rmtree(self.kernels.base, ignore_errors=True)

    def _place(self, nb, client) -> None:
        """The notebook into the running kernel's working directory (its own tmpfs, which
        the grader cannot reach from outside), written by the kernel itself."""
        data = nbformat.writes(nb).encode()
        self.kernels.run_code(client, f"__import__('pathlib').Path({self.assignment + '.ipynb'!r})"
                               f".write_bytes({data!r})", index=-1)

    def _execute(self, nb, workdir: Path, started: float, client) -> Execution:
        execution = Execution(nb)
        deadline = started + self.limits.notebook_timeout_s
        try:
            if not client.km.has_kernel:
                raise SandboxError("the kernel was not launched")
            self.kernels.connect(client)
        except Exception:
            self.kernels.stop(client)
            client = self.kernels.start(workdir)
        self._place(nb, client)
        done = []  # code cells (not tests) run in the current kernel, replayed after a restart
        try:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 1:
                    self._skip(execution, cell, "the notebook reached its time limit "
                               f"({self.limits.notebook_timeout_s:g} s) before this cell")
                    continue
                # nbclient takes whole seconds
                client.timeout = max(1, int(min(self.limits.cell_timeout_s, remaining)))
                try:
                    self._step(client, execution, cell, index)
                    if not nbmeta.is_grade(cell):
                        done.append(index)
                except (CellTimeoutError, DeadKernelError) as err:
                    reason = (f"this cell ran longer than {client.timeout:g} s and was stopped"
                              if isinstance(err, CellTimeoutError) else
                              "the kernel died in this cell (exit, crash or memory limit)")
                    self._skip(execution, cell, reason)
                    execution.events.append(f"cell {index}: {reason}")
                    self.kernels.stop(client)
                    try:
                        client = self._restart(workdir, nb, done, deadline)
                    except SandboxError as err:
                        client = None
                        self._give_up(execution, nb.cells[index + 1:],
                                      f"the kernel could not be restarted after an earlier cell ({err})")
                        break
        finally:
            if client is not None:
                self.kernels.stop(client)
        return execution

    def _give_up(self, execution: Execution, cells, reason: str) -> None:
        execution.events.append(reason)
        for cell in cells:
            if cell.cell_type == "code":
                self._skip(execution, cell, reason)

    def _step(self, client, execution: Execution, cell, index: int) -> None:
        cell.outputs = []
        if not nbmeta.is_grade(cell):
            client.execute_cell(cell, index)
            return
        gid = nbmeta.grade_id(cell)
        execution.captures[gid] = "the grader's check did not run"
        execution.captures[gid] = capture.test_cell(self.kernels, client, self.assignment, cell, index)

    def _restart(self, workdir: Path, nb, done: list[int], deadline: float) :
        client = self.kernels.start(workdir)
        self._place(nb, client)
        for index in list(done):
            client.timeout = max(1, int(min(self.limits.cell_timeout_s, deadline - time.monotonic())))
            replay = nbformat.v4.new_code_cell(nb.cells[index].source)
            try:
                client.execute_cell(replay, index)
            except (CellTimeoutError, DeadKernelError):
                done.remove(index)  # it cannot be replayed: go on without it
                self.kernels.stop(client)
                return self._restart(workdir, nb, done, deadline)
        return client

    def _skip(self, execution: Execution, cell, reason: str) -> None:
        cell.outputs = list(cell.get("outputs", [])) + [nbformat.v4.new_output(
            "error", ename="GraderStopped", evalue=reason, traceback=[f"GraderStopped: {reason}"])]
        if nbmeta.is_grade(cell):
            execution.captures[nbmeta.grade_id(cell)] = reason
