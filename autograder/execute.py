"""Execute a submission in a sandboxed kernel and capture what the checks need.

The grader, not the kernel, is in charge: it sends the notebook's cells one at a time, enforces
the wall-clock limits per cell and per notebook and the output cap, and at each test cell asks
the kernel (through ``probe``) to call the graded function on the check's inputs. The kernel runs
inside ``sandbox`` and talks to the grader over IPC sockets in a folder of its own (the one folder
it shares with the grader); its working directory is a tmpfs holding nothing but the notebook.

A cell that times out or kills the kernel (``os._exit``, a segfault, the memory cap) costs only
itself: the kernel is killed and restarted, the earlier cells that define things are run again
(without their outputs), and execution goes on with the next cell.
"""
import ast
import functools
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_core.utils import ensure_async, run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from . import checks, nbmeta, paths, reference, sandbox
from .probe import MIME

# The probe runs in the kernel on the codec and the comparison code (one private namespace).
PROBE_FILES = ("codec.py", "checks/compare.py", "probe.py")
SETUP = "__rnn_grader__ = {'__name__': '__rnn_grader__'}\n" + "".join(
    f"exec({(paths.ROOT / 'autograder' / name).read_text()!r}, __rnn_grader__)\n"
    for name in PROBE_FILES)
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
START_TIMEOUT_S = 60


class SandboxError(RuntimeError):
    """The sandbox itself failed (no kernel could start): a grader problem, not the student's."""


@dataclass
class Execution:
    """What came out of one run: the executed notebook (outputs in place), the raw results of
    each test cell's check (or why there are none), and what went wrong on the way."""
    notebook: nbformat.NotebookNode
    captures: dict[str, list | str] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    seconds: float = 0.0


class SandboxKernelManager(AsyncKernelManager):
    """A kernel started through the sandbox launcher, reachable only over IPC sockets."""

    def __init__(self, prefix: list[str], workdir: Path, owner: str | None, life: int, **kwargs):
        # New socket paths for each kernel life: a killed kernel's sockets may linger a moment.
        super().__init__(transport="ipc", ip=str(workdir / f"kernel{life}"),
                         connection_file=str(workdir / f"connection{life}.json"), **kwargs)
        self._prefix, self._owner = prefix, owner

    warm: tuple = ()  # modules the kernel imports as it starts, before any student code

    def format_kernel_cmd(self, extra_arguments=None):
        # The imports run while the kernel boots, which a prestarted kernel does while the
        # grader judges the previous notebook: torch's ~2 s leave the critical path. They only
        # fill sys.modules; no name reaches the student's namespace.
        lines = [f"--IPKernelApp.exec_lines=__import__('importlib').import_module({m!r})"
                 for m in self.warm]
        return self._prefix + super().format_kernel_cmd(extra_arguments) + lines

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self._owner:  # the kernel runs as the slot's user and must read it
            entry = pwd.getpwnam(self._owner)
            os.chown(self.connection_file, entry.pw_uid, entry.pw_gid)


class CappedClient(NotebookClient):
    """nbclient with an output cap per cell; capture outputs go to their own budget."""

    def __init__(self, nb, limits: sandbox.Limits, **kwargs):
        super().__init__(nb, timeout=limits.cell_timeout_s, interrupt_on_timeout=False,
                         allow_errors=True, record_timing=False, raise_on_iopub_timeout=False,
                         iopub_timeout=5, **kwargs)
        self.limits = limits
        self.cell_bytes: dict[int, int] = {}
        self.capture_bytes = 0

    async def _async_check_alive(self) -> None:
        # nbclient asks the heartbeat channel, which a kernel looping on a loaded machine can
        # miss: a spurious "dead kernel" would cost points. The launcher process tells the truth.
        if not await ensure_async(self.km.is_alive()):
            raise DeadKernelError("Kernel died")

    def output(self, outs, msg, display_id, cell_index):
        data = msg["content"].get("data") or {}
        size = len(json.dumps(msg["content"], default=str))
        if MIME in data:
            self.capture_bytes += size
            if self.capture_bytes > self.limits.capture_mb * 2**20:
                return None
            return super().output(outs, msg, display_id, cell_index)
        used = self.cell_bytes.get(cell_index, 0)
        budget = self.limits.output_kb_per_cell * 1024
        self.cell_bytes[cell_index] = used + size
        if used + size <= budget:
            return super().output(outs, msg, display_id, cell_index)
        if used <= budget:
            outs.append(nbformat.v4.new_output(
                "stream", name="stdout",
                text=f"\n[output truncated by the grader: more than {self.limits.output_kb_per_cell} KB]\n"))
        return None


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


class Runner:
    """Runs notebooks in one job slot's sandbox, one fresh kernel each.

    With ``prestart``, the kernel of the next notebook is launched as soon as one is done, so
    that it boots while the grader judges and reports (a kernel is never used for two
    notebooks: the spare has run nothing but its own start-up)."""

    def __init__(self, *, slot: int = 0, hide: list[str] = (),
                 limits: sandbox.Limits = sandbox.Limits(), prestart: bool = False):
        # ``hide`` is kept for callers: the sandbox is an allow-list, nothing else is visible.
        self.limits, self.prestart = limits, prestart
        self.sandboxed = sandbox.sandboxed()  # raises sandbox.Unavailable: never silently less
        self.user = sandbox.slot_user(slot)
        if not self.sandboxed:  # orphans of the unsafe mode; a sandbox's die with its PID namespace
            sandbox.become_subreaper()
        self.base = Path(sandbox.run_folder())  # this process's own: no other run shares it
        self._scratch = nbformat.v4.new_notebook(cells=_Discard())
        self._lives = 0
        self.assignment = None  # the last one run: the prestarted kernel warms up for it
        self._spare = None

    def run(self, assignment: str, nb: nbformat.NotebookNode) -> Execution:
        started = time.monotonic()
        self.assignment = assignment
        spare, self._spare = self._spare, None
        if spare is None:
            sandbox.kill_user_processes(self.user)  # anything an interrupted earlier run left
            spare = self._launch()
        workdir, client = spare
        try:
            execution = self._execute(nb, workdir, started, client)
        finally:
            sandbox.kill_user_processes(self.user)
            shutil.rmtree(workdir, ignore_errors=True)
        execution.seconds = time.monotonic() - started
        if self.prestart:
            self._spare = self._launch()
        return execution

    def close(self) -> None:
        """Stop the spare kernel, if any, and remove this runner's folder."""
        if self._spare is not None:
            workdir, client = self._spare
            self._spare = None
            self._stop(client)
        shutil.rmtree(self.base, ignore_errors=True)

    def _launch(self) -> tuple[Path, "CappedClient"]:
        """A new working directory and a kernel process starting in it (not waited for)."""
        workdir = Path(tempfile.mkdtemp(prefix="kernel-", dir=self.base))
        home = workdir / "home"  # the kernel's working directory without the sandbox (unsafe)
        home.mkdir()
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in (workdir, home):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(workdir, 0o700)  # connection files and IPC sockets, the slot user's only
        client = self._client(workdir)
        try:
            self._spawn(client, workdir)
        except Exception:  # _execute starts a kernel afresh, with retries
            pass
        return workdir, client

    def _place(self, nb, client) -> None:
        """The notebook into the running kernel's working directory (its own tmpfs, which
        the grader cannot reach from outside), written by the kernel itself."""
        data = nbformat.writes(nb).encode()
        self._run_code(client, f"__import__('pathlib').Path({self.assignment + '.ipynb'!r})"
                               f".write_bytes({data!r})", index=-1)

    def _environment(self, workdir: Path) -> dict[str, str]:
        home = Path(sandbox.HOME) if self.sandboxed else workdir / "home"
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home),
               "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(home / ".config"),
               "IPYTHONDIR": str(home / ".ipython"), "XDG_CACHE_HOME": str(home / ".cache"),
               "PYTHONNOUSERSITE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
               # one thread per library: parallel jobs share the cores, threads count as processes
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # set where OpenBLAS needs them
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def _client(self, workdir: Path) -> CappedClient:
        prefix = sandbox.launcher_command(user=self.user, limits=self.limits, workdir=str(workdir))
        self._lives += 1
        km = SandboxKernelManager(prefix, workdir, self.user, self._lives)
        km.warm = warm_modules(self.assignment) if self.assignment else ()
        return CappedClient(self._scratch, self.limits, km=km, startup_timeout=START_TIMEOUT_S)

    def _spawn(self, client: CappedClient, workdir: Path) -> None:
        # The kernel's own stdout/stderr (not its cells' output) would reach the grader's
        # terminal: a student's forked processes can write there endlessly.
        client.start_new_kernel(env=self._environment(workdir), cwd=str(workdir / "home"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _connect(self, client: CappedClient) -> None:
        client.start_new_kernel_client()
        client.reset_execution_trackers()
        self._run_code(client, SETUP, index=-1)

    def _start(self, workdir: Path, attempts: int = 2) -> CappedClient:
        for attempt in range(attempts):
            client = self._client(workdir)
            try:
                self._spawn(client, workdir)
                self._connect(client)
                return client
            except Exception as err:
                self._stop(client)
                if attempt == attempts - 1:
                    raise SandboxError(f"the sandboxed kernel did not start: {err}") from err

    def _run_code(self, client: CappedClient, code: str, index: int) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell(code)
        client.execute_cell(cell, index, store_history=False)
        return cell

    def _execute(self, nb, workdir: Path, started: float, client) -> Execution:
        execution = Execution(nb)
        deadline = started + self.limits.notebook_timeout_s
        try:
            if not client.km.has_kernel:
                raise SandboxError("the kernel was not launched")
            self._connect(client)
        except Exception:
            self._stop(client)
            client = self._start(workdir)
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
                    self._stop(client)
                    try:
                        client = self._restart(workdir, nb, done, deadline)
                    except SandboxError as err:
                        client = None
                        self._give_up(execution, nb.cells[index + 1:],
                                      f"the kernel could not be restarted after an earlier cell ({err})")
                        break
        finally:
            if client is not None:
                self._stop(client)
        return execution

    def _give_up(self, execution: Execution, cells, reason: str) -> None:
        execution.events.append(reason)
        for cell in cells:
            if cell.cell_type == "code":
                self._skip(execution, cell, reason)

    def _stop(self, client) -> None:
        # The user's processes first: the kernel is then reaped by its launcher, which the
        # kernel manager reaps in turn (killing the launcher first would leave zombies that
        # count against the slot user's process limit).
        sandbox.kill_user_processes(self.user)
        _shutdown(client.km)
        sandbox.reap(self.user)

    def _step(self, client, execution: Execution, cell, index: int) -> None:
        cell.outputs = []
        if not nbmeta.is_grade(cell):
            client.execute_cell(cell, index)
            return
        gid = nbmeta.grade_id(cell)
        execution.captures[gid] = "the grader's check did not run"
        visible = visible_part(cell.source)
        if visible:
            shown = nbformat.v4.new_code_cell(visible)
            client.execute_cell(shown, index)
            cell.outputs, cell.execution_count = shown.outputs, shown.execution_count
        function, kind = nbmeta.split_grade_id(gid)
        request = checks.request(self.assignment, gid, function, kind)
        probe_cell = self._run_code(client, f"__rnn_grader__['capture'](globals(), {request!r})",
                                    index=-2 - index)
        execution.captures[gid] = _read_capture(probe_cell, gid)

    def _restart(self, workdir: Path, nb, done: list[int], deadline: float) -> CappedClient:
        client = self._start(workdir)
        self._place(nb, client)
        for index in list(done):
            client.timeout = max(1, int(min(self.limits.cell_timeout_s, deadline - time.monotonic())))
            replay = nbformat.v4.new_code_cell(nb.cells[index].source)
            try:
                client.execute_cell(replay, index)
            except (CellTimeoutError, DeadKernelError):
                done.remove(index)  # it cannot be replayed: go on without it
                self._stop(client)
                return self._restart(workdir, nb, done, deadline)
        return client

    def _skip(self, execution: Execution, cell, reason: str) -> None:
        cell.outputs = list(cell.get("outputs", [])) + [nbformat.v4.new_output(
            "error", ename="GraderStopped", evalue=reason, traceback=[f"GraderStopped: {reason}"])]
        if nbmeta.is_grade(cell):
            execution.captures[nbmeta.grade_id(cell)] = reason


class _Discard(list):
    """nbclient stores each executed cell back at ``nb.cells[index]``; cells are executed one at
    a time here and kept by the grader, so the client's notebook drops what it is given."""

    def __setitem__(self, index, value):
        pass


def _read_capture(cell, grade_id: str) -> list | str:
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


def _shutdown(km) -> None:
    try:
        run_sync(km.shutdown_kernel)(now=True)
    except Exception:  # already dead, or never started: nothing left to stop
        pass


@functools.cache
def warm_modules(assignment: str) -> tuple:
    """The top-level modules the assignment's own setup cells import (from the instructor
    source, never from a submission, which could name anything)."""
    names = []
    for cell in reference.cells(assignment).cells:
        if cell.cell_type != "code" or nbmeta.course_tag(cell) != "locked":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module.split(".")[0])
    return tuple(dict.fromkeys(n for n in names if n.isidentifier()))
