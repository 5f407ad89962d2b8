"""``python -m autograder doctor``: which protections are active on this machine, checked live.

It starts one program in the sandbox exactly as the grader starts a kernel (same launcher, same
limits) and has it report what it sees: its listing of ``/``, whether it can open this
checkout's ``solutions/``, whether it reaches a listener this process opens on loopback, its
uid and its resource limits. Exit status 0 when students' kernels run sandboxed, 1 when grading
would be refused (or run unsafe).
"""
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile

from . import paths, sandbox

PROBE = """
import json, os, resource, socket, sys
report = {"root": sorted(os.listdir("/")), "uid": os.getuid(), "cwd": os.getcwd()}
try:
    open(sys.argv[1], "rb").close()
    report["solutions"] = "readable"
except OSError as err:
    report["solutions"] = type(err).__name__
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=2).close()
    report["loopback"] = "connected"
except OSError as err:
    report["loopback"] = type(err).__name__
report["limits"] = {name: resource.getrlimit(getattr(resource, "RLIMIT_" + name))[0]
                    for name in ("AS", "NPROC", "FSIZE", "CORE")}
print(json.dumps(report))
"""


def probe(limits: sandbox.Limits = sandbox.Limits()) -> dict:
    """What a program started like a student's kernel sees (raises if it cannot start)."""
    slot, lock = sandbox.claim_slot()  # as root, a slot user no running grader is using
    user = sandbox.slot_user(slot) if sandbox.is_root() else None
    base = sandbox.run_folder()
    listener = socket.socket()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        workdir = tempfile.mkdtemp(dir=base)
        if user:
            entry = pwd.getpwnam(user)
            os.chown(workdir, entry.pw_uid, entry.pw_gid)
        os.mkdir(os.path.join(workdir, "home"))
        command = sandbox.launcher_command(user=user, limits=limits, workdir=workdir) + [
            sys.executable, "-c", PROBE, str(next(paths.SOLUTIONS.glob("*.md"))),
            str(listener.getsockname()[1])]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=120,
                              cwd=os.path.join(workdir, "home"))
        if proc.returncode != 0:
            raise RuntimeError(f"the sandboxed probe failed: {proc.stderr.strip()[-300:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        listener.close()
        shutil.rmtree(base, ignore_errors=True)
        lock.close()


def zygote_probe(limits: sandbox.Limits = sandbox.Limits()) -> str:
    """How kernels will start: forked from a zygote (started here, as a job slot starts it),
    or one by one through the launcher, and why."""
    import time

    from .kernels import ZYGOTE_ENV, Kernels, forking

    if not forking():
        return f"one by one through the launcher ({ZYGOTE_ENV}=0)"
    if not sandbox.sandboxed():
        return "one by one through the launcher (no sandbox: no zygote)"
    slot, lock = sandbox.claim_slot()
    kernels = Kernels(slot=slot, limits=limits)
    try:
        started = time.monotonic()
        if kernels.current_zygote() is None:
            return f"one by one through the launcher ({kernels.events[-1]})"
        return (f"forked from a zygote per job slot (it started in "
                f"{time.monotonic() - started:.1f} s; {ZYGOTE_ENV}=0 starts each through the launcher)")
    finally:
        kernels.close()
        shutil.rmtree(kernels.base, ignore_errors=True)
        lock.close()


def main() -> int:
    limits = sandbox.Limits()
    me = pwd.getpwuid(os.getuid()).pw_name
    print(f"user:            {me} (uid {os.getuid()}){'  [root]' if sandbox.is_root() else ''}")
    tool = sandbox.bwrap()
    version = ""
    if tool:
        version = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"sandbox tool:    {tool or 'missing'} {version}".rstrip())
    reason = sandbox.unavailable()
    kinds = "mount, PID, IPC, UTS, network" + ("" if sandbox.is_root() else ", user")
    print(f"namespaces:      {'available (' + kinds + ')' if reason is None else 'NOT available: ' + reason}")
    try:
        mode = "sandboxed" if sandbox.sandboxed() else "UNSAFE (--unsafe-no-sandbox): no namespaces"
    except sandbox.Unavailable as err:
        print(f"kernels:         REFUSED: {err}")
        return 1
    print(f"kernels:         {mode}")
    print(f"state folder:    {sandbox.state_base()} (locks and kernel folders, this user's only)")
    try:
        seen = probe(limits)
    except Exception as err:
        print(f"probe:           FAILED: {err}")
        return 1
    print(f"network:         {'BLOCKED' if seen['loopback'] != 'connected' else 'OPEN'} "
          f"(a listener on the host's loopback: {seen['loopback']})")
    print(f"paths:           {'hidden' if seen['solutions'] != 'readable' else 'VISIBLE'} "
          f"(solutions/: {seen['solutions']}); / shows {' '.join(seen['root'])}")
    slot = (f"yes (uid {seen['uid']}, one user per job slot)" if sandbox.is_root() and mode == "sandboxed"
            else f"no (the kernel runs as uid {seen['uid']}"
                 + (", in a user namespace of its own)" if mode == "sandboxed" else ")"))
    print(f"separate uid:    {slot}")
    print(f"kernel start:    {zygote_probe(limits)}")
    lim = seen["limits"]
    mib = 2**20
    print(f"limits:          memory {lim['AS'] // mib} MiB, {lim['NPROC']} processes/threads, "
          f"files {lim['FSIZE'] // mib} MiB, core dumps {lim['CORE']}"
          + (f", working folder {limits.scratch_mb} MiB tmpfs, /tmp {limits.tmp_mb} MiB"
             if mode == "sandboxed" else ", working folder and /tmp on the host's disk"))
    print(f"time and output: {limits.cell_timeout_s:g} s per cell, {limits.notebook_timeout_s:g} s "
          f"per notebook, {limits.output_kb_per_cell} KB printed per cell (grader side)")
    safe = mode == "sandboxed" and seen["loopback"] != "connected" and seen["solutions"] != "readable"
    return 0 if safe else 1
