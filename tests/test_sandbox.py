"""The kernel's sandbox, seen from inside a kernel started as the grader starts one (as root or
as an ordinary user, whichever runs the tests): it lists only the allow-list, cannot read copies
of the solutions placed elsewhere on the machine, cannot reach a listener on the host's
loopback, and meets each limit by its own effect. One kernel runs all the probing cells.
"""
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest

from autograder import execute, kernels, paths, sandbox

from conftest import ASSIGNMENTS, ROOT, Listener

A = ASSIGNMENTS[0]
LIMITS = sandbox.Limits(memory_mb=1536, processes=48, file_mb=8, cell_timeout_s=60)
ALLOWED = {"bin", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "proc", "tmp", "usr"}


@pytest.fixture(scope="module")
def copies():
    """World-readable copies of solutions/ under /srv (where this user may write there) and in
    this user's home."""
    made = []
    for base in (Path("/srv"), Path.home()):
        if not os.access(base, os.W_OK):
            continue
        target = base / f"rnn-course-copy-{uuid.uuid4().hex[:8]}"
        shutil.copytree(paths.SOLUTIONS, target / "solutions")
        for path in [target, *target.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        made.append(target / "solutions" / f"{A}.md")
    yield made
    for path in made:
        shutil.rmtree(path.parent.parent, ignore_errors=True)


def _cells(copies, port):
    mib = 2**20
    return {
        "root": "import os\nprint(sorted(os.listdir('/')))",
        "read": (f"for path in {[str(p) for p in copies] + [str(paths.SOLUTIONS / f'{A}.md')]!r}:\n"
                 "    try:\n        open(path).read(1)\n        print('READ' + '-OK', path)\n"
                 "    except OSError as err:\n        print('READ' + '-DENIED', type(err).__name__)"),
        "passwd": "print(open('/etc/passwd').read())",
        "connect": ("import socket\ntry:\n"
                    f"    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
                    "    print('CONNECTED')\nexcept OSError as err:\n"
                    "    print('REFUSED', type(err).__name__)"),
        "memory-under": f"small = bytearray({64 * mib})\nprint('ALLOCATED', len(small))",
        "memory-over": f"big = bytearray({LIMITS.memory_mb * mib + mib})\nprint('ALLOCATED')",
        "file-under": f"open('ok', 'wb').write(b'0' * {LIMITS.file_mb * mib - 1})\nprint('WROTE')",
        "file-over": ("written = 0\ntry:\n    with open('big', 'wb', buffering=0) as fh:\n"
                      f"        for _ in range({LIMITS.file_mb + 2}):\n"
                      f"            written += fh.write(b'0' * {mib})\n"
                      "except OSError as err:\n    print('REFUSED', written, err)\n"
                      "else:\n    print('WROTE', written)"),
        "processes": ("import threading, time\nstarted = 0\ntry:\n"
                      f"    for _ in range({2 * LIMITS.processes}):\n"
                      "        threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
                      "        started += 1\nexcept RuntimeError as err:\n"
                      "    print('STOPPED', started, err)\nelse:\n    print('STARTED', started)"),
        "cwd": "print(os.getcwd(), sorted(os.listdir('.')))",
    }


def _text(cell) -> str:
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
    return "".join(parts)


def _runner(mode: str, **options) -> execute.Runner:
    """A runner whose kernels are forked from the slot's zygote, or each started through the
    launcher (``RNN_GRADER_ZYGOTE=0``, and the fallback when a zygote cannot start)."""
    slot, lock = sandbox.claim_slot()
    previous = os.environ.get(kernels.ZYGOTE_ENV)
    os.environ[kernels.ZYGOTE_ENV] = "1" if mode == "zygote" else "0"
    try:
        runner = execute.Runner(slot=slot, **options)
    finally:
        if previous is None:
            del os.environ[kernels.ZYGOTE_ENV]
        else:
            os.environ[kernels.ZYGOTE_ENV] = previous
    runner.slot_lock = lock
    assert runner.kernels.forking == (mode == "zygote")
    return runner


def _close(runner: execute.Runner) -> None:
    runner.close()
    runner.slot_lock.close()


@pytest.fixture(scope="module", params=["zygote", "launcher"])
def kernel(copies, request):
    listener = Listener()
    cells = _cells(copies, listener.port)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells.values()])
    runner = _runner(request.param, limits=LIMITS)
    try:
        execution = runner.run(A, nb)
        assert runner.kernels.events == []  # the zygote did not fall back to the launcher
    finally:
        _close(runner)
        listener.close()
    seen = {name: _text(cell) for name, cell in zip(cells, execution.notebook.cells)}
    return {"seen": seen, "events": execution.events, "accepted": listener.accepted}


# What a kernel forked from the zygote sees of the zygote and of its siblings (the spare kernel,
# forked for the next notebook, is running meanwhile).
VIEW = ("import os, glob\n"
        "socket_dir = os.path.dirname(os.path.dirname(__import__('ipykernel.connect').connect"
        ".get_connection_file()))\n"
        "status = dict(l.split(':', 1) for l in open('/proc/self/status'))\n"
        "print({'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),\n"
        "       'caps': {k: status[k].strip() for k in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb')},\n"
        "       'found': sorted(glob.glob('/tmp/mark-*') + glob.glob('mark-*')),\n"
        "       'sockets': sorted(os.listdir(socket_dir)), 'uid': os.getuid(),\n"
        "       'warm': 'numpy' in __import__('sys').modules,\n"
        "       'lazy': __import__('importlib').util.find_spec('jupytext') is not None,\n"
        "       'venv_writable': os.access(__import__('sys').prefix, os.W_OK)})\n"
        "open('/tmp/mark-{n}', 'w').write('{n}')\n"
        "open('mark-{n}', 'w').write('{n}')\n"
        "import subprocess\n"
        "subprocess.Popen(['sleep', '600'])  # left running: it must not outlive the kernel")


@pytest.fixture(scope="module")
def forked():
    """Two notebooks in a row through one runner: the second's kernel is forked while the
    first runs (the spare), from the same zygote."""
    runner = _runner("zygote", prestart=True)
    views = []
    try:
        for n in (1, 2):
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(VIEW.replace("{n}", str(n)))])
            cell = runner.run(A, nb).notebook.cells[0]
            views.append(eval(_text(cell).strip().splitlines()[0]))
        sleepers = subprocess.run(["pgrep", "-f", "sleep 600"], capture_output=True, text=True)
    finally:
        _close(runner)
    return views, sleepers.stdout.split()


def test_a_forked_kernel_sees_only_its_own_processes(forked):
    views, sleepers = forked
    for view in views:
        # pid 1, the namespace's init, and 2, the kernel; then only what the kernel started
        assert view["pids"][:2] == [1, 2] and len(view["pids"]) <= 4, view["pids"]
    assert sleepers == []  # the first kernel's child died with its PID namespace


def test_a_forked_kernel_keeps_no_capability(forked):
    views, _ = forked
    for view in views:
        assert set(view["caps"].values()) == {"0000000000000000"}, view["caps"]
        if os.geteuid() == 0:
            assert view["uid"] != 0  # the slot's user, as with the launcher


def test_a_forked_kernel_sees_nothing_of_the_kernel_before(forked):
    (first, second) = forked[0]
    assert first["found"] == [] and second["found"] == [], (first, second)
    assert first["warm"] and second["warm"]  # the assignment's libraries came with the fork


def test_a_forked_kernel_sees_only_its_own_socket_folder(forked):
    for view in forked[0]:
        assert len(view["sockets"]) == 1, view["sockets"]


def test_a_forked_kernel_sees_the_python_environment_read_only(forked):
    """Wherever it lives (a clone under /tmp, whose fresh tmpfs must not hide it)."""
    for view in forked[0]:
        assert view["lazy"] and not view["venv_writable"], view


def test_the_kernel_lists_only_the_allow_list(kernel):
    listing = set(eval(kernel["seen"]["root"]))
    tops = {p.strip("/").split("/")[0] for p in sandbox.python_paths()}
    assert listing <= ALLOWED | tops, listing - ALLOWED - tops
    assert {"srv", "opt", "var", "mnt", "media", "run", "sys", "boot"}.isdisjoint(listing)
    assert "root:" not in kernel["seen"]["passwd"]  # not the machine's accounts
    assert kernel["seen"]["cwd"].startswith(sandbox.HOME) and f"'{A}.ipynb'" in kernel["seen"]["cwd"]


def test_copies_of_the_solutions_elsewhere_cannot_be_read(kernel, copies):
    text = kernel["seen"]["read"]
    assert text.count("READ-DENIED") == len(copies) + 1 and "READ-OK" not in text, text
    if os.access("/srv", os.W_OK):
        assert any(str(p).startswith("/srv/") for p in copies)


def test_a_loopback_listener_is_unreachable(kernel):
    assert "REFUSED" in kernel["seen"]["connect"], kernel["seen"]["connect"]
    assert kernel["accepted"] == 0


def test_an_allocation_over_the_memory_limit_fails(kernel):
    assert "ALLOCATED 67108864" in kernel["seen"]["memory-under"]
    assert "MemoryError" in kernel["seen"]["memory-over"], kernel["seen"]["memory-over"]


def test_a_file_over_the_size_cap_is_refused(kernel):
    assert "WROTE" in kernel["seen"]["file-under"]
    over = kernel["seen"]["file-over"]
    assert over.startswith(f"REFUSED {LIMITS.file_mb * 2**20} ") and "File too large" in over, over


def test_the_process_limit_stops_threads(kernel):
    text = kernel["seen"]["processes"]
    assert text.startswith("STOPPED") and int(text.split()[1]) < LIMITS.processes, text


def test_the_notebook_timeout_is_reported():
    limits = sandbox.Limits(cell_timeout_s=20, notebook_timeout_s=5)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in
                                         ("import time\ntime.sleep(3)", "time.sleep(3)",
                                          "print('late')")])
    slot, lock = sandbox.claim_slot()
    runner = execute.Runner(slot=slot, limits=limits)
    try:
        cells = runner.run(A, nb).notebook.cells
    finally:
        runner.close()
        lock.close()
    assert "reached its time limit (5 s)" in _text(cells[2]) and "late" not in _text(cells[2])


def test_grading_is_refused_without_the_sandbox(tmp_path):
    env = dict(os.environ, RNN_GRADER_BWRAP="", PATH=os.environ.get("PATH", ""))
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp_path),
                           "--out", str(tmp_path / "out")], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--unsafe-no-sandbox" in lines[0] and "bubblewrap" in lines[0]
    assert not (tmp_path / "out").exists()


def test_doctor_reports_the_protections():
    proc = subprocess.run([sys.executable, "-m", "autograder", "doctor"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for words in ("kernels:         sandboxed", "network:         BLOCKED",
                  "paths:           hidden", f"memory {sandbox.Limits().memory_mb} MiB",
                  "kernel start:    forked from a zygote"):
        assert words in proc.stdout, proc.stdout
