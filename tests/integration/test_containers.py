#!/usr/bin/env python3
"""Containers run by stratad on busybox: the lifecycle (with strata-runtime,
and with runc where it is installed), logs, exec, pause, restart policies,
commit and reset, volumes, and what survives a stop/start and a restart or
crash of stratad.

Every container is removed and every stratad stopped with SIGTERM (which
stops its containers) when a test ends, passed or not; a stratad killed on
purpose has what is left of its containers deleted through the runtime."""

import fcntl
import json
import os
import pty
import select
import shutil
import struct
import termios
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

STRATA_RUNTIME = os.path.join(harness.BUILD_DIR, "tools", "strata-runtime")

# A process that leaves at once on SIGTERM (sh as pid 1 ignores it otherwise:
# a signal with no handler is ignored by a namespace's init, so tests wait
# for "ready", printed once the trap is set, before they signal it).
LOOP = 'trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done'


def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))


def terminal_session(socket_path, argv, steps, rows=30, cols=100, timeout=30):
    """Runs strata ARGV on a pseudo-terminal of ROWS x COLS, as a user at a
    terminal would: each step (WAIT_FOR, SEND) sends SEND once WAIT_FOR has
    appeared in the output. Returns (exit status, output)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["STRATA_SOCKET"] = socket_path
        try:
            os.execv(harness.STRATA, [harness.STRATA] + argv)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    out = b""
    deadline = time.monotonic() + timeout
    step = 0
    try:
        while time.monotonic() < deadline:
            if step < len(steps) and steps[step][0].encode() in out:
                os.write(fd, steps[step][1].encode())
                step += 1
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(fd, 4096)
            except OSError:  # EIO: the client has exited and closed it
                break
            if not data:
                break
            out += data
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def delete_leftovers(root):
    """Kills what a killed stratad left running: every container the
    runtimes still know under ROOT."""
    state = os.path.join(root, "runtime")
    if not os.path.isdir(state):
        return
    for runtime in (STRATA_RUNTIME, shutil.which("runc")):
        if not runtime:
            continue
        for cid in os.listdir(state):
            subprocess.run([runtime, "--root", state, "delete", "--force", cid],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)


class ContainerTestCase(harness.StrataTestCase):
    runtime = None  # None: stratad's default (strata-runtime beside it)
    stratad_args = []

    def setUp(self):
        self.fx = self.fixtures()
        self.d = self.start_daemon()
        self.import_image(self.d, self.fx.layout("busybox"), "busybox")

    def start_daemon(self, **kw):
        extra = ["--runtime", self.runtime] if self.runtime else []
        d = harness.Stratad(extra_args=extra + self.stratad_args, **kw)
        # Cleanups run last-in first-out: the stop (which stops the
        # containers) before the harness's kill.
        self.addCleanup(d.kill)
        self.addCleanup(delete_leftovers, d.root)
        self.addCleanup(self.stop_daemon, d)
        return d

    def stop_daemon(self, d):
        if d.alive():
            for c in self.containers(d):
                d.strata("rm", "-f", c["id"])
            d.stop(signal.SIGTERM, timeout=60)

    def containers(self, d=None):
        r = (d or self.d).ok("ps", "-a", "--format", "json")
        return r.json()

    def inspect_ctr(self, ref, d=None):
        return harness._one((d or self.d).ok("inspect", ref, "--format", "json").json())

    def state(self, ref, d=None):
        return self.inspect_ctr(ref, d)["state"]

    def run_ctr(self, *args, timeout=60):
        return self.d.strata("run", *args, timeout=timeout)

    def start_loop(self, name, *options, d=None):
        """A detached container running LOOP, once its trap is set."""
        d = d or self.d
        d.ok("run", "-d", "--name", name, *options, "busybox", "sh", "-c", LOOP)
        wait_until(lambda: "ready" in d.ok("logs", name).stdout, what=name + " ready")

    def upper(self, ref, path, d=None):
        """A file of the container's writable layer, read on the host."""
        cid = self.inspect_ctr(ref, d)["id"]
        with open(os.path.join((d or self.d).root, "containers", cid, "upper", path)) as f:
            return f.read()


class Lifecycle(ContainerTestCase):
    def test_run_echo_hi(self):
        r = self.run_ctr("--rm", "busybox", "echo", "hi")
        self.assertEqual((r.rc, r.stdout, r.stderr), (0, "hi\n", ""), r)
        self.assertEqual(self.containers(), [], "--rm left the container")

    def test_exit_codes(self):
        r = self.run_ctr("--name", "three", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
        self.assertEqual(r.rc, 3, r)
        self.assertEqual(r.stdout, "out\n")
        self.assertEqual(r.stderr, "err\n")
        self.assertEqual(self.d.ok("wait", "three").stdout, "3\n")
        st = self.state("three")
        self.assertEqual((st["status"], st["exit_code"]), ("exited", 3))
        # A process killed by a signal: 128 + the signal.
        self.start_loop("killed")
        self.d.ok("kill", "killed")
        self.assertEqual(self.d.ok("wait", "killed").stdout, "137\n")
        r = self.run_ctr("--rm", "busybox", "no-such-command")
        self.assertEqual(r.rc, 127, r)
        self.assertOneLineError(r)
        self.assertIn("no-such-command", r.stderr)

    def test_detached_with_logs(self):
        cid = self.run_ctr("-d", "--name", "talker", "busybox", "sh", "-c",
                           "echo one; echo two >&2; sleep 0.2; echo three; " + LOOP).stdout.strip()
        self.assertEqual(len(cid), 64)
        wait_until(lambda: "ready" in self.d.ok("logs", "talker").stdout, what="output")
        r = self.d.ok("logs", "talker")
        self.assertEqual((r.stdout, r.stderr), ("one\nthree\nready\n", "two\n"))
        self.assertEqual(self.d.ok("logs", "--tail", "1", "talker").stdout, "ready\n")
        stamped = self.d.ok("logs", "-t", "--tail", "1", cid[:12]).stdout
        self.assertRegex(stamped, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ready\n$")
        ps = self.d.ok("ps").stdout
        self.assertIn("talker", ps)
        self.assertIn("Up ", ps)
        # logs -f ends when the container stops.
        follow = subprocess.Popen([harness.STRATA, "--socket", self.d.socket, "logs", "-f",
                                   "talker"], stdout=subprocess.PIPE, text=True)
        self.d.ok("stop", "talker")
        out, _ = follow.communicate(timeout=20)
        self.assertEqual(out, "one\nthree\nready\n")
        self.assertEqual(self.state("talker")["exit_code"], 0)
        self.assertNotIn("talker", self.d.ok("ps").stdout)
        self.assertIn("talker", self.d.ok("ps", "-a").stdout)

    def test_stop_kills_a_process_that_ignores_sigterm(self):
        self.run_ctr("-d", "--name", "stubborn", "busybox", "sh", "-c",
                     'trap "" TERM; while :; do sleep 0.1; done')
        start = time.monotonic()
        self.d.ok("stop", "-t", "1", "stubborn")
        took = time.monotonic() - start
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 8)
        st = self.state("stubborn")
        self.assertEqual((st["status"], st["exit_code"]), ("exited", 137))

    def test_kill_and_rm(self):
        self.start_loop("victim")
        r = self.d.strata("rm", "victim")
        self.assertOneLineError(r)
        self.assertIn("running", r.stderr)
        self.d.ok("kill", "-s", "TERM", "victim")
        wait_until(lambda: self.state("victim")["status"] == "exited", what="exit")
        self.assertEqual(self.state("victim")["exit_code"], 0)
        self.d.ok("start", "victim")
        self.d.ok("rm", "-f", "victim")
        self.assertEqual(self.containers(), [])
        self.assertOneLineError(self.d.strata("inspect", "victim"))

    def test_exec(self):
        self.start_loop("box")
        r = self.d.strata("exec", "box", "sh", "-c", "echo in; echo err >&2; exit 7")
        self.assertEqual((r.rc, r.stdout, r.stderr), (7, "in\n", "err\n"), r)
        r = self.d.ok("exec", "-e", "GREETING=hey", "-u", "1000:1000", "-w", "/tmp", "box", "sh",
                      "-c", 'echo "$GREETING $(id -u):$(id -g) $(pwd)"')
        self.assertEqual(r.stdout, "hey 1000:1000 /tmp\n")
        self.d.ok("pause", "box")
        r = self.d.strata("exec", "box", "true")
        self.assertOneLineError(r)
        self.assertIn("paused", r.stderr)
        self.d.ok("resume", "box")
        self.d.ok("stop", "box")
        r = self.d.strata("exec", "box", "true")
        self.assertOneLineError(r)
        self.assertIn("not running", r.stderr)

    def test_pause_and_resume(self):
        self.run_ctr("-d", "--name", "counter", "busybox", "sh", "-c",
                     'trap "exit 0" TERM; i=0; while :; do i=$((i+1)); echo $i > /count; '
                     'sleep 0.05; done')
        wait_until(lambda: self.upper_count() > 2, what="counting")
        self.d.ok("pause", "counter")
        self.assertEqual(self.state("counter")["status"], "paused")
        self.assertIn("(Paused)", self.d.ok("ps").stdout)
        frozen = self.upper_count()
        time.sleep(0.5)
        self.assertEqual(self.upper_count(), frozen, "a paused container kept counting")
        self.d.ok("resume", "counter")
        wait_until(lambda: self.upper_count() > frozen + 2, what="counting again")
        self.d.ok("stop", "counter")

    def upper_count(self):
        try:
            return int(self.upper("counter", "count").strip() or 0)
        except (OSError, ValueError):
            return 0

    def test_on_failure_3_gives_up(self):
        self.run_ctr("-d", "--name", "flaky", "--restart", "on-failure:3", "busybox", "sh", "-c",
                     "echo attempt; exit 2")
        wait_until(lambda: self.state("flaky")["restart_count"] == 3 and
                   self.state("flaky")["status"] == "exited", timeout=20, what="three restarts")
        time.sleep(1)  # no fourth
        st = self.state("flaky")
        self.assertEqual((st["status"], st["exit_code"], st["restart_count"]), ("exited", 2, 3))
        self.assertEqual(self.d.ok("logs", "flaky").stdout, "attempt\n" * 4)

    def test_memory_limit_kills_an_allocator_and_inspect_says_oom(self):
        # The shell keeps the whole command substitution in memory: ~100 MB.
        r = self.run_ctr("--name", "hog", "--memory", "32m", "busybox", "sh", "-c",
                         'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived',
                         timeout=120)
        self.assertEqual(r.rc, 137, r)
        self.assertNotIn("survived", r.stdout)
        self.assertTrue(self.state("hog")["oom_killed"], self.state("hog"))
        self.assertEqual(self.inspect_ctr("hog")["memory"], 32 << 20)

    def test_pids_limit_stops_a_fork_loop(self):
        self.start_loop("few", "--pids-limit", "8")
        r = self.d.strata("exec", "few", "sh", "-c",
                          "for i in $(seq 1 40); do sleep 1000 >/dev/null 2>&1 & done; "
                          "echo forked-all")
        self.assertNotEqual(r.rc, 0, r)
        self.assertNotIn("forked-all", r.stdout)

    def test_run_it_is_a_real_terminal(self):
        rc, out = terminal_session(self.d.socket, ["run", "-it", "--rm", "busybox", "sh"],
                                   [("# ", "stty size; tty; echo $((6*7))\r"),
                                    ("42", "exit 3\r")])
        self.assertEqual(rc, 3, out)
        self.assertIn("30 100", out)  # the client's window size
        self.assertIn("/dev/pts/0", out)
        self.assertEqual(self.containers(), [])

    def test_exec_it(self):
        self.start_loop("box")
        rc, out = terminal_session(self.d.socket, ["exec", "-it", "box", "sh"],
                                   [("# ", "tty; echo $((2+3))$TERM\r"), ("5xterm", "exit 5\r")])
        self.assertEqual(rc, 5, out)
        self.assertIn("/dev/pts/", out)

    def test_detach_keys_then_attach(self):
        # ^P^Q leaves the session and the container running; attach comes
        # back to the same shell (its variable is still set).
        rc, out = terminal_session(self.d.socket, ["run", "-it", "--name", "sticky", "busybox",
                                                   "sh"],
                                   [("# ", "X=kept; echo set$((1+1))\r"), ("set2", "\x10\x11")])
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.state("sticky")["status"], "running")
        rc, out = terminal_session(self.d.socket, ["attach", "sticky"],
                                   [("", "echo got-$X\r"), ("got-kept", "exit 6\r")])
        self.assertEqual(rc, 6, out)
        wait_until(lambda: self.state("sticky")["status"] == "exited", what="sticky to exit")
        # Custom keys, and a key that is not one.
        rc, out = terminal_session(self.d.socket, ["run", "-it", "--detach-keys", "ctrl-x",
                                                   "--name", "other", "busybox", "sh"],
                                   [("# ", "\x18")])
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.state("other")["status"], "running")
        r = self.d.strata("attach", "--detach-keys", "meta-q", "other")
        self.assertOneLineError(r)
        self.assertIn("meta-q", r.stderr)
        r = self.d.strata("attach", "nonesuch")
        self.assertOneLineError(r)

    def test_image_rm_refused_while_a_container_uses_it(self):
        self.d.ok("create", "--name", "user", "busybox", "true")
        r = self.d.strata("image", "rm", "busybox")
        self.assertOneLineError(r)
        self.assertIn("used by container user", r.stderr)
        self.d.ok("image", "inspect", "busybox")
        # One of two tags only untags: allowed.
        self.d.ok("image", "tag", "busybox", "alias:v1")
        self.d.ok("image", "rm", "alias:v1")
        self.d.ok("image", "rm", "-f", "busybox")
        self.assertOneLineError(self.d.strata("image", "inspect", "busybox"))
        # The container keeps its layers (a GC root) and still runs.
        r = self.d.strata("start", "user")
        self.assertEqual(r.rc, 0, r)

    def test_logs_since(self):
        r = self.run_ctr("--name", "talker", "busybox", "sh", "-c",
                         "echo one; sleep 1.2; echo two; echo three")
        self.assertEqual(r.rc, 0, r)
        stamped = self.d.ok("logs", "-t", "talker").stdout.splitlines()
        self.assertEqual([l.split(" ", 1)[1] for l in stamped], ["one", "two", "three"])
        second = stamped[1].split(" ", 1)[0]
        self.assertEqual(self.d.ok("logs", "--since", second, "talker").stdout, "two\nthree\n")
        self.assertEqual(self.d.ok("logs", "--since", second, "--tail", "1", "talker").stdout,
                         "three\n")
        self.assertEqual(self.d.ok("logs", "--since", "1h", "talker").stdout, "one\ntwo\nthree\n")
        self.assertEqual(self.d.ok("logs", "--since", "2099-01-01T00:00:00Z", "talker").stdout, "")
        self.assertOneLineError(self.d.strata("logs", "--since", "yesterday", "talker"))

    def test_log_rotation(self):
        r = self.run_ctr("--name", "chatty", "--log-opt", "max-size=1k", "--log-opt", "max-file=2",
                         "busybox", "sh", "-c", "for i in $(seq 1 300); do echo line$i; done")
        self.assertEqual(r.rc, 0, r)
        cid = self.inspect_ctr("chatty")["id"]
        cdir = os.path.join(self.d.root, "containers", cid)
        self.assertTrue(os.path.exists(os.path.join(cdir, "log.1")))
        self.assertFalse(os.path.exists(os.path.join(cdir, "log.2")))
        for name in ("log", "log.1"):  # log may be absent right after a rotation
            path = os.path.join(cdir, name)
            if os.path.exists(path):
                self.assertLess(os.path.getsize(path), 1024 + 200)
        lines = self.d.ok("logs", "chatty").stdout.splitlines()
        self.assertEqual(lines[-1], "line300")
        self.assertNotIn("line1", lines)
        first = int(lines[0][4:])
        self.assertEqual(lines, ["line%d" % i for i in range(first, 301)])
        for bad in (["--log-opt", "max-file=0"], ["--log-opt", "colour=red"],
                    ["--log-opt", "max-size=lots"]):
            r = self.run_ctr("--rm", *bad, "busybox", "true")
            self.assertOneLineError(r)

    def test_ctrl_c_without_a_terminal_reaches_the_container(self):
        env = dict(os.environ, STRATA_SOCKET=self.d.socket)
        p = subprocess.Popen([harness.STRATA, "run", "--name", "trapper", "busybox", "sh", "-c",
                              "trap 'echo got-INT; exit 3' INT; echo ready; "
                              "while :; do sleep 0.1; done"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        try:
            self.assertEqual(p.stdout.readline(), "ready\n")
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual((p.returncode, out), (3, "got-INT\n"), err)

    def test_stdin_with_i(self):
        env = dict(os.environ, STRATA_SOCKET=self.d.socket)
        r = harness.run([harness.STRATA, "run", "--rm", "-i", "busybox", "sh", "-c",
                         "cat; echo bye >&2; exit 4"], input="piped\n", env=env)
        self.assertEqual((r.rc, r.stdout, r.stderr), (4, "piped\n", "bye\n"), r)
        self.start_loop("reader")
        r = harness.run([harness.STRATA, "exec", "-i", "reader", "sh", "-c", "wc -l"],
                        input="a\nb\n", env=env)
        self.assertEqual((r.rc, r.stdout.strip()), (0, "2"), r)

    def test_isolation(self):
        # Its own pid namespace: the host's processes (this test, stratad) are invisible.
        r = self.run_ctr("--rm", "busybox", "ps", "-o", "pid,comm")
        self.assertEqual(r.rc, 0, r)
        procs = [l.split() for l in r.stdout.splitlines()[1:] if l.strip()]
        self.assertEqual([p[0] for p in procs], ["1"], r.stdout)
        self.assertNotIn("stratad", r.stdout)
        # /proc/sys is read-only, mount is not allowed, the hostname is its own.
        r = self.run_ctr("--rm", "busybox", "sh", "-c", "echo 1 > /proc/sys/kernel/domainname")
        self.assertNotEqual(r.rc, 0, r)
        r = self.run_ctr("--rm", "busybox", "mount", "-t", "tmpfs", "none", "/mnt")
        self.assertNotEqual(r.rc, 0, r)
        r = self.run_ctr("--rm", "--hostname", "boxy", "busybox", "hostname")
        self.assertEqual(r.stdout, "boxy\n")


@harness.unittest.skipUnless(shutil.which("runc"), "runc is not installed")
class LifecycleRunc(Lifecycle):
    """The same lifecycle driven through runc's command line."""
    runtime = "runc"


CRUN_WRAPPER = os.path.join(harness.SOURCE_DIR, "tests", "support", "crun-on-hybrid")


@harness.unittest.skipUnless(shutil.which("crun"), "crun is not installed")
class LifecycleCrun(Lifecycle):
    """The same lifecycle driven through crun (in a private mount namespace
    without the cgroup2 hierarchy on hybrid hosts, where crun 1.8 refuses)."""
    runtime = CRUN_WRAPPER


class Layers(ContainerTestCase):
    def test_commit_then_run_the_new_image(self):
        r = self.run_ctr("--name", "maker", "busybox", "sh", "-c",
                         "echo hello > /hello.txt && rm /bin/vi && mkdir -p /etc/app && "
                         "echo conf > /etc/app/conf")
        self.assertEqual(r.rc, 0, r)
        image = self.d.ok("commit", "maker", "made:v1").stdout.strip()
        self.assertTrue(image.startswith("sha256:"), image)
        r = self.run_ctr("--rm", "made:v1", "sh", "-c", "cat /hello.txt /etc/app/conf")
        self.assertEqual((r.rc, r.stdout), (0, "hello\nconf\n"), r)
        r = self.run_ctr("--rm", "made:v1", "ls", "/bin/vi")
        self.assertNotEqual(r.rc, 0, "a deleted file came back: %r" % r)
        history = self.d.ok("image", "history", "made:v1", "--format", "json").json()
        self.assertIn("hello.txt", history[0]["created_by"])
        # The image's config carries the container's command.
        config = self.inspect(self.d, "made:v1")["config"]["config"]
        self.assertEqual(config["Cmd"][0], "sh")

    def test_commit_after_files_were_written_and_removed(self):
        # Files written and removed leave times in the kernel's writeback
        # cache that commit's write-back must not trip over.
        r = self.run_ctr("--name", "churn", "busybox", "sh", "-c",
                         "mkdir /tmpwork && for i in 1 2 3; do echo $i > /tmpwork/$i; "
                         "echo more >> /tmpwork/$i; done && rm -r /tmpwork && echo kept > /kept")
        self.assertEqual(r.rc, 0, r)
        self.d.ok("commit", "churn", "churned:1")
        r = self.run_ctr("--rm", "churned:1", "sh", "-c", "cat /kept; ls /tmpwork")
        self.assertEqual(r.stdout, "kept\n", r)
        self.assertNotEqual(r.rc, 0, r)

    def test_commit_of_a_running_container(self):
        self.run_ctr("-d", "--name", "live", "busybox", "sh", "-c", "echo a > /a; " + LOOP)
        wait_until(lambda: "ready" in self.d.ok("logs", "live").stdout, what="live ready")
        wait_until(lambda: os.path.exists(self.upper_path("live", "a")), what="the file")
        self.d.ok("commit", "live", "live:1")
        self.assertEqual(self.state("live")["status"], "running", "commit left it paused")
        r = self.run_ctr("--rm", "live:1", "cat", "/a")
        self.assertEqual(r.stdout, "a\n", r)

    def test_commit_keeps_what_a_running_process_wrote_to_a_file_it_holds_open(self):
        # The writes wait in the kernel's writeback cache while the file is
        # open (no close has written them back); commit must get them into
        # the upper before it reads it, not just start their writeback.
        size = int(self.run_ctr("--rm", "busybox", "wc", "-c", "/bin/busybox").stdout.split()[0])
        self.d.ok("run", "-d", "-i", "--name", "writer", "busybox", "sh", "-c",
                  "exec >/held; exec cat /bin/busybox -")
        pid = self.state("writer")["pid"]

        def written():
            """How far cat has written /held (its stdout's offset)."""
            try:
                with open("/proc/%d/comm" % pid) as f:
                    if f.read().strip() != "cat":
                        return None
                with open("/proc/%d/fdinfo/1" % pid) as f:
                    return int(f.readline().split()[1]) or None
            except (OSError, ValueError, IndexError):
                return None
        # All of it written (then cat waits on its stdin, the file open).
        wait_until(lambda: written() == size, what="cat to write /held")
        self.d.ok("commit", "writer", "writer:1")
        r = self.run_ctr("--rm", "writer:1", "wc", "-c", "/held")
        self.assertEqual(r.stdout.split()[:1], [str(size)], r)

    def upper_path(self, ref, path):
        cid = self.inspect_ctr(ref)["id"]
        return os.path.join(self.d.root, "containers", cid, "upper", path)

    def test_reset(self):
        self.start_loop("dirty")
        self.d.ok("exec", "dirty", "sh", "-c", "echo x > /scratch; rm /bin/ls")
        self.d.ok("reset", "dirty")
        self.assertEqual(self.state("dirty")["status"], "exited")
        self.d.ok("start", "dirty")
        r = self.d.strata("exec", "dirty", "sh", "-c", "ls /scratch; ls /bin/ls")
        self.assertIn("/bin/ls", r.stdout, r)
        self.assertIn("No such file", r.stderr, r)

    def test_rm_and_reset_right_after_create_leave_nothing(self):
        # create warms the new root up on a thread of its own (mount points
        # made in the upper): rm and reset wait for it, so nothing it makes
        # lands in a directory being removed.
        for i in range(8):
            name = "quick%d" % i
            self.d.ok("create", "--name", name, "-v", "/tmp:/data/in/a/volume", "busybox", "true")
            if i % 2:
                self.d.ok("reset", name)
            self.d.ok("rm", name)
        self.assertEqual(self.containers(), [])
        self.assertEqual(sorted(os.listdir(os.path.join(self.d.root, "containers"))), [])

    def test_writable_layer_survives_stop_start_and_a_stratad_restart(self):
        self.start_loop("keeper")
        self.d.ok("exec", "keeper", "sh", "-c", "echo kept > /kept.txt")
        self.d.ok("stop", "keeper")
        self.d.ok("start", "keeper")
        self.assertEqual(self.d.ok("exec", "keeper", "cat", "/kept.txt").stdout, "kept\n")
        self.assertEqual(self.d.stop(), 0, self.d.log())
        d2 = self.start_daemon(root=self.d.root, socket_path=self.d.socket)
        self.d = d2
        self.assertEqual(self.state("keeper")["status"], "exited")  # no restart policy
        self.d.ok("start", "keeper")
        self.assertEqual(self.d.ok("exec", "keeper", "cat", "/kept.txt").stdout, "kept\n")


class CommitWithTheWritebackCache(ContainerTestCase):
    """Commit with --fuse-writeback-cache=on: a running container's writes
    wait in the kernel, and stratad writes them back (in a child process of
    its own) before it reads the upper."""
    stratad_args = ["--fuse-writeback-cache=on"]
    test_commit_of_a_running_container = Layers.test_commit_of_a_running_container
    test_commit_keeps_what_a_running_process_wrote_to_a_file_it_holds_open = (
        Layers.test_commit_keeps_what_a_running_process_wrote_to_a_file_it_holds_open)
    upper_path = Layers.upper_path


class Volumes(ContainerTestCase):
    def test_bind_read_only_and_read_write(self):
        host = self.scratch()
        with open(os.path.join(host, "in"), "w") as f:
            f.write("from host\n")
        r = self.run_ctr("--rm", "-v", host + ":/h:ro", "busybox", "sh", "-c",
                         "cat /h/in; echo x > /h/out")
        self.assertEqual(r.stdout, "from host\n")
        self.assertNotEqual(r.rc, 0, "wrote through a read-only bind")
        self.assertFalse(os.path.exists(os.path.join(host, "out")))
        r = self.run_ctr("--rm", "-v", host + ":/h", "busybox", "sh", "-c", "echo x > /h/out")
        self.assertEqual(r.rc, 0, r)
        with open(os.path.join(host, "out")) as f:
            self.assertEqual(f.read(), "x\n")

    def test_named_volume_persists_and_is_protected_while_used(self):
        r = self.run_ctr("--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f")
        self.assertEqual(r.rc, 0, r)
        r = self.run_ctr("--rm", "-v", "data:/data", "busybox", "cat", "/data/f")
        self.assertEqual(r.stdout, "kept\n", r)
        names = [v["name"] for v in self.d.ok("volume", "ls", "--format", "json").json()]
        self.assertEqual(names, ["data"])
        info = harness._one(self.d.ok("volume", "inspect", "data").json())
        self.assertTrue(os.path.isfile(os.path.join(info["mountpoint"], "f")))
        self.start_loop("user", "-v", "data:/data")
        r = self.d.strata("volume", "rm", "data")
        self.assertOneLineError(r)
        self.assertIn("in use", r.stderr)
        self.d.ok("rm", "-f", "user")
        self.d.ok("volume", "rm", "data")
        self.assertEqual(self.d.ok("volume", "ls", "-q").stdout, "")
        self.d.ok("volume", "create", "made")
        self.assertEqual(self.d.ok("volume", "ls", "-q").stdout, "made\n")

    def test_tmpfs(self):
        r = self.run_ctr("--rm", "--tmpfs", "/scratch", "busybox", "sh", "-c",
                         "grep ' /scratch ' /proc/mounts; echo x > /scratch/x")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("tmpfs", r.stdout)

    def test_a_volume_path_through_a_symlink_cannot_escape(self):
        host = self.scratch()
        escape = "../" * 12 + host.lstrip("/")
        r = self.run_ctr("--name", "linker", "busybox", "sh", "-c",
                         "ln -s %s /escape && ln -s %s /absolute" % (escape, host))
        self.assertEqual(r.rc, 0, r)
        self.d.ok("commit", "linker", "links:1")
        # Climbing out of the root is refused...
        r = self.run_ctr("--rm", "-v", "vol:/escape", "links:1", "sh", "-c",
                         "echo pwned > /escape/pwned")
        self.assertOneLineError(r)
        self.assertIn("outside the container's root", r.stderr)
        # ...and an absolute link is followed inside the root, not on the host.
        r = self.run_ctr("--rm", "-v", "vol:/absolute", "links:1", "sh", "-c",
                         "echo inside > /absolute/f && cat %s/f" % host)
        self.assertEqual((r.rc, r.stdout), (0, "inside\n"), r)
        self.assertEqual(os.listdir(host), [], "a volume landed on the host directory")


class Service(ContainerTestCase):
    def test_kill_9_stratad_then_restart(self):
        self.start_loop("always", "--restart", "always")
        self.start_loop("once")
        self.start_loop("stopped", "--restart", "unless-stopped")
        self.d.ok("stop", "stopped")
        old_pids = [self.state(n)["pid"] for n in ("always", "once")]
        images = self.images(self.d)
        self.d.kill()  # SIGKILL: no chance to stop anything
        # The store is clean for fsck (offline, as the service is down).
        r = harness.run([harness.STRATA, "fsck", "--root", self.d.root])
        self.assertEqual(r.rc, 0, r)
        d2 = self.start_daemon(root=self.d.root, socket_path=self.d.socket)
        self.d = d2
        # The store is intact.
        self.assertEqual(self.images(self.d), images)
        self.assertEqual(self.d.ok("run", "--rm", "busybox", "echo", "ok").stdout, "ok\n")
        # always comes back; the others are recorded as exited.
        wait_until(lambda: self.state("always")["status"] == "running", what="always back")
        self.assertNotEqual(self.state("always")["pid"], old_pids[0])
        st = self.state("once")
        self.assertEqual(st["status"], "exited")
        self.assertEqual(self.state("stopped")["status"], "exited")
        # What ran under the killed stratad is gone.
        for pid in old_pids:
            wait_until(lambda: not os.path.exists("/proc/%d" % pid), what="old process gone")
        self.assertEqual(self.d.ok("exec", "always", "echo", "hi").stdout, "hi\n")

    def test_graceful_stop_stops_containers_and_policies_bring_them_back(self):
        self.start_loop("svc", "--restart", "unless-stopped")
        pid = self.state("svc")["pid"]
        self.assertEqual(self.d.stop(), 0, self.d.log())
        self.assertFalse(os.path.exists("/proc/%d" % pid), "the container outlived stratad")
        d2 = self.start_daemon(root=self.d.root, socket_path=self.d.socket)
        self.d = d2
        wait_until(lambda: self.state("svc")["status"] == "running", what="svc back")


if __name__ == "__main__":
    harness.main()
