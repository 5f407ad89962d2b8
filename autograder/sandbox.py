"""The sandbox a student's kernel runs in, and its launcher (``python autograder/sandbox.py``).

Student code is untrusted: it may loop forever, exhaust memory, fork, print without end, or try to
read the solutions, the gradebook or other students' work. The grader (``execute``) starts each
kernel through this launcher, which, before it ``exec``s the kernel:

- as root, in new network, mount and PID namespaces (``unshare``): no network at all (the kernel
  talks to the grader over IPC sockets in its working directory), a private ``/tmp``, and empty
  tmpfs mounted over every path in ``--hide`` (``solutions/``, the grader's package, the gradebook
  and output folder, the submissions);
- drops to an unprivileged user of its own (one per parallel job slot, so that one student's fork
  bomb cannot use up the process quota of another's kernel);
- sets resource limits: address space (memory), processes/threads, file size, no core dumps.

Without root none of the namespaces or the user switch is possible: the limits still apply, and
the README says what is enforced where. Wall-clock limits per cell and per notebook, and the
output cap, are enforced by the grader side (``execute``), which the student cannot touch.
"""
import argparse
import os
import pwd
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

USER_PREFIX = "rnngrader"


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 4096          # address space of the kernel (torch needs ~2 GB of it)
    processes: int = 128           # tasks (processes and threads) of the sandbox user
    file_mb: int = 64              # largest file the kernel may write
    scratch_mb: int = 256          # its working directory: a tmpfs of this size (root only)
    cell_timeout_s: float = 30.0   # wall clock per cell (grader side)
    notebook_timeout_s: float = 240.0  # wall clock per notebook, kernel restarts included
    output_kb_per_cell: int = 256  # printed output kept per cell; the rest is dropped
    capture_mb: int = 64           # results the checks send back, per notebook


def is_root() -> bool:
    return os.geteuid() == 0


def can_isolate() -> bool:
    """Whether namespaces and a user switch are available (root, with unshare on PATH)."""
    return is_root() and shutil.which("unshare") is not None


def slot_user(slot: int) -> str | None:
    """The unprivileged user of a job slot, created on first use (root only)."""
    if not is_root():
        return None
    name = f"{USER_PREFIX}{slot}"
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        name], check=False, capture_output=True)
        try:
            pwd.getpwnam(name)
        except KeyError:
            return None
    return name


def launcher_command(*, user: str | None, hide: list[str], limits: Limits,
                     scratch: str) -> list[str]:
    """The command prefix that starts a program inside the sandbox, in ``scratch``."""
    # Run as a script (stdlib only): the kernel's environment has no path to this package.
    inner = [sys.executable, os.path.abspath(__file__), "--memory-mb", str(limits.memory_mb),
             "--processes", str(limits.processes), "--file-mb", str(limits.file_mb)]
    if user:
        inner += ["--user", user]
    if not can_isolate():
        return inner + ["--"]
    inner += ["--scratch", scratch, "--scratch-mb", str(limits.scratch_mb)]
    for path in hide:
        inner += ["--hide", path]
    for path in sorted({sys.prefix, sys.base_prefix}):  # the interpreter the kernel runs on
        inner += ["--expose", path]
    return ["unshare", "--net", "--mount", "--pid", "--fork", "--mount-proc",
            "--propagation", "private", "--kill-child"] + inner + ["--"]


LOCKS = "/var/tmp/rnn-grader-slots"


def claim_slot(max_slots: int = 64):
    """The first job slot no other process holds, and its lock (keep it referenced: the slot is
    held as long as the returned file stays open). Grading runs started at the same time then
    never share a sandbox user, whose processes each run kills."""
    import fcntl

    os.makedirs(LOCKS, mode=0o700, exist_ok=True)
    for slot in range(max_slots):
        handle = open(os.path.join(LOCKS, f"slot{slot}.lock"), "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return slot, handle
    raise RuntimeError(f"all {max_slots} sandbox slots are in use")


def kill_user_processes(user: str | None, wait_s: float = 5.0) -> None:
    """Kill every process of a slot's user (forks that outlived the kernel) and wait until none
    is left, zombies included: they count against the user's process limit of the next kernel."""
    if not (user and is_root()):
        return
    uid = pwd.getpwnam(user).pw_uid
    deadline = time.monotonic() + wait_s
    while True:
        subprocess.run(["pkill", "-KILL", "-u", user], check=False, capture_output=True)
        reap(user)
        if not _processes_of(uid) or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def _processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def kernel_root(km) -> str | None:
    """``/proc/<pid>/root`` of a running sandboxed kernel: its own view of the file system
    (mount namespace), or None where the kernel shares the grader's."""
    if not can_isolate():
        return None
    launcher = km.provisioner.process.pid  # unshare; the kernel is its one child
    try:
        with open(f"/proc/{launcher}/task/{launcher}/children") as fh:
            children = fh.read().split()
    except OSError:
        return None
    return f"/proc/{children[0]}/root" if children else None


def become_subreaper() -> None:
    """Make orphaned sandbox processes children of this process, so that :func:`reap` can
    collect them: a zombie left to a container's init may never be reaped, and zombies count
    against the slot user's process limit."""
    import ctypes

    PR_SET_CHILD_SUBREAPER = 36
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def reap(user: str | None) -> None:
    """Collect this process's zombie children that belong to ``user``."""
    if not user:
        return
    uid = pwd.getpwnam(user).pw_uid
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                status = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        if (status.get("State", "").strip().startswith("Z")
                and int(status.get("PPid", "0")) == os.getpid()
                and int(status.get("Uid", "-1").split()[0]) == uid):
            try:
                os.waitpid(int(entry), os.WNOHANG)
            except ChildProcessError:
                pass


HOLD = "/mnt"  # a tmpfs goes over it to hold the exposed trees while their parents are covered


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def _closed_ancestors(path: str) -> list[str]:
    """Ancestors of ``path`` that other users cannot traverse (e.g. /root, home of pyenv)."""
    parts = os.path.abspath(path).split(os.sep)[1:-1]
    ancestors = [os.sep + os.path.join(*parts[:i]) for i in range(1, len(parts) + 1)]
    return [a for a in ancestors if not os.stat(a).st_mode & 0o001]


def _hide(hide: list[str], expose: list[str]) -> None:
    """In the new mount namespace: empty tmpfs over /tmp, /dev/shm, every hidden path and every
    closed ancestor of an exposed path, then the exposed trees (the Python installation the
    kernel runs on) put back where they were, reachable by the sandbox user."""
    expose = [p for p in expose if os.path.isdir(p)]
    _mount("-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", HOLD)
    for i, path in enumerate(expose):
        os.mkdir(f"{HOLD}/{i}")
        _mount("--rbind", path, f"{HOLD}/{i}")
    covers = {"/tmp": "1777", "/dev/shm": "1777"}
    covers.update({p: "0755" for p in hide})
    covers.update({a: "0755" for p in expose for a in _closed_ancestors(p)})
    for path, mode in sorted(covers.items()):
        if os.path.isdir(path):
            _mount("-t", "tmpfs", "-o", f"size=64m,mode={mode}", "tmpfs", path)
    for i, path in enumerate(expose):
        os.makedirs(path, exist_ok=True)
        _mount("--move", f"{HOLD}/{i}", path)


def _scratch(path: str, size_mb: int, user: str | None) -> None:
    """A size-limited tmpfs over the working directory (the disk cannot be filled), owned by the
    sandbox user, with the files it held (the notebook) copied in."""
    files = {name: open(os.path.join(path, name), "rb").read() for name in os.listdir(path)
             if os.path.isfile(os.path.join(path, name))}
    entry = pwd.getpwnam(user) if user else None
    owner = f",uid={entry.pw_uid},gid={entry.pw_gid}" if entry else ""
    _mount("-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700{owner}", "tmpfs", path)
    for name, data in files.items():
        with open(os.path.join(path, name), "wb") as fh:
            fh.write(data)
        if entry:
            os.chown(os.path.join(path, name), entry.pw_uid, entry.pw_gid)


def _limit(memory_mb: int, processes: int, file_mb: int, user: str | None) -> None:
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * mb, memory_mb * mb))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb * mb, file_mb * mb))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # RLIMIT_NPROC counts every task of the real user. A slot user has only this kernel; an
    # ordinary user (no root) has others, so the kernel gets that many more; root ignores it.
    if user:
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    elif not is_root():
        tasks = 0  # threads count too
        for pid in _processes_of(os.getuid()):
            try:
                tasks += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                pass
        allowed = tasks + processes
        resource.setrlimit(resource.RLIMIT_NPROC, (allowed, allowed))


def _become(user: str) -> None:
    entry = pwd.getpwnam(user)
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="start a program inside the grading sandbox")
    parser.add_argument("--hide", action="append", default=[])
    parser.add_argument("--expose", action="append", default=[])
    parser.add_argument("--scratch")
    parser.add_argument("--scratch-mb", type=int, default=256)
    parser.add_argument("--user")
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--processes", type=int, required=True)
    parser.add_argument("--file-mb", type=int, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    user = args.user if is_root() else None
    if args.hide or args.expose:
        _hide(args.hide, args.expose)
    if args.scratch:
        _scratch(args.scratch, args.scratch_mb, user)
        os.chdir(args.scratch)  # the new tmpfs, not the directory it covers
    if user:
        _become(user)
    _limit(args.memory_mb, args.processes, args.file_mb, user)
    os.execvpe(command[0], command, os.environ)


if __name__ == "__main__":
    main()
