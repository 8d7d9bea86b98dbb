#!/usr/bin/env python3
"""The escape suite: what a container (or a user of the host) tries in order
to reach the host, each checked by an outcome on the host, not by the
container's word alone. Also the runtime defaults that make them fail: the
default seccomp profile (and seccomp=unconfined, seccomp=FILE, --privileged
lifting it) and the API socket's access rules.

System calls are made by a small static program (probe.c, built here with
cc and bound read-only into the containers at /probe) with arguments the
kernel itself would answer with something other than EPERM, so an EPERM is
the filter's. One stratad serves every case of a class."""

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402

EPERM, ENOENT, ESRCH, EACCES, EINVAL, EFAULT = 1, 2, 3, 13, 22, 14
NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]

_probe_dir = None


def probe_dir():
    """A directory holding the static probe, built once."""
    global _probe_dir
    if _probe_dir is None:
        d = harness.temp_dir("strata-sec-probe-")
        os.chmod(d, 0o755)
        r = harness.run(["cc", "-static", "-O1", "-o", os.path.join(d, "probe"),
                         os.path.join(HERE, "probe.c")])
        if r.rc != 0:
            raise AssertionError("building probe.c failed: %r" % r)
        _probe_dir = d
    return _probe_dir


def parse_probe(text):
    """{"keyctl": 0 (ok) or errno} from the probe's output."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == "ok":
            out[parts[0]] = 0
        elif len(parts) == 3 and parts[1] == "errno":
            out[parts[0]] = int(parts[2])
    return out


class EscapeCase(harness.StrataTestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = harness.Stratad()
        os.chmod(cls.d.dir, 0o755)  # non-root users reach the socket (its mode decides)
        cls.d.ok("image", "import", harness.fixtures().layout("busybox"), "--tag", "busybox")
        cls.probe = probe_dir()

    @classmethod
    def tearDownClass(cls):
        if cls.d.alive():
            for c in cls.d.ok("ps", "-a", "--format", "json").json():
                cls.d.strata("rm", "-f", c["id"])
            cls.d.stop(signal.SIGTERM, timeout=60)
        cls.d.kill()

    def sh(self, script, *options, timeout=60):
        """Runs sh -c SCRIPT in a fresh busybox container (--rm)."""
        return self.d.strata("run", "--rm", *options, "busybox", "sh", "-c", script,
                             timeout=timeout)

    def probe_calls(self, *calls, options=()):
        r = self.d.strata("run", "--rm", "-v", self.probe + ":/probe:ro", *options,
                          "busybox", "/probe/probe", *calls, timeout=60)
        self.assertEqual(r.rc, 0, r)
        return parse_probe(r.stdout)


class FromInside(EscapeCase):
    def test_proc_root_tricks_do_not_reach_the_host(self):
        host = self.scratch()
        os.chmod(host, 0o755)
        with open(os.path.join(host, "secret"), "w") as f:
            f.write("host-secret-5d1c\n")
        marker = "strata-escape-%d" % os.getpid()
        script = ""
        for via in ("/proc/1/root", "/proc/self/root", "/proc/self/cwd", "/proc/1/cwd"):
            script += "echo pwned > %s/%s; cat %s%s/secret; ls %s%s; " % (
                via, marker, via, host, via, host)
        script += "for p in /proc/[0-9]*; do cat $p/root%s/secret; done; true" % host
        r = self.sh(script)
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn("host-secret", r.stdout)
        self.assertFalse(os.path.exists("/" + marker), "a write through /proc reached the host")
        self.assertEqual(os.listdir(host), ["secret"])

    def test_volume_source_symlink_swapped_after_create(self):
        base = self.scratch()
        legit, victim = os.path.join(base, "legit"), os.path.join(base, "victim")
        os.mkdir(legit)
        os.mkdir(victim)
        link = os.path.join(base, "link")
        os.symlink(legit, link)
        self.d.ok("create", "--name", "toctou", "-v", link + ":/data", "busybox", "sh", "-c",
                  "echo pwned > /data/pwned")
        # Swapped between create and start.
        os.symlink(victim, link + ".new")
        os.rename(link + ".new", link)
        r = self.d.strata("start", "toctou")
        self.d.strata("wait", "toctou", timeout=30)
        self.assertEqual(os.listdir(victim), [], "the swapped symlink's target was mounted")
        # The mount the user asked for at create still works (the source was
        # resolved then): the write lands in the original directory.
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(os.listdir(legit), ["pwned"])
        # A symlink that appears inside the resolved path is refused.
        os.rename(legit, legit + ".moved")
        os.symlink(victim, legit)
        r = self.d.strata("start", "toctou")
        self.assertOneLineError(r)
        self.assertIn("symlink", r.stderr)
        self.assertEqual(os.listdir(victim), [])
        self.d.ok("rm", "-f", "toctou")

    def test_exec_user_reads_the_containers_passwd_safely(self):
        # The container controls its /etc: a FIFO at /etc/passwd once held
        # the stratad thread that opened it for `exec --user`; a symlink
        # that climbs above / is resolved inside the root.
        self.d.ok("run", "-d", "--name", "hostile-etc", "busybox", "sleep", "600")
        try:
            self.d.ok("exec", "hostile-etc", "sh", "-c",
                      "mkdir /x && echo 'app:x:77:78::/:/bin/sh' > /x/passwd && "
                      "rm /etc/passwd && ln -s ../../../../../x/passwd /etc/passwd")
            r = self.d.ok("exec", "--user", "app", "hostile-etc", "id", "-u")
            self.assertEqual(r.stdout.strip(), "77")
            self.d.ok("exec", "hostile-etc", "sh", "-c", "rm /x/passwd && mkfifo /x/passwd")
            r = self.d.strata("exec", "--user", "app", "hostile-etc", "id", "-u", timeout=30)
            self.assertOneLineError(r)
            self.assertIn("not a regular file", r.stderr)
            self.d.ok("ps")  # stratad still answers
        finally:
            self.d.strata("rm", "-f", "hostile-etc")

    def test_dotdot_in_volume_destination_is_refused(self):
        host = self.scratch()
        for dst in ("/../../etc", "/data/../../../tmp/x", "../x", "/a/../.."):
            r = self.d.strata("create", "--name", "dotdot", "-v", host + ":" + dst, "busybox")
            self.assertOneLineError(r)
            self.assertNotIn("dotdot", self.d.ok("ps", "-a").stdout)
        self.assertEqual(os.listdir(host), [])

    def test_block_device_made_with_mknod_cannot_be_opened(self):
        # mknod itself is allowed (CAP_MKNOD, as Docker); the device cgroup
        # refuses to open a block device.
        out = self.probe_calls("mknod-block=/tmp/loop")
        self.assertIn(out.get("mknod-block"), (EPERM, EACCES), out)
        r = self.sh("mknod /tmp/sda b 8 0 && head -c 512 /tmp/sda | wc -c; "
                    "head -c 1 /dev/loop0; echo rc=$?")
        self.assertNotIn("512", r.stdout, r)
        self.assertIn("rc=1", r.stdout, r)

    def test_mounting_anything_fails(self):
        r = self.sh("mkdir -p /m; mount -t tmpfs none /m; echo tmpfs=$?; "
                    "mount -t proc proc /m; echo proc=$?; mount -o bind / /m; echo bind=$?; "
                    "mount -o remount,rw /sys; echo sys=$?; grep -c ' /m ' /proc/self/mountinfo")
        for what in ("tmpfs", "proc", "bind", "sys"):
            self.assertRegex(r.stdout, what + r"=[1-9]", r)
        self.assertTrue(r.stdout.rstrip().endswith("\n0"), r)
        out = self.probe_calls("mount", "umount")
        self.assertEqual(out, {"mount": EPERM, "umount": EPERM})

    def modules(self):
        """The host's loaded modules (none listed: a kernel without modules)."""
        try:
            with open("/proc/modules") as f:
                return sorted(l.split()[0] for l in f)
        except FileNotFoundError:
            return []

    def test_loading_a_kernel_module_fails(self):
        before = self.modules()
        out = self.probe_calls("init_module", "finit_module", "kexec_load")
        self.assertEqual(out, {"init_module": EPERM, "finit_module": EPERM, "kexec_load": EPERM})
        r = self.sh("echo x > /tmp/m.ko; insmod /tmp/m.ko; echo rc=$?")
        self.assertIn("rc=1", r.stdout, r)
        self.assertEqual(self.modules(), before)

    def test_ptrace_of_a_host_process_fails(self):
        victim = subprocess.Popen(["sleep", "60"])
        self.addCleanup(victim.wait)  # cleanups run last-in first-out
        self.addCleanup(victim.kill)
        out = self.probe_calls("ptrace=%d" % victim.pid)
        # Not visible (another pid namespace), or not allowed: never attached.
        self.assertIn(out.get("ptrace"), (EPERM, ESRCH), out)
        with open("/proc/%d/status" % victim.pid) as f:
            status = f.read()
        self.assertIn("TracerPid:\t0\n", status)
        self.assertIsNone(victim.poll())
        r = self.sh("kill -9 %d; echo rc=$?" % victim.pid)
        self.assertIsNone(victim.poll(), r)

    def test_another_containers_upper_is_out_of_reach(self):
        secret = "upper-secret-%d" % os.getpid()
        self.d.ok("run", "--name", "holder", "busybox", "sh", "-c",
                  "echo %s > /secret-file" % secret)
        holder = harness._one(self.d.ok("inspect", "holder", "--format", "json").json())
        self.assertTrue(os.path.exists(os.path.join(self.d.root, "containers", holder["id"],
                                                    "upper", "secret-file")))
        r = self.sh("ls /proc/*/root/ >/dev/null; "
                    "find / -xdev -name secret-file 2>/dev/null; "
                    "cat /proc/*/root/secret-file /proc/*/root%s/mnt/containers/*/secret-file "
                    "2>/dev/null; grep -c strata /proc/self/mountinfo; true" % self.d.root)
        self.assertNotIn(secret, r.stdout, r)
        self.assertNotIn("secret-file", r.stdout, r)
        self.d.ok("rm", "holder")

    def test_a_fork_bomb_stays_under_the_pids_limit(self):
        limit = 48
        # The init starts the bomb with its first fork and then never forks
        # again (exec): busybox sh exits when a fork of its own fails, and
        # once the bomb is at the limit every fork fails.
        self.d.ok("run", "-d", "--name", "bomb", "--pids-limit", str(limit), "busybox", "sh",
                  "-c", "f() { f | f & }; f; exec sleep 1000000")
        pid = harness._one(self.d.ok("inspect", "bomb", "--format", "json").json())["state"]["pid"]
        with open("/proc/%d/cgroup" % pid) as f:
            lines = f.read().splitlines()
        path = None
        for line in lines:
            _, controllers, p = line.split(":", 2)
            if "pids" in controllers.split(",") or controllers == "":
                if os.path.exists("/sys/fs/cgroup/pids" + p + "/pids.current"):
                    path = "/sys/fs/cgroup/pids" + p
                elif controllers == "" and os.path.exists("/sys/fs/cgroup" + p + "/pids.current"):
                    path = "/sys/fs/cgroup" + p
        self.assertIsNotNone(path, lines)
        peak = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            with open(path + "/pids.current") as f:
                peak = max(peak, int(f.read()))
            time.sleep(0.1)
        self.assertGreater(peak, 1, "the bomb did not fork at all")
        self.assertLessEqual(peak, limit)
        # The host survives: it still forks, and stratad answers.
        self.assertEqual(harness.run(["true"]).rc, 0)
        self.d.ok("rm", "-f", "bomb", timeout=60)
        self.assertFalse(os.path.exists(path), "the bomb's cgroup is left behind")

    def test_writing_sys_and_proc_fails(self):
        with open("/sys/kernel/mm/ksm/run") as f:
            ksm = f.read().strip()
        r = self.sh("echo %s > /sys/kernel/mm/ksm/run; echo ksm=$?; "
                    "echo h > /proc/sysrq-trigger; echo sysrq=$?; "
                    "echo 1 > /proc/sys/vm/drop_caches; echo drop=$?; "
                    "cat /proc/kcore | head -c 1 | wc -c; cat /proc/keys | wc -c" % ksm)
        for what in ("ksm", "sysrq", "drop"):
            self.assertRegex(r.stdout, what + r"=[1-9]", r)
        # Masked: empty (a bind of /dev/null) whatever the host has.
        self.assertTrue(r.stdout.rstrip().endswith("0\n0"), r)
        with open("/sys/kernel/mm/ksm/run") as f:
            self.assertEqual(f.read().strip(), ksm)


class Seccomp(EscapeCase):
    REFUSED = ["keyctl", "add_key", "request_key", "bpf", "perf_event_open", "unshare-user",
               "unshare-net", "clone-user", "kexec_load", "open_by_handle_at", "init_module",
               "finit_module", "mount", "umount", "socket-vsock", "personality"]

    def test_default_profile_refuses_with_eperm(self):
        out = self.probe_calls(*self.REFUSED)
        self.assertEqual(out, {name: EPERM for name in self.REFUSED})
        cfg = json.load(open(self.bundle_config()))
        self.assertEqual(cfg["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO")

    def test_exec_gets_the_containers_filter(self):
        self.d.ok("run", "-d", "--name", "execd", "-v", self.probe + ":/probe:ro", "busybox",
                  "sh", "-c", 'trap "exit 0" TERM; while :; do sleep 0.1; done')
        self.addCleanup(self.d.strata, "rm", "-f", "execd")
        r = self.d.ok("exec", "execd", "/probe/probe", "keyctl", "unshare-user")
        self.assertEqual(parse_probe(r.stdout), {"keyctl": EPERM, "unshare-user": EPERM}, r)

    def bundle_config(self):
        self.d.ok("create", "--name", "cfg", "busybox", "true")
        self.addCleanup(self.d.strata, "rm", "-f", "cfg")
        self.d.ok("start", "cfg")
        cid = harness._one(self.d.ok("inspect", "cfg", "--format", "json").json())["id"]
        return os.path.join(self.d.root, "containers", cid, "bundle", "config.json")

    def test_unconfined_lets_the_kernel_answer(self):
        out = self.probe_calls(*self.REFUSED, options=("--security-opt", "seccomp=unconfined"))
        # Now the kernel decides: user namespaces and keyrings are open to
        # anyone; bad arguments give EINVAL/EFAULT; the capability checks of
        # the kernel still refuse what needs a capability.
        self.assertEqual(out["unshare-user"], 0, out)
        self.assertEqual(out["clone-user"], 0, out)
        self.assertEqual(out["keyctl"], 0, out)
        self.assertEqual(out["bpf"], EINVAL, out)
        self.assertEqual(out["perf_event_open"], EFAULT, out)
        self.assertNotEqual(out["socket-vsock"], EPERM, out)
        self.assertEqual(out["personality"], 0, out)
        self.assertEqual(out["mount"], EPERM, out)  # no CAP_SYS_ADMIN
        self.assertIn(out["init_module"], (EPERM, 38), out)  # no CAP_SYS_MODULE (or no modules)

    def test_a_profile_file(self):
        d = self.scratch()
        profile = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                         "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": []}],
            "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": EACCES},
                {"names": ["unshare"], "action": "SCMP_ACT_ERRNO",
                 "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["keyctl"], "action": "SCMP_ACT_ERRNO",
                 "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            ],
        }
        path = os.path.join(d, "profile.json")
        with open(path, "w") as f:
            json.dump(profile, f)
        r = self.d.strata("run", "--rm", "--security-opt", "seccomp=" + path, "-v",
                          self.probe + ":/probe:ro", "busybox", "sh", "-c",
                          "mkdir /x; echo mkdir=$?; /probe/probe unshare-user keyctl")
        self.assertIn("Permission denied", r.stderr, r)
        self.assertIn("mkdir=1", r.stdout, r)
        out = parse_probe(r.stdout)
        # unshare: refused (no CAP_SYS_ADMIN); keyctl: the rule is only for
        # containers with CAP_SYS_ADMIN, so the default (allow) applies.
        self.assertEqual(out, {"unshare-user": EPERM, "keyctl": 0}, r)

        before = self.d.ok("ps", "-a", "--format", "json").json()
        for bad, why in (("{not json", "not valid JSON"),
                         ('{"defaultAction": "SCMP_ACT_NOPE"}', "SCMP_ACT_NOPE"),
                         ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["x"], '
                          '"action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "op": "SCMP_CMP_EQ"}]}]}',
                          "index"),
                         ('{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X"], '
                          '"archMap": []}', "architectures")):
            with open(path, "w") as f:
                f.write(bad)
            r = self.d.strata("create", "--security-opt", "seccomp=" + path, "busybox")
            self.assertOneLineError(r)
            self.assertIn(why, r.stderr)
        r = self.d.strata("create", "--security-opt", "seccomp=" + d + "/missing", "busybox")
        self.assertOneLineError(r)
        r = self.d.strata("create", "--security-opt", "apparmor=x", "busybox")
        self.assertOneLineError(r)
        self.assertEqual(self.d.ok("ps", "-a", "--format", "json").json(), before)

    def test_privileged_lifts_the_defaults(self):
        r = self.sh("grep CapEff /proc/self/status; mkdir -p /m && mount -t tmpfs none /m && "
                    "echo mounted; head -c 1 /proc/kcore | wc -c; ls /dev/loop0", "--privileged")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("mounted", r.stdout)
        with open("/proc/self/status") as f:
            host_caps = [l for l in f if l.startswith("CapBnd")][0].split()[1]
        self.assertIn("CapEff:\t" + host_caps, r.stdout)
        self.assertIn("/dev/loop0", r.stdout)
        out = self.probe_calls("unshare-user", "keyctl", options=("--privileged",))
        self.assertEqual(out, {"unshare-user": 0, "keyctl": 0})


class FromOutside(EscapeCase):
    def test_strata_mount_gives_no_setuid_or_devices(self):
        rootfs = self.scratch()
        os.makedirs(os.path.join(rootfs, "bin"))
        euid = os.path.join(self.scratch(), "euid.c")
        with open(euid, "w") as f:
            f.write('#include <stdio.h>\n#include <unistd.h>\n'
                    'int main(void) { printf("euid=%d\\n", (int)geteuid()); return 0; }\n')
        target = os.path.join(rootfs, "bin", "euid")
        self.assertEqual(harness.run(["cc", "-static", "-o", target, euid]).rc, 0)
        os.chmod(target, 0o4755)
        loop = os.stat("/dev/loop0").st_rdev
        os.mknod(os.path.join(rootfs, "loop0"), 0o666 | stat.S_IFBLK, loop)
        os.mknod(os.path.join(rootfs, "null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        self.d.ok("image", "import-rootfs", rootfs, "--tag", "suid:1")
        for writable in (False, True):
            mnt = self.scratch()
            os.chmod(mnt, 0o755)
            self.d.ok("mount", *(["--writable"] if writable else []), "suid:1", mnt)
            try:
                st = os.stat(os.path.join(mnt, "bin", "euid"))
                self.assertEqual(st.st_mode & 0o4777, 0o4755, "the view lost the setuid bit")
                r = harness.run(NOBODY + [os.path.join(mnt, "bin", "euid")])
                self.assertEqual((r.rc, r.stdout), (0, "euid=65534\n"), r)
                for node in ("loop0", "null"):
                    r = harness.run(NOBODY + ["head", "-c", "1", os.path.join(mnt, node)])
                    self.assertNotEqual(r.rc, 0, r)
                    self.assertIn("Permission denied", r.stderr, r)
                with open("/proc/self/mountinfo") as f:
                    line = [l for l in f if (" %s " % mnt) in l][0]
                self.assertIn("nosuid", line)
                self.assertIn("nodev", line)
            finally:
                self.d.strata("umount", mnt)


class ApiSocket(EscapeCase):
    def test_socket_owner_mode_and_peer_check(self):
        st = os.stat(self.d.socket)
        import grp
        group = grp.getgrnam("strata")
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (0, group.gr_gid, 0o660))
        env = dict(os.environ, STRATA_SOCKET=self.d.socket)
        # Not root, not in the group: the socket's mode keeps it out.
        r = harness.run(NOBODY + [harness.STRATA, "ps"], env=env)
        self.assertOneLineError(r)
        # In the group: served.
        member = ["setpriv", "--reuid", "65534", "--regid", "65534",
                  "--groups", str(group.gr_gid)]
        r = harness.run(member + [harness.STRATA, "ps"], env=env)
        self.assertEqual(r.rc, 0, r)
        # A socket made wider by mistake still serves only root and the group.
        os.chmod(self.d.socket, 0o666)
        try:
            r = harness.run(NOBODY + [harness.STRATA, "ps"], env=env)
            self.assertOneLineError(r)
            self.assertIn("permission denied", r.stderr)
            self.assertIn("api: refused uid 65534", self.d.log())
        finally:
            os.chmod(self.d.socket, 0o660)
        # No TCP listener: stratad's sockets are the Unix one (and /metrics).
        pid = self.d.proc.pid
        inodes = set()
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        listening = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in list(f)[1:]:
                    fields = line.split()
                    if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                        listening.append(fields[1])
        for addr in listening:
            ip = addr.split(":")[0]
            self.assertIn(ip, ("0100007F", "00000000000000000000000001000000"),
                          "stratad listens on a non-loopback TCP address: %s" % addr)


if __name__ == "__main__":
    for tool in ("setpriv", "cc"):
        if os.geteuid() == 0 and shutil.which(tool) is None:
            print("SKIP: %s is not installed (run tools/setup)" % tool)
            sys.exit(harness.SKIP)
    harness.main()
