"""The kernels of one job slot: each started through the sandbox launcher, in a working folder
of its own, reachable only over IPC sockets, with an output cap; and stopped with every process
of the slot.

A kernel is started from the assignment's trusted setup: while it boots (a prestarted kernel
does so while the grader judges the previous notebook) it imports the libraries the
assignment's own setup cells import, torch's ~2 s included, so that a submission does not wait
for them. Nothing of this reaches the student's namespace.
"""
import ast
import functools
import json
import os
import pwd
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_core.utils import ensure_async, run_sync
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from . import capture, nbmeta, reference, sandbox
from .probe import MIME
from .zygote import Zygote, ZygoteError

START_TIMEOUT_S = 60
ZYGOTE_ENV = "RNN_GRADER_ZYGOTE"  # "0": start every kernel through the launcher instead


def forking() -> bool:
    """Whether sandboxed kernels are forked from a zygote (the default) rather than started."""
    return os.environ.get(ZYGOTE_ENV, "1") != "0"


class SandboxError(RuntimeError):
    """The sandbox itself failed (no kernel could start): a grader problem, not the student's."""


class ReadyClient(AsyncKernelClient):
    """jupyter_client's kernel client, with a shorter wait for IOPub when the kernel first
    answers. Its ``wait_for_ready`` asks for ``kernel_info`` and, on the reply, waits 0.2 s for
    a message on IOPub; the first request's status messages are published before the
    subscription has joined, so every kernel start cost 0.2 s of waiting. Here the request is
    repeated every 20 ms until one of its messages comes through."""

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await ensure_async(self.shell_channel.get_msg(timeout=1))
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await ensure_async(self.iopub_channel.get_msg(timeout=0.02))
                except Empty:
                    pass  # IOPub has not joined yet: ask again
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    wait_for_ready = _async_wait_for_ready  # the asynchronous client binds the name itself


class SandboxKernelManager(AsyncKernelManager):
    """A kernel started through the sandbox launcher, reachable only over IPC sockets."""

    def __init__(self, prefix: list[str], workdir: Path, owner: str | None, life: int, **kwargs):
        # New socket paths for each kernel life: a killed kernel's sockets may linger a moment.
        super().__init__(transport="ipc", ip=str(workdir / f"kernel{life}"),
                         connection_file=str(workdir / f"connection{life}.json"), **kwargs)
        self._prefix, self._owner, self._workdir = prefix, owner, str(workdir)
        self.client_factory = ReadyClient

    warm: tuple = ()  # modules the kernel imports as it starts, before any student code
    zygote: Zygote | None = None  # forks the kernel, when given (and the prefix is unused)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.zygote is None:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        # The provisioner keeps managing a process: the zygote's fork, which it polls and
        # kills through the zygote (see zygote.Forked).
        self.provisioner.process = self.zygote.spawn(self.connection_file, self._workdir)
        self.provisioner.pid = self.provisioner.pgid = None
        self._reconcile_connection_info(self.provisioner.connection_info)

    def format_kernel_cmd(self, extra_arguments=None):
        # The imports run while the kernel boots, which a prestarted kernel does while the
        # grader judges the previous notebook: torch's ~2 s leave the critical path. They only
        # fill sys.modules; no name reaches the student's namespace.
        lines = [f"--IPKernelApp.exec_lines=__import__('importlib').import_module({m!r})"
                 for m in self.warm] if self.zygote is None else []
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


class _Discard(list):
    """nbclient stores each executed cell back at ``nb.cells[index]``; cells are executed one at
    a time here and kept by the grader, so the client's notebook drops what it is given."""

    def __setitem__(self, index, value):
        pass



class Kernels:
    """Starts and stops the kernels of one job slot (its sandbox user, its run folder)."""

    def __init__(self, *, slot: int, limits: sandbox.Limits):
        self.limits = limits
        self.sandboxed = sandbox.sandboxed()  # raises sandbox.Unavailable: never silently less
        self.user = sandbox.slot_user(slot)
        if not self.sandboxed:  # orphans of the unsafe mode; a sandbox's die with its PID namespace
            sandbox.become_subreaper()
        self.base = Path(sandbox.run_folder())  # this process's own: no other run shares it
        self._scratch = nbformat.v4.new_notebook(cells=_Discard())
        self._lives = 0
        self.assignment = None  # the one the next kernel warms up for
        self.forking = self.sandboxed and forking()
        self.zygote: Zygote | None = None
        self.events: list[str] = []  # what the instructor should know (a zygote that failed)

    def current_zygote(self) -> Zygote | None:
        """The slot's zygote, warm for the current assignment, started when first needed; None
        when kernels are started through the launcher (also after a zygote failed to start)."""
        if not self.forking:
            return None
        warm = warm_modules(self.assignment) if self.assignment else ()
        if self.zygote is not None and (self.zygote.warm != warm or not self.zygote.alive()):
            self.zygote.close()
            self.zygote = None
        if self.zygote is None:
            command = sandbox.zygote_command(user=self.user, limits=self.limits,
                                             sockets=str(self.base), warm=warm)
            try:
                self.zygote = Zygote(command, self.environment(self.base), warm)
            except (OSError, ZygoteError) as err:
                self.forking = False
                self.events.append(f"kernels are started one by one: the zygote failed ({err})")
                print(f"grader: {self.events[-1]}", file=sys.stderr)  # slower, as safe
        return self.zygote

    def close(self) -> None:
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None

    def launch(self) -> tuple[Path, "CappedClient"]:
        """A new working directory and a kernel process starting in it (not waited for)."""
        workdir = Path(tempfile.mkdtemp(prefix="kernel-", dir=self.base))
        home = workdir / "home"  # the kernel's working directory without the sandbox (unsafe)
        home.mkdir()
        if self.user:
            entry = pwd.getpwnam(self.user)
            for path in (workdir, home):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(workdir, 0o700)  # connection files and IPC sockets, the slot user's only
        client = self.client(workdir)
        try:
            self.spawn(client, workdir)
        except Exception:  # _execute starts a kernel afresh, with retries
            pass
        return workdir, client

    def environment(self, workdir: Path) -> dict[str, str]:
        home = Path(sandbox.HOME) if self.sandboxed else workdir / "home"
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home),
               "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(home / ".config"),
               "IPYTHONDIR": str(home / ".ipython"), "XDG_CACHE_HOME": str(home / ".cache"),
               "PYTHONNOUSERSITE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
               # one thread per library: parallel jobs share the cores, threads count as processes
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        # set where OpenBLAS needs them; the last shows a forked kernel's start-up errors
        for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "RNN_GRADER_ZYGOTE_DEBUG"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def client(self, workdir: Path) -> CappedClient:
        zygote = self.current_zygote()
        prefix = [] if zygote else sandbox.launcher_command(user=self.user, limits=self.limits,
                                                            workdir=str(workdir))
        self._lives += 1
        km = SandboxKernelManager(prefix, workdir, self.user, self._lives)
        km.warm = warm_modules(self.assignment) if self.assignment else ()
        km.zygote = zygote
        return CappedClient(self._scratch, self.limits, km=km, startup_timeout=START_TIMEOUT_S)

    def spawn(self, client: CappedClient, workdir: Path) -> None:
        # The kernel's own stdout/stderr (not its cells' output) would reach the grader's
        # terminal: a student's forked processes can write there endlessly.
        client.start_new_kernel(env=self.environment(workdir), cwd=str(workdir / "home"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def connect(self, client: CappedClient) -> None:
        client.start_new_kernel_client()
        client.reset_execution_trackers()
        self.run_code(client, capture.SETUP, index=-1)

    def start(self, workdir: Path, attempts: int = 2) -> CappedClient:
        for attempt in range(attempts):
            client = self.client(workdir)
            try:
                self.spawn(client, workdir)
                self.connect(client)
                return client
            except Exception as err:
                self.stop(client)
                if attempt == attempts - 1:
                    raise SandboxError(f"the sandboxed kernel did not start: {err}") from err

    def run_code(self, client: CappedClient, code: str, index: int) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell(code)
        client.execute_cell(cell, index, store_history=False)
        return cell

    def stop(self, client) -> None:
        # A forked kernel's processes all live in its PID namespace, which ends with it. A
        # launched kernel's: the user's processes first, then the kernel is reaped by its
        # launcher, which the kernel manager reaps in turn (killing the launcher first would
        # leave zombies that count against the slot user's process limit).
        self.sweep()
        _shutdown(client.km)
        if not self.forking:
            sandbox.reap(self.user)

    def sweep(self) -> None:
        """Kill whatever a launched kernel left behind (as root: every process of the slot's
        user). Forked kernels leave nothing: their PID namespaces end with them."""
        if not self.forking:
            sandbox.kill_user_processes(self.user)


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
