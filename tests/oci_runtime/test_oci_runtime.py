#!/usr/bin/env python3
"""strata-runtime against real containers, with runc alongside for comparison.

Each case builds an OCI bundle over one busybox root file system (made here
from Debian's busybox-static), from `runc spec` adjusted per case, and runs it
with strata-runtime and, where comparing says something, with runc. Every
container is deleted with `delete --force` and every directory removed, also
when a case fails.

Exit status: 0 all passed, 1 something failed, 77 skipped (not root, or no
busybox-static). Without runc the comparisons are skipped, not failed.

  STRATA_RUNTIME=build/tools/strata-runtime python3 tests/oci_runtime/test_oci_runtime.py [CASE...]
"""

import copy
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
STRATA = os.environ.get("STRATA_RUNTIME") or os.path.join(
    HERE, "..", "..", "build", "tools", "strata-runtime")
RUNC = shutil.which("runc")
BUSYBOX = shutil.which("busybox")

# `runc spec` of runc 1.1.5, used when runc is not installed.
DEFAULT_SPEC = {
    "ociVersion": "1.0.2-dev",
    "process": {
        "terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["sh"],
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"],
        "cwd": "/",
        "capabilities": {k: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
                         for k in ("bounding", "effective", "permitted", "ambient")},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": True,
    },
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "runc",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ],
    "linux": {
        "resources": {"devices": [{"allow": False, "access": "rwm"}]},
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
        "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                        "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
        "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                          "/proc/sysrq-trigger"],
    },
}


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def __repr__(self):
        return f"exit {self.code}, stdout {self.out!r}, stderr {self.err!r}"


def call(argv, timeout=60, stdin=subprocess.DEVNULL, pass_fds=()):
    """Runs argv with stdout/stderr in files (a container that keeps a pipe
    open would otherwise hang the read)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=err, pass_fds=pass_fds)
        try:
            code = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise Failure(f"{' '.join(argv)} did not finish in {timeout} s")
        out.seek(0)
        err.seek(0)
        return Result(code, out.read().decode(errors="replace"),
                      err.read().decode(errors="replace"))


def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise Failure(f"timed out waiting for {what}")


class Runtime:
    """One runtime binary with its own state root; remembers its containers."""

    def __init__(self, name, binary, root):
        self.name, self.binary, self.root = name, binary, root
        self.ids = []

    def argv(self, *args):
        return [self.binary, "--root", self.root, *args]

    def __call__(self, *args, timeout=60, **kw):
        return call(self.argv(*args), timeout=timeout, **kw)

    def new_id(self, case):
        cid = f"{case}-{self.name}-{os.getpid()}"
        self.ids.append(cid)
        return cid

    def state(self, cid):
        r = self("state", cid)
        check(r.code == 0, f"{self.name} state {cid}: {r}")
        return json.loads(r.out)

    def status(self, cid):
        return self.state(cid)["status"]

    def cleanup(self):
        for cid in self.ids:
            try:
                call(self.argv("delete", "--force", cid), timeout=30)
            except (OSError, Failure):
                pass
            # Should delete have failed: the container's processes and
            # cgroups, wherever either runtime puts them.
            for d in glob.glob(f"/sys/fs/cgroup/**/{cid}", recursive=True):
                kill_cgroup(d)
        self.ids = []


class Env:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="strata-oci-test-")
        self.rootfs = os.path.join(self.tmp, "rootfs")
        self.base_spec = self._base_spec()
        self._build_rootfs()
        self.runtimes = {"strata": Runtime("strata", os.path.abspath(STRATA),
                                           os.path.join(self.tmp, "state-strata"))}
        if RUNC:
            self.runtimes["runc"] = Runtime("runc", RUNC, os.path.join(self.tmp, "state-runc"))
        self.bundles = 0

    def _base_spec(self):
        if not RUNC:
            return copy.deepcopy(DEFAULT_SPEC)
        d = tempfile.mkdtemp(dir=self.tmp)
        subprocess.run([RUNC, "spec"], cwd=d, check=True)
        with open(os.path.join(d, "config.json")) as f:
            spec = json.load(f)
        shutil.rmtree(d)
        return spec

    def _build_rootfs(self):
        bin_dir = os.path.join(self.rootfs, "bin")
        os.makedirs(bin_dir)
        for d in ("etc", "tmp", "proc", "sys", "dev", "root", "out"):
            os.makedirs(os.path.join(self.rootfs, d), exist_ok=True)
        shutil.copy2(BUSYBOX, os.path.join(bin_dir, "busybox"))
        subprocess.run(["chroot", self.rootfs, "/bin/busybox", "--install", "-s", "/bin"],
                       check=True)
        with open(os.path.join(self.rootfs, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
                    "app:x:1000:1000:app:/home/app:/bin/sh\n")
        with open(os.path.join(self.rootfs, "etc", "group"), "w") as f:
            f.write("root:x:0:\nnogroup:x:65534:\n")

    def bundle(self, args, *, terminal=False, mutate=None):
        """A bundle dir whose config runs args over the shared rootfs (read-only)."""
        self.bundles += 1
        d = os.path.join(self.tmp, f"bundle{self.bundles}")
        os.makedirs(d)
        spec = copy.deepcopy(self.base_spec)
        spec["root"]["path"] = self.rootfs
        spec["process"]["args"] = args
        spec["process"]["terminal"] = terminal
        if mutate:
            mutate(spec)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(spec, f, indent=2)
        return d

    def out_dir(self):
        """A host directory a container writes to at /out."""
        d = tempfile.mkdtemp(dir=self.tmp, prefix="out")
        return d

    def cleanup(self):
        for rt in self.runtimes.values():
            rt.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)


def bind_out(host_dir):
    def mutate(spec):
        spec["mounts"].append({"destination": "/out", "type": "bind", "source": host_dir,
                               "options": ["rbind", "rw"]})
    return mutate


def compose(*mutations):
    def mutate(spec):
        for m in mutations:
            if m:
                m(spec)
    return mutate


def cgroup_dir(pid, controller):
    """The host directory of pid's cgroup for a v1 controller (or "unified")."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            names = ctrls.split(",") if ctrls else ["unified"]
            if controller in names:
                base = "/sys/fs/cgroup/unified" if controller == "unified" else \
                    f"/sys/fs/cgroup/{ctrls}"
                if controller == "unified" and not os.path.isdir(base):
                    base = "/sys/fs/cgroup"
                return base + path
    return None


def kill_cgroup(d):
    """SIGKILLs every process of cgroup directory d and removes it."""
    try:
        with open(os.path.join(d, "cgroup.procs")) as f:
            for pid in f.read().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        wait_until(lambda: not open(os.path.join(d, "cgroup.procs")).read().split(),
                   timeout=5, what=f"{d} to empty")
        os.rmdir(d)
    except (OSError, Failure):
        pass


def v1_has(controller):
    return os.path.isdir(f"/sys/fs/cgroup/{controller}") and \
        os.path.exists(f"/sys/fs/cgroup/{controller}/cgroup.procs") and \
        not os.path.exists("/sys/fs/cgroup/cgroup.controllers")


# --- cases -------------------------------------------------------------------
# Each takes (env, runtime). A case listed with BOTH runs with every runtime.

def case_run_echo(env, rt):
    r = rt("run", "--bundle", env.bundle(["echo", "hi"]), rt.new_id("echo"))
    check(r.code == 0 and r.out == "hi\n", f"run echo hi: {r}")


def case_exit_codes(env, rt):
    r = rt("run", "--bundle", env.bundle(["sh", "-c", "exit 42"]), rt.new_id("exit42"))
    check(r.code == 42, f"exit 42: {r}")
    # The init is pid 1 of its namespace, which ignores its own signals: the
    # kill comes from outside, and run reports it as 128 + 9.
    cid = rt.new_id("killed")
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(rt.argv("run", "--bundle", env.bundle(["sleep", "1000"]), cid),
                             stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        try:
            wait_until(lambda: rt("state", cid).code == 0 and rt.status(cid) == "running",
                       what="running")
            check(rt("kill", cid, "KILL").code == 0, "kill")
            code = p.wait(timeout=20)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    check(code == 137, f"killed by SIGKILL: run exited {code}, expected 137")


def case_lifecycle(env, rt):
    cid = rt.new_id("life")
    pid_file = os.path.join(env.tmp, f"{cid}.pid")
    r = rt("create", "--bundle", env.bundle(["sleep", "1000"]), "--pid-file", pid_file, cid)
    check(r.code == 0, f"create: {r}")
    st = rt.state(cid)
    check(st["status"] == "created", f"state after create: {st}")
    check(st["id"] == cid and st["pid"] > 0, f"state fields: {st}")
    for key in ("ociVersion", "bundle", "rootfs", "created"):
        check(key in st, f"state lacks {key}: {st}")
    with open(pid_file) as f:
        check(int(f.read()) == st["pid"], "pid file and state disagree")
    check(os.path.exists(f"/proc/{st['pid']}"), "init is not alive after create")
    r = rt("start", cid)
    check(r.code == 0, f"start: {r}")
    wait_until(lambda: rt.status(cid) == "running", what="running")
    r = rt("start", cid)
    check(r.code != 0, f"a second start succeeded: {r}")
    r = rt("delete", cid)
    check(r.code != 0, f"delete of a running container succeeded: {r}")
    r = rt("kill", cid, "KILL")
    check(r.code == 0, f"kill: {r}")
    wait_until(lambda: rt.status(cid) == "stopped", what="stopped")
    check(rt.state(cid)["pid"] == 0, "a stopped container reports pid 0")
    r = rt("delete", cid)
    check(r.code == 0, f"delete: {r}")
    r = rt("state", cid)
    check(r.code != 0, f"state after delete: {r}")


def case_create_returns_with_init_reparented(env, rt):
    # create must not wait for the container, and the init must outlive it.
    cid = rt.new_id("reparent")
    r = rt("create", "--bundle", env.bundle(["sleep", "1000"]), cid)
    check(r.code == 0, f"create: {r}")
    pid = rt.state(cid)["pid"]
    with open(f"/proc/{pid}/stat") as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    check(ppid != os.getpid(), "the init is still a child of the caller")
    rt("delete", "--force", cid)


def case_pause_resume(env, rt):
    out = env.out_dir()
    cid = rt.new_id("pause")
    loop = "i=0; while :; do i=$((i+1)); echo $i > /out/n; sleep 0.02; done"
    r = rt("run", "--detach", "--bundle", env.bundle(["sh", "-c", loop], mutate=bind_out(out)),
           cid)
    check(r.code == 0, f"run --detach: {r}")

    def counter():
        try:
            with open(os.path.join(out, "n")) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0
    wait_until(lambda: counter() > 3, what="the counter to run")
    r = rt("pause", cid)
    check(r.code == 0, f"pause: {r}")
    check(rt.status(cid) == "paused", "state does not say paused")
    time.sleep(0.2)
    frozen_at = counter()
    time.sleep(0.6)
    check(counter() == frozen_at, f"the process ran while paused ({frozen_at} -> {counter()})")
    r = rt("resume", cid)
    check(r.code == 0, f"resume: {r}")
    check(rt.status(cid) == "running", "state does not say running after resume")
    wait_until(lambda: counter() > frozen_at + 3, what="the counter to run again")
    r = rt("delete", "--force", cid)
    check(r.code == 0, f"delete --force: {r}")


def case_exec(env, rt):
    cid = rt.new_id("exec")
    r = rt("run", "--detach", "--bundle", env.bundle(["sleep", "1000"]), cid)
    check(r.code == 0, f"run --detach: {r}")
    r = rt("exec", cid, "sh", "-c", "echo $((6*7)); ps -o pid,args")
    check(r.code == 0, f"exec: {r}")
    lines = r.out.splitlines()
    check(lines[0] == "42", f"exec output: {r.out!r}")
    check(any(l.split()[:2] == ["1", "sleep"] for l in lines[2:]),
          f"exec does not see the container's init as pid 1: {r.out!r}")
    r = rt("exec", cid, "sh", "-c", "exit 5")
    check(r.code == 5, f"exec exit code: {r}")
    r = rt("exec", "--env", "GREETING=hello", "--cwd", "/tmp", cid, "sh", "-c",
           "echo $GREETING $(pwd)")
    check(r.code == 0 and r.out == "hello /tmp\n", f"exec --env --cwd: {r}")
    # A repeatable option followed by the id: the id is not taken as a value.
    r = rt("exec", "-e", "A=1", "-e", "B=2", cid, "sh", "-c", "echo $A$B")
    check(r.code == 0 and r.out == "12\n", f"exec -e A -e B ID: {r}")
    r = rt("exec", "--user", "1000:1000", cid, "id")
    check(r.code == 0 and "uid=1000" in r.out and "gid=1000" in r.out, f"exec --user: {r}")
    r = rt("exec", cid, "/no/such/program")
    check(r.code != 0 and "/no/such/program" in r.err, f"exec of a missing program: {r}")
    rt("delete", "--force", cid)


def case_exec_needs_a_running_container(env, rt):
    cid = rt.new_id("execstate")
    r = rt("run", "--detach", "--bundle", env.bundle(["sleep", "1000"]), cid)
    check(r.code == 0, f"run --detach: {r}")
    check(rt("pause", cid).code == 0, "pause")
    r = rt("exec", cid, "true", timeout=15)
    check(r.code != 0 and "paused" in r.err, f"exec into a paused container: {r}")
    check(rt("resume", cid).code == 0, "resume")
    check(rt("kill", cid, "KILL").code == 0, "kill")
    wait_until(lambda: rt.status(cid) == "stopped", what="stopped")
    r = rt("exec", cid, "true")
    check(r.code != 0 and "stopped" in r.err, f"exec into a stopped container: {r}")


def case_hostname(env, rt):
    def mutate(spec):
        spec["hostname"] = "strata-box"
    r = rt("run", "--bundle", env.bundle(["hostname"], mutate=mutate), rt.new_id("host"))
    check(r.code == 0 and r.out == "strata-box\n", f"hostname: {r}")


def case_pid_namespace(env, rt):
    r = rt("run", "--bundle", env.bundle(["sh", "-c", "echo $$; ps -o pid,args"]),
           rt.new_id("pidns"))
    check(r.code == 0, f"run: {r}")
    lines = r.out.splitlines()
    check(lines[0] == "1", f"the container's init is not pid 1: {r.out!r}")
    procs = lines[2:]
    check(procs and procs[0].split()[0] == "1", f"ps does not show pid 1 first: {r.out!r}")
    check(len(procs) <= 3, f"the container sees other processes: {r.out!r}")


def case_proc_sys_readonly(env, rt):
    r = rt("run", "--bundle", env.bundle(["sh", "-c", "echo 1 > /proc/sys/kernel/panic"]),
           rt.new_id("procsys"))
    check(r.code != 0 and "read-only" in r.err.lower(), f"writing /proc/sys succeeded: {r}")


def case_masked_paths(env, rt):
    # /proc/kcore where the kernel has it; /proc/keys and /proc/timer_list too.
    files = [f for f in ("/proc/kcore", "/proc/keys", "/proc/timer_list") if os.path.exists(f)]
    check(files, "the host has none of the masked files")
    script = "".join(f"wc -c < {f}; " for f in files) + "ls /sys/firmware | wc -l"
    r = rt("run", "--bundle", env.bundle(["sh", "-c", script]), rt.new_id("masked"))
    check(r.code == 0 and r.out.split() == ["0"] * (len(files) + 1),
          f"{files} or /sys/firmware not masked: {r}")


def case_cannot_mount(env, rt):
    r = rt("run", "--bundle", env.bundle(["mount", "-t", "tmpfs", "none", "/tmp"]),
           rt.new_id("mount"))
    check(r.code != 0, f"mount succeeded without CAP_SYS_ADMIN: {r}")


def case_readonly_root_and_user(env, rt):
    def mutate(spec):
        spec["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5]}
    script = "touch /x 2>/dev/null && echo wrote; id; ulimit -n; grep CapEff /proc/self/status; " \
             "echo $HOME"
    r = rt("run", "--bundle", env.bundle(["sh", "-c", script], mutate=mutate), rt.new_id("user"))
    check(r.code == 0, f"run: {r}")
    check("wrote" not in r.out, f"wrote to a read-only root: {r.out!r}")
    check(re.search(r"uid=1000(\(app\))? gid=1000 groups=5\b", r.out), f"user and groups: {r.out!r}")
    check("\n1024\n" in r.out, f"RLIMIT_NOFILE: {r.out!r}")
    check("CapEff:\t0000000000000000" in r.out, f"a non-root user kept capabilities: {r.out!r}")
    check(r.out.rstrip().endswith("/home/app"), f"HOME from /etc/passwd: {r.out!r}")


def case_memory_limit(env, rt):
    limit = 32 * 1024 * 1024

    def mutate(spec):
        spec["linux"]["resources"]["memory"] = {"limit": limit, "swap": limit}
    # The shell keeps the whole command substitution in memory: ~100 MB.
    hog = 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived ${#x}'
    cid = rt.new_id("oom")
    r = rt("create", "--bundle", env.bundle(["sh", "-c", hog], mutate=mutate), cid)
    check(r.code == 0, f"create: {r}")
    pid = rt.state(cid)["pid"]
    mem = cgroup_dir(pid, "memory") or cgroup_dir(pid, "unified")
    if mem and os.path.exists(os.path.join(mem, "memory.limit_in_bytes")):
        with open(os.path.join(mem, "memory.limit_in_bytes")) as f:
            check(int(f.read()) == limit, "memory.limit_in_bytes is not the limit")
    elif mem and os.path.exists(os.path.join(mem, "memory.max")):
        with open(os.path.join(mem, "memory.max")) as f:
            check(int(f.read()) == limit, "memory.max is not the limit")
    check(rt("start", cid).code == 0, "start")
    wait_until(lambda: rt.status(cid) == "stopped", timeout=60, what="the allocator to die")
    if rt.name == "strata":
        st = rt.state(cid)
        check(st.get("oomKills", 0) > 0, f"state does not report the OOM kill: {st}")
    rt("delete", "--force", cid)
    # And through run, the exit status says SIGKILL.
    r = rt("run", "--bundle", env.bundle(["sh", "-c", hog], mutate=mutate), rt.new_id("oomrun"),
           timeout=120)
    check(r.code == 137 and "survived" not in r.out, f"the allocator was not killed: {r}")


def case_pids_limit(env, rt):
    def mutate(spec):
        spec["linux"]["resources"]["pids"] = {"limit": 8}
    cid = rt.new_id("pids")
    r = rt("run", "--detach", "--bundle", env.bundle(["sleep", "1000"], mutate=mutate), cid)
    check(r.code == 0, f"run --detach: {r}")
    pid = rt.state(cid)["pid"]
    pids_dir = cgroup_dir(pid, "pids") or cgroup_dir(pid, "unified")
    check(pids_dir is not None, "no pids cgroup")
    with open(os.path.join(pids_dir, "pids.max")) as f:
        check(f.read().strip() == "8", "pids.max is not 8")
    # A fork loop: the shell gives up at the first failed fork.
    r = rt("exec", cid, "sh", "-c", "for i in $(seq 1 40); do sleep 1000 >/dev/null 2>&1 & done; echo forked-all")
    check(r.code != 0 and "forked-all" not in r.out, f"the fork loop was not stopped: {r}")
    with open(os.path.join(pids_dir, "cgroup.procs")) as f:
        n = len(f.read().split())
    check(1 < n <= 8, f"{n} processes under a limit of 8")
    with open(os.path.join(pids_dir, "pids.events")) as f:
        check(int(f.read().split()[1]) > 0, "pids.events counts no refused fork")
    rt("delete", "--force", cid)


def case_network_none(env, rt):
    script = "cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' '; cat /sys/class/net/lo/flags"
    r = rt("run", "--bundle", env.bundle(["sh", "-c", script]), rt.new_id("net"))
    check(r.code == 0, f"run: {r}")
    lines = r.out.split()
    check(lines[:-1] == ["lo"], f"interfaces other than lo: {r.out!r}")
    check(int(lines[-1], 16) & 1, f"lo is not up: {r.out!r}")


def case_setup_errors(env, rt):
    for args, cwd, words in ((["/nonexistent"], "/", ["/nonexistent", "no such file"]),
                             (["pwd"], "/bin/busybox", ["not a directory"])):
        def mutate(spec, cwd=cwd):
            spec["process"]["cwd"] = cwd
        cid = rt.new_id("err")
        r = rt("run", "--bundle", env.bundle(args, mutate=mutate), cid)
        check(r.code != 0, f"{args} in {cwd} succeeded: {r}")
        if rt.name == "strata":
            err = r.err.strip()
            check("\n" not in err, f"the error is not one line: {err!r}")
            for w in words:
                check(w in err.lower(), f"the error does not say {w!r}: {err!r}")
            check(not os.path.exists(os.path.join(rt.root, cid)),
                  "a failed run left its state behind")
            check(not os.path.exists(f"/sys/fs/cgroup/pids/strata/{cid}") and
                  not os.path.exists(f"/sys/fs/cgroup/strata/{cid}"),
                  "a failed run left its cgroup behind")


def case_bad_config(env, rt):
    def mutate(spec):
        spec["linux"]["namespaces"].append({"type": "user"})
    r = rt("run", "--bundle", env.bundle(["true"], mutate=mutate), rt.new_id("badcfg"))
    check(r.code != 0 and "user namespaces" in r.err and len(r.err.strip().splitlines()) == 1,
          f"a user namespace: {r}")


def case_kill_all_and_force_delete(env, rt):
    cid = rt.new_id("killall")
    r = rt("run", "--detach", "--bundle",
           env.bundle(["sh", "-c", "sleep 1000 & sleep 1000 & wait"]), cid)
    check(r.code == 0, f"run --detach: {r}")
    pid = rt.state(cid)["pid"]
    procs = os.path.join(cgroup_dir(pid, "pids") or cgroup_dir(pid, "unified"), "cgroup.procs")
    wait_until(lambda: len(open(procs).read().split()) == 3, what="three processes")
    r = rt("kill", "--all", cid, "KILL")
    check(r.code == 0, f"kill --all: {r}")
    wait_until(lambda: rt.status(cid) == "stopped", what="stopped")
    check(rt("delete", cid).code == 0, "delete")
    check(not os.path.exists(os.path.dirname(procs)), "delete left the cgroup")
    # --force on a running container.
    cid = rt.new_id("force")
    check(rt("run", "--detach", "--bundle", env.bundle(["sleep", "1000"]), cid).code == 0, "run")
    pid = rt.state(cid)["pid"]
    check(rt("delete", "--force", cid).code == 0, "delete --force")
    check(not os.path.exists(f"/proc/{pid}") or "Z" in open(f"/proc/{pid}/stat").read().split()[2],
          "delete --force left the init running")


def case_terminal_console_socket(env, rt):
    sock_path = os.path.join(env.tmp, f"console-{rt.name}.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(1)
    server.settimeout(20)
    cid = rt.new_id("tty")
    try:
        bundle = env.bundle(["sh", "-c", "tty; echo from-tty; sleep 0.3"], terminal=True)
        creator = subprocess.Popen(rt.argv("create", "--bundle", bundle, "--console-socket",
                                           sock_path, cid),
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        conn, _ = server.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
        conn.close()
        err = creator.communicate(timeout=20)[1]
        check(creator.returncode == 0, f"create with a console socket: {err!r}")
        check(len(fds) == 1, "no fd came over the console socket")
        master = fds[0]
        check(rt("start", cid).code == 0, "start")
        data = b""
        deadline = time.monotonic() + 10
        while b"from-tty" not in data and time.monotonic() < deadline:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        os.close(master)
        text = data.decode(errors="replace")
        check("/dev/pts/0" in text and "from-tty" in text, f"terminal output: {text!r}")
    finally:
        server.close()
        rt("delete", "--force", cid)


def case_exec_tty_console_socket(env, rt):
    cid = rt.new_id("exectty")
    check(rt("run", "--detach", "--bundle", env.bundle(["sleep", "1000"]), cid).code == 0, "run")
    sock_path = os.path.join(env.tmp, f"exec-console-{rt.name}.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock_path)
    server.listen(1)
    server.settimeout(20)
    try:
        p = subprocess.Popen(rt.argv("exec", "--tty", "--detach", "--console-socket", sock_path,
                                     cid, "sh", "-c", "tty; echo exec-tty; sleep 0.3"),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        conn, _ = server.accept()
        _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
        conn.close()
        err = p.communicate(timeout=20)[1]
        check(p.returncode == 0 and len(fds) == 1, f"exec --tty: {err!r}")
        data = b""
        deadline = time.monotonic() + 10
        while b"exec-tty" not in data and time.monotonic() < deadline:
            try:
                chunk = os.read(fds[0], 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        os.close(fds[0])
        check(b"/dev/pts/" in data and b"exec-tty" in data, f"exec terminal output: {data!r}")
    finally:
        server.close()
        rt("delete", "--force", cid)


def case_signals_are_forwarded(env, rt):
    script = 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.05; done'
    cid = rt.new_id("sig")
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(rt.argv("run", "--bundle", env.bundle(["sh", "-c", script]), cid),
                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.DEVNULL)

        def ready():
            out.seek(0)
            return b"ready" in out.read()
        wait_until(ready, what="the container to start")
        p.send_signal(signal.SIGTERM)
        try:
            code = p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            raise Failure("SIGTERM was not forwarded")
        out.seek(0)
        text = out.read().decode()
    check(code == 7 and "got-term" in text, f"forwarded SIGTERM: exit {code}, {text!r}")


def fuse_device_bundle(env, allow_read):
    """/dev/fuse made in the container; allowed for reading only, or not at all."""
    def mutate(spec):
        spec["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                                     "fileMode": 0o666}]
        if allow_read:
            spec["linux"]["resources"]["devices"].append(
                {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "r"})
    script = ("true < /dev/fuse 2>/dev/null && echo read-ok; "
              "true > /dev/fuse 2>/dev/null && echo write-ok; echo done")
    return env.bundle(["sh", "-c", script], mutate=mutate)


def case_device_rules(env, rt):
    if not os.path.exists("/dev/fuse"):
        return  # the node would not open anyway
    r = rt("run", "--bundle", fuse_device_bundle(env, False), rt.new_id("devdeny"))
    check(r.code == 0 and r.out == "done\n", f"a device outside the rules opened: {r}")
    r = rt("run", "--bundle", fuse_device_bundle(env, True), rt.new_id("devread"))
    check(r.code == 0 and r.out == "read-ok\ndone\n", f"an allow-read rule: {r}")


def case_cgroups_path(env, rt):
    name = f"strata-test-{os.getpid()}-{rt.name}"

    def mutate(spec):
        spec["linux"]["cgroupsPath"] = f"/{name}/box"
    cid = rt.new_id("cgpath")
    check(rt("run", "--detach", "--bundle", env.bundle(["sleep", "1000"], mutate=mutate),
             cid).code == 0, "run")
    pid = rt.state(cid)["pid"]
    d = cgroup_dir(pid, "pids") or cgroup_dir(pid, "unified")
    check(d.endswith(f"/{name}/box"), f"cgroup {d} is not the cgroupsPath")
    rt("delete", "--force", cid)
    check(not os.path.exists(d), "delete left the cgroup")
    for base in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified") + tuple(
            f"/sys/fs/cgroup/{c}" for c in ("cpu", "cpuacct", "cpuset", "memory", "devices",
                                             "freezer", "blkio", "pids", "systemd")):
        try:
            os.rmdir(os.path.join(base, name))
        except OSError:
            pass


BOTH = [case_run_echo, case_exit_codes, case_lifecycle, case_create_returns_with_init_reparented,
        case_pause_resume, case_exec, case_hostname, case_pid_namespace, case_proc_sys_readonly,
        case_masked_paths, case_cannot_mount, case_readonly_root_and_user, case_memory_limit,
        case_pids_limit, case_network_none, case_setup_errors, case_kill_all_and_force_delete,
        case_terminal_console_socket, case_exec_tty_console_socket, case_signals_are_forwarded,
        case_cgroups_path, case_device_rules]
STRATA_ONLY = [case_exec_needs_a_running_container, case_bad_config]


def cgroup_mode_cases(env):
    """strata-runtime on a pure v1 and a pure v2 view of this host, made in a
    private mount namespace (the host's mounts stay as they are)."""
    results = []
    if not os.path.isdir("/sys/fs/cgroup/unified") or not v1_has("freezer"):
        return results  # only a hybrid host can show both
    # hybrid: the host as it is. Each mode checks the hierarchies the init
    # must be in (cloned into cgroup2, moved into v1 by "tasks").
    script_for = {
        "hybrid": "true",
        "v1": "umount /sys/fs/cgroup/unified",
        "v2": "for m in $(awk '$3 == \"cgroup\" {print $2}' /proc/mounts); do umount $m; done; "
              "mount --move /sys/fs/cgroup/unified /mnt 2>/dev/null || "
              "mount -t cgroup2 none /mnt; umount -l /sys/fs/cgroup; "
              "mount --move /mnt /sys/fs/cgroup",
    }
    checks_for = {
        "hybrid": "grep -q '^0::.*/strata/{cid}$' /proc/$pid/cgroup\n"
                  "grep -q ':pids:.*/strata/{cid}$' /proc/$pid/cgroup",
        "v1": "grep -q ':memory:.*/strata/{cid}$' /proc/$pid/cgroup",
        "v2": "grep -q '^0::.*/strata/{cid}$' /proc/$pid/cgroup",
    }
    for mode, setup in script_for.items():
        name = f"cgroup-{mode}"
        root = os.path.join(env.tmp, f"state-{mode}")
        cid = f"mode-{mode}-{os.getpid()}"
        checks = checks_for[mode].format(cid=cid)
        bundle = env.bundle(["sleep", "1000"])
        devbundle = fuse_device_bundle(env, True)
        rt = f"{os.path.abspath(STRATA)} --root {root}"
        body = f"""
set -e
{setup}
{rt} run --detach --bundle {bundle} {cid} </dev/null >/dev/null
{rt} state {cid} | grep -q '"running"'
pid=$({rt} state {cid} | sed -n 's/.*"pid": \\([0-9]*\\).*/\\1/p')
grep -q strata/{cid} /proc/$pid/cgroup
{checks}
{rt} pause {cid}
{rt} state {cid} | grep -q '"paused"'
{rt} resume {cid}
test "$({rt} exec {cid} cat /proc/self/cgroup </dev/null)" = "$({rt} exec {cid} cat /proc/1/cgroup </dev/null)"
{rt} delete --force {cid}
! {rt} state {cid} 2>/dev/null
if [ -e /dev/fuse ]; then
  test "$({rt} run --bundle {devbundle} {cid}-dev </dev/null)" = "$(printf 'read-ok\\ndone')"
fi
"""
        r = call(["unshare", "-m", "--propagation", "private", "sh", "-c", body], timeout=60)
        if r.code != 0:
            call(["unshare", "-m", "--propagation", "private", "sh", "-c",
                  f"{setup}; {rt} delete --force {cid}; {rt} delete --force {cid}-dev"],
                 timeout=30)
            # If even that failed, what it left is found by its cgroup.
            for d in glob.glob(f"/sys/fs/cgroup/*/strata/{cid}*") + \
                    glob.glob(f"/sys/fs/cgroup/memory/**/strata/{cid}*", recursive=True):
                kill_cgroup(d)
        results.append((name, r.code == 0, "" if r.code == 0 else repr(r)))
    return results


def main():
    if os.geteuid() != 0:
        print("skip: needs root")
        return 77
    if not BUSYBOX or not os.path.exists(STRATA):
        print(f"skip: needs busybox-static and {STRATA}")
        return 77
    only = set(sys.argv[1:])
    env = Env()
    failed = passed = 0
    try:
        plan = [(c, rt) for c in BOTH for rt in env.runtimes.values()]
        plan += [(c, env.runtimes["strata"]) for c in STRATA_ONLY]
        for case, rt in plan:
            name = case.__name__[len("case_"):]
            if only and name not in only:
                continue
            label = f"{name} [{rt.name}]"
            try:
                case(env, rt)
                passed += 1
                print(f"ok   {label}", flush=True)
            except Exception as e:  # noqa: BLE001 - report any failure and go on
                failed += 1
                print(f"FAIL {label}: {e}", flush=True)
                if not isinstance(e, Failure):
                    traceback.print_exc()
            finally:
                rt.cleanup()
        if not only or "cgroup_modes" in only:
            for name, ok, why in cgroup_mode_cases(env):
                print(f"{'ok  ' if ok else 'FAIL'} {name} [strata]{'' if ok else ': ' + why}",
                      flush=True)
                passed += ok
                failed += not ok
    finally:
        env.cleanup()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
