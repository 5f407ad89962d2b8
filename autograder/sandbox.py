"""The sandbox a student's kernel runs in, and its launcher (``python autograder/sandbox.py``).

Student code is untrusted: it may loop forever, exhaust memory, fork, print without end, read
the solutions, the gradebook or other students' work, or talk to the network. Each kernel runs
under bubblewrap (``bwrap``, Debian's ``bubblewrap``, the sandbox of Flatpak), as root or as an
ordinary user alike, in new user (ordinary users), mount, PID, IPC, UTS and network namespaces.
It sees an allow-list, nothing else:

- the Python environment it runs on, ``/usr/bin`` and ``/usr/lib`` (and the ``/bin``, ``/lib``
  links), all read-only;
- a size-limited tmpfs as working directory (``HOME``), a private ``/tmp`` and ``/dev/shm``,
  a minimal ``/dev``, its own ``/proc``, and of ``/etc`` only the loader cache and a
  ``passwd``/``group`` naming itself;
- one folder of the grader's, its socket folder: the connection file and the IPC sockets it
  talks to the grader over. There is no network at all, loopback to the host included.

No home directory, no ``/srv``, no course files, no gradebook, no other kernel. The kernel dies
with the process that started it (``--die-with-parent``; a PID namespace dies with its first
process), however that process ends.

Inside, this file's :func:`main` (the launcher, stdlib only, bound read-only at ``LAUNCHER``)
sets the resource limits (address space, processes/threads, file size, no core dumps) and, as
root, drops to an unprivileged user of its own per job slot (``rnngrader<N>``), so that one
student's fork bomb cannot use up another's process quota; then it ``exec``s the kernel.

Where user namespaces (or bwrap) are missing, :func:`unavailable` says why and the grader
refuses to run, unless the instructor passes ``--unsafe-no-sandbox`` (``UNSAFE_ENV``): the kernel
then runs with the limits only, as the grader's user, and can read what that user can read.
Wall-clock limits and the output cap are enforced by the grader side (``execute``).
"""
import argparse
import functools
import os
import platform
import pwd
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

USER_PREFIX = "rnngrader"
HOME = "/home/student"                  # the kernel's working directory, a tmpfs
LAUNCHER = "/etc/rnn-grader/launch.py"  # this file, inside the sandbox
UNSAFE_ENV = "RNN_GRADER_UNSAFE_NO_SANDBOX"  # "1": run kernels without the sandbox
BWRAP_ENV = "RNN_GRADER_BWRAP"          # the bwrap to use (default: the one on PATH)
STATE_ENV = "RNN_GRADER_STATE"          # where this run's folders go (default: see state_base)


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 4096          # address space of the kernel (torch needs ~2 GB of it)
    processes: int = 128           # tasks (processes and threads) of the kernel
    file_mb: int = 64              # largest file the kernel may write
    scratch_mb: int = 256          # its working directory: a tmpfs of this size
    tmp_mb: int = 64               # its /tmp and /dev/shm, each
    cell_timeout_s: float = 30.0   # wall clock per cell (grader side)
    notebook_timeout_s: float = 240.0  # wall clock per notebook, kernel restarts included
    output_kb_per_cell: int = 256  # printed output kept per cell; the rest is dropped
    capture_mb: int = 64           # results the checks send back, per notebook


def is_root() -> bool:
    return os.geteuid() == 0


def bwrap() -> str | None:
    if BWRAP_ENV in os.environ:
        return os.environ[BWRAP_ENV] or None
    return shutil.which("bwrap")


def unsafe() -> bool:
    """Whether the instructor chose to run kernels without the sandbox."""
    return os.environ.get(UNSAFE_ENV) == "1"


@functools.cache
def unavailable() -> str | None:
    """Why the sandbox cannot be built on this machine, or None when it can."""
    tool = bwrap()
    if tool is None:
        return "bubblewrap is not installed (Debian: apt-get install bubblewrap)"
    try:
        proc = subprocess.run([tool, *_namespaces(), "--ro-bind", "/", "/", "--proc", "/proc",
                               "--dev", "/dev", "true"], capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap ({tool}) cannot run: {err}"
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        return (f"bwrap cannot create the sandbox's namespaces ({why}); user namespaces may "
                "be disabled (sysctl kernel.unprivileged_userns_clone, "
                "user.max_user_namespaces)")
    return None


def sandboxed() -> bool:
    """Whether kernels run in the sandbox: always, unless it is unavailable and the instructor
    passed the unsafe flag. Raises :class:`Unavailable` when neither holds."""
    reason = unavailable()
    if reason is None:
        return True
    if unsafe():
        closed = _closed_for_others()
        if is_root() and closed:  # the slot users could not even start Python
            raise Unavailable(f"no sandbox ({reason}), and without it the kernels' slot users "
                              f"cannot reach {closed}, which only root may enter")
        return False
    raise Unavailable(f"no sandbox for students' kernels: {reason}. Refusing to grade; pass "
                      "--unsafe-no-sandbox to grade without it (students' code then reads what "
                      "you can read and reaches the network)")


def _closed_for_others() -> str | None:
    """The first folder on the way to the interpreter that other users cannot traverse."""
    for tree in (os.path.realpath(sys.executable), sys.prefix):
        for folder in _ancestors(os.path.dirname(os.path.abspath(tree))):
            if not os.stat(folder).st_mode & 0o001:
                return folder
    return None


class Unavailable(RuntimeError):
    """The sandbox cannot be built here and the unsafe flag was not given."""


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


def _namespaces() -> list[str]:
    # As root, bwrap needs no user namespace (and the slot user gives the separate uid); for
    # an ordinary user the user namespace is what makes the others possible.
    user = [] if is_root() else ["--unshare-user", "--disable-userns"]
    return user + ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                   "--unshare-cgroup-try", "--die-with-parent", "--new-session"]


def python_paths() -> list[str]:
    """The trees the kernel's interpreter needs: the environment and its base installation
    (both as named and as resolved), less what ``/usr`` already exposes."""
    found = set()
    for path in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix,
                 os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))):
        for p in (os.path.abspath(path), os.path.realpath(path)):
            if p not in ("/", "/usr") and os.path.isdir(p):
                found.add(p)
    # a tree inside another is bound with it
    return sorted(p for p in found if not any(p.startswith(q + os.sep) for q in found))


def _system_mounts() -> list[str]:
    args = []
    for sub in ("usr/bin", "usr/lib", "usr/lib64", "usr/lib32", "usr/libx32"):
        if os.path.isdir("/" + sub):
            args += ["--ro-bind", "/" + sub, "/" + sub]
    for top in ("bin", "lib", "lib64", "lib32", "libx32"):  # merged-/usr links, or real trees
        path = "/" + top
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache",):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def identity_files(folder: str, uid: int, gid: int) -> list[str]:
    """A passwd and a group that name only the kernel's user (not the machine's accounts),
    written to ``folder``; the bwrap arguments that put them at /etc."""
    for name, line in (("passwd", f"student:x:{uid}:{gid}:student:{HOME}:/usr/sbin/nologin\n"),
                       ("group", f"student:x:{gid}:\n")):
        with open(os.path.join(folder, name), "w") as fh:
            fh.write(line)
        os.chmod(os.path.join(folder, name), 0o644)
    return ["--ro-bind", os.path.join(folder, "passwd"), "/etc/passwd",
            "--ro-bind", os.path.join(folder, "group"), "/etc/group"]


def launcher_command(*, user: str | None, limits: Limits, workdir: str) -> list[str]:
    """The command prefix that starts a program inside the sandbox; ``workdir`` (the kernel's
    connection file and IPC sockets) is the one host folder it shares with the grader."""
    inner = _limit_args(user, limits)
    if not sandboxed():  # the unsafe flag: limits (and, as root, the slot user) only
        return [sys.executable, os.path.abspath(__file__), *inner, "--"]
    # what the launcher needs, as root in the sandbox, to hand HOME to the slot user and
    # become it (bwrap drops every other capability)
    caps = ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
            "--cap-add", "CAP_CHOWN"] if user else []
    args = _bwrap(user=user, limits=limits, shared=workdir, program=(LAUNCHER, __file__),
                  caps=caps)
    args += ["--size", str(limits.scratch_mb * 2**20), "--perms", "0700", "--tmpfs", HOME]
    return args + ["--", sys.executable, LAUNCHER, *inner, "--home", HOME, "--"]


def zygote_command(*, user: str | None, limits: Limits, sockets: str, warm=()) -> list[str]:
    """The command that starts a job slot's zygote (see ``zygote``) in the sandbox, with the
    slot's socket folder ``sockets`` bound in. It keeps the capabilities (as root, root's; as
    an ordinary user, those of its own user namespace) to give each kernel its namespaces; each
    kernel drops them all before anything of a student's runs."""
    from . import zygote

    args = _bwrap(user=user, limits=limits, shared=sockets, program=(zygote.ZYGOTE, zygote.__file__),
                  caps=["--cap-add", "ALL"])
    # each kernel mounts its own tmpfs at HOME; STAGE is where it moves mounts through
    args += ["--perms", "0755", "--dir", HOME, "--perms", "0755", "--dir", zygote.STAGE]
    inner = ["--warm", ",".join(warm), "--home", HOME, "--sockets", sockets,
             "--scratch-mb", str(limits.scratch_mb), "--tmp-mb", str(limits.tmp_mb),
             *_limit_args(user, limits)]
    return args + ["--", sys.executable, zygote.ZYGOTE, *inner]


def _limit_args(user: str | None, limits: Limits) -> list[str]:
    """The limits a kernel sets on itself, and (as root) the slot user it becomes."""
    args = ["--memory-mb", str(limits.memory_mb), "--processes", str(_process_limit(limits)),
            "--file-mb", str(limits.file_mb)]
    if user:
        entry = pwd.getpwnam(user)
        args += ["--uid", str(entry.pw_uid), "--gid", str(entry.pw_gid)]
    return args


def _bwrap(*, user: str | None, limits: Limits, shared: str, program: tuple[str, str],
           caps: list[str]) -> list[str]:
    """The sandbox both starters share: the allow-list, the identity files, ``program``
    (inside path, host file) bound read-only, and the one host folder ``shared`` bound
    read-write at its own path."""
    mb = 2**20
    if user:
        entry = pwd.getpwnam(user)
        uid, gid = entry.pw_uid, entry.pw_gid
    else:
        uid, gid = os.getuid(), os.getgid()
    binds = python_paths()
    args = [bwrap(), *_namespaces(), *caps, "--dev", "/dev", "--proc", "/proc",
            "--size", str(limits.tmp_mb * mb), "--perms", "1777", "--tmpfs", "/tmp",
            "--size", str(limits.tmp_mb * mb), "--perms", "1777", "--tmpfs", "/dev/shm"]
    # Folders bwrap creates on the way to a mount point would be root's own (0700) as root.
    parents = {os.path.dirname(p) for p in (*binds, shared, HOME, program[0], "/etc/passwd",
                                            "/usr/bin")}
    for path in sorted({a for p in parents for a in _ancestors(p)} - {"/tmp", "/dev"}):
        args += ["--perms", "0755", "--dir", path]
    args += _system_mounts()
    for path in binds:
        args += ["--ro-bind", path, path]
    args += identity_files(shared, uid, gid)
    return args + ["--ro-bind", os.path.abspath(program[1]), program[0],
                   "--bind", shared, shared, "--chdir", "/"]


def _ancestors(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1) if parts[0]]


def _process_limit(limits: Limits) -> int:
    """RLIMIT_NPROC for the kernel. It counts the tasks of the kernel's real uid: a slot user
    has only this kernel; an ordinary user's kernel is counted in its own user namespace on
    Linux 5.14 and later, and with all of that user's tasks before."""
    if is_root() or _kernel_version() >= (5, 14):
        return limits.processes
    tasks = 0
    for pid in _processes_of(os.getuid()):
        try:
            tasks += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return tasks + limits.processes


def _kernel_version() -> tuple[int, int]:
    try:
        major, minor = platform.release().split(".")[:2]
        return int(major), int("".join(c for c in minor if c.isdigit()) or 0)
    except ValueError:
        return (0, 0)


def state_base() -> str:
    """The folder under which this user's runs keep their locks and kernel folders:
    ``RNN_GRADER_STATE``, else ``$XDG_RUNTIME_DIR`` (a per-user tmpfs), else the temporary
    folder (``TMPDIR``); a folder of one's own in it, ``rnn-grader-<uid>``, mode 0700."""
    base = os.environ.get(STATE_ENV)
    if not base:
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        usable = runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK | os.X_OK)
        base = runtime if usable else tempfile.gettempdir()
    folder = os.path.join(base, f"rnn-grader-{os.getuid()}")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if info.st_uid != os.getuid() or not os.path.isdir(folder) or info.st_mode & 0o077:
        raise Unavailable(f"{folder} is not a private folder of this user "
                          "(set RNN_GRADER_STATE to a folder of your own)")
    return folder


ROOT_SLOTS = "/var/tmp/rnn-grader-slots"  # root's only: the slot users are the machine's


def claim_slot(max_slots: int = 64):
    """The first job slot no other process holds, and its lock (keep it referenced: the slot is
    held as long as the returned file stays open). Slots matter as root, where each is a user of
    its own whose processes are killed between notebooks: root's locks are one folder for the
    whole machine (``ROOT_SLOTS``, whatever TMPDIR says), as the slot users are. An ordinary
    user's are that user's own."""
    import fcntl

    folder = ROOT_SLOTS if is_root() else os.path.join(state_base(), "slots")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    for slot in range(max_slots):
        handle = open(os.path.join(folder, f"slot{slot}.lock"), "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return slot, handle
    raise RuntimeError(f"all {max_slots} sandbox slots are in use")


def run_folder() -> str:
    """A folder for this process's kernels, ``<state_base>/run-<pid>-*``; folders of earlier
    processes of this user that no longer run (a killed run) are removed first."""
    base = state_base()
    for name in os.listdir(base):
        if name.startswith("run-"):
            try:
                pid = int(name.split("-")[1])
                os.kill(pid, 0)
            except (ValueError, IndexError):
                continue
            except ProcessLookupError:
                shutil.rmtree(os.path.join(base, name), ignore_errors=True)
            except PermissionError:
                pass
    return tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=base)


def kill_user_processes(user: str | None, wait_s: float = 5.0) -> None:
    """Kill every process of a slot's user (anything that outlived its kernel) and wait until
    none is left (root only; an ordinary user's kernels die with their PID namespace)."""
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


def die_with_parent() -> None:
    """Have the kernel send SIGKILL to this process when its parent dies (a pool worker whose
    grader was killed), and exit at once if that already happened."""
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent or parent == 1:
        os._exit(1)


def become_subreaper() -> None:
    """Make orphaned processes of the unsafe mode children of this process, so that
    :func:`reap` can collect them (a zombie left to a container's init may never be reaped)."""
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


def _limit(memory_mb: int, processes: int, file_mb: int) -> None:
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * mb, memory_mb * mb))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb * mb, file_mb * mb))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.geteuid() != 0:  # root ignores it (the unsafe mode as root)
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


def main(argv=None) -> None:
    """The launcher: inside the sandbox (or, unsafe, outside it), set the limits, become the
    slot's user, and exec the command."""
    parser = argparse.ArgumentParser(description="start a program inside the grading sandbox")
    parser.add_argument("--home")
    parser.add_argument("--uid", type=int)
    parser.add_argument("--gid", type=int)
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--processes", type=int, required=True)
    parser.add_argument("--file-mb", type=int, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.uid is not None and os.geteuid() == 0:
        if args.home:
            os.chown(args.home, args.uid, args.gid)
        os.setgroups([])
        os.setgid(args.gid)
        os.setuid(args.uid)
        if os.getuid() == 0:
            sys.exit("the sandbox launcher could not drop root")
    if args.home:
        os.environ["HOME"] = args.home
        os.chdir(args.home)
        # ipykernel would take the PID namespace's init (its parent, pid 1) for a sign that the
        # grader is gone, and exit; the kernel dies with the sandbox anyway.
        os.environ.pop("JPY_PARENT_PID", None)
    _limit(args.memory_mb, args.processes, args.file_mb)
    os.execvpe(command[0], command, os.environ)


if __name__ == "__main__":
    main()
