"""The providers of a union root, all built from the same layers:

  overlay         kernel overlayfs (the reference), index=on,redirect_dir=on
  overlay-plain   kernel overlayfs with the kernel's defaults (informational)
  fuse-overlayfs  Debian's fuse-overlayfs (informational)
  strata-core     strata's FUSE session (fuse::FuseServer) mounted directly on
                  a store by tests/fuse/conformance/strata_core_mount
  strata          `strata mount --writable IMG DIR` through stratad (skipped
                  while the CLI has no `mount`)

Each provider gives fresh writable roots (`mount()` -> Mount); every mount
and process is registered for clean-up, which runs in a finally and again at
exit (lazy unmounts, SIGKILL of process groups).
"""

import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "integration"))
import harness  # noqa: E402  (tests/integration/harness.py: Stratad, strata())

MAIN_TAG = "conformance-main:t"
HUGE_TAG = "conformance-huge:t"


class Unavailable(Exception):
    pass


# --- clean-up ------------------------------------------------------------------

_procs = []      # Popen objects (own process groups)
_dirs = []       # temp dirs: mounts below are detached, then removed


def mounts_below(path):
    return harness._mounts_below(path)


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if line.split()[4].encode().decode("unicode_escape") == path:
                return True
    return False


def mount_options(path):
    """The per-mount and superblock options of the mount PATH is on (the
    last-mounted of those whose mount point is PATH or a parent of it)."""
    path = os.path.realpath(path)
    found, best = None, -1
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            mp = parts[4].encode().decode("unicode_escape")
            if (path == mp or path.startswith(mp.rstrip("/") + "/")) and len(mp) >= best:
                best = len(mp)
                sep = parts.index("-")
                found = set(parts[5].split(",")) | set(parts[sep + 3].split(","))
                found.add("fstype=" + parts[sep + 1])
    return found


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def kill_proc(p):
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        p.kill()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        pass


def cleanup():
    for p in list(_procs):
        kill_proc(p)
    _procs.clear()
    for d in list(_dirs):
        harness.remove_tree(d)
    _dirs.clear()


atexit.register(cleanup)


def temp_dir(prefix):
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(d, 0o755)  # the non-root cases must reach the mounts below
    _dirs.append(d)
    return d


def run(argv, timeout=120, **kw):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def wait_mounted(path, proc=None, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_mounted(path):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("exited with %d before mounting %s" % (proc.returncode, path))
        time.sleep(0.01)
    raise RuntimeError("%s not mounted within %ds" % (path, timeout))


def umount(path, lazy_fallback=True):
    """Unmounts PATH; (rc, message) of the plain umount (a lazy one follows
    if it failed and lazy_fallback)."""
    r = run(["umount", path])
    if r.returncode != 0 and lazy_fallback:
        run(["umount", "-l", path])
    return r.returncode, r.stderr.strip()


# --- mounts ----------------------------------------------------------------------

class Mount:
    """One writable root. root: where it is; upper/work: its directories on
    disk where the provider exposes them (None otherwise)."""

    def __init__(self, provider, root, upper=None, work=None):
        self.provider, self.root, self.upper, self.work = provider, root, upper, work
        self.gone = False

    def detach(self):
        """The provider's own way to unmount (for the unmount-while-open case):
        returns a short description of what happened."""
        raise NotImplementedError

    def unmount(self):
        if not self.gone:
            self.gone = True
            self._unmount()

    def _unmount(self):
        raise NotImplementedError


class Provider:
    name = ""
    informational = False   # differences from the reference never fail the run
    reference = False
    killable = False         # a process that can be SIGKILLed mid-copy-up

    def start(self, images):
        self.images = images

    def stop(self):
        pass

    def mount(self, image="main"):
        raise NotImplementedError


# --- kernel overlayfs --------------------------------------------------------------

class _OverlayMount(Mount):
    def __init__(self, provider, root, upper, work, base):
        super().__init__(provider, root, upper, work)
        self.base = base

    def detach(self):
        rc, msg = umount(self.root, lazy_fallback=False)
        if rc == 0:
            self.gone = True
            return "umount: ok"
        rc2, _ = run(["umount", "-l", self.root]).returncode, None
        self.gone = True
        return "umount: %s; umount -l: %s" % (msg.split(":")[-1].strip() or rc,
                                             "ok" if rc2 == 0 else rc2)

    def _unmount(self):
        if is_mounted(self.root):
            umount(self.root)
        shutil.rmtree(self.base, ignore_errors=True)


class Overlay(Provider):
    name = "overlay"
    reference = True
    options = "index=on,redirect_dir=on"

    def start(self, images):
        super().start(images)
        self.dir = temp_dir("strata-conf-%s-" % self.name)
        self.n = 0
        probe = self.mount()
        probe.unmount()

    def mount(self, image="main"):
        self.n += 1
        base = os.path.join(self.dir, str(self.n))
        upper, work, root = (os.path.join(base, x) for x in ("upper", "work", "root"))
        for d in (upper, work, root):
            os.makedirs(d)
        os.chmod(base, 0o755)
        lowers = ":".join(reversed(self.images.layer_dirs(image)))
        opts = "lowerdir=%s,upperdir=%s,workdir=%s" % (lowers, upper, work)
        if self.options:
            opts += "," + self.options
        r = run(["mount", "-t", "overlay", "overlay", "-o", opts, root])
        if r.returncode != 0:
            raise Unavailable("mount -t overlay failed: %s" % r.stderr.strip())
        return _OverlayMount(self, root, upper, work, base)


class OverlayPlain(Overlay):
    name = "overlay-plain"
    reference = False
    informational = True
    options = ""


# --- fuse-overlayfs -------------------------------------------------------------------

class _FuseOverlayMount(Mount):
    def __init__(self, provider, root, upper, work, base, proc, argv):
        super().__init__(provider, root, upper, work)
        self.base, self.proc, self.argv = base, proc, argv

    def detach(self):
        rc, msg = umount(self.root, lazy_fallback=False)
        if rc == 0:
            out = "umount: ok"
        else:
            rc2 = run(["umount", "-l", self.root]).returncode
            out = "umount: %s; umount -l: %s" % (msg.split(":")[-1].strip() or rc,
                                                 "ok" if rc2 == 0 else rc2)
        self.gone = True
        return out

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def restart(self):
        if is_mounted(self.root):
            run(["umount", "-l", self.root])
        self.proc = self.provider._spawn(self.argv, self.root)

    def _unmount(self):
        if is_mounted(self.root):
            umount(self.root)
        kill_proc(self.proc)
        shutil.rmtree(self.base, ignore_errors=True)


class FuseOverlayfs(Provider):
    name = "fuse-overlayfs"
    informational = True
    killable = True

    def start(self, images):
        super().start(images)
        if shutil.which("fuse-overlayfs") is None:
            raise Unavailable("fuse-overlayfs is not installed (apt-get install fuse-overlayfs)")
        self.dir = temp_dir("strata-conf-fo-")
        self.n = 0
        self.mount().unmount()

    def _spawn(self, argv, root):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        _procs.append(p)
        wait_mounted(root, p)
        return p

    def mount(self, image="main"):
        self.n += 1
        base = os.path.join(self.dir, str(self.n))
        upper, work, root = (os.path.join(base, x) for x in ("upper", "work", "root"))
        for d in (upper, work, root):
            os.makedirs(d)
        lowers = ":".join(reversed(self.images.layer_dirs(image)))
        argv = ["fuse-overlayfs", "-f", "-o",
                "lowerdir=%s,upperdir=%s,workdir=%s,allow_other" % (lowers, upper, work), root]
        try:
            p = self._spawn(argv, root)
        except RuntimeError as e:
            raise Unavailable("fuse-overlayfs: %s" % e)
        return _FuseOverlayMount(self, root, upper, work, base, p, argv)


# --- strata ---------------------------------------------------------------------------

def _import_images(daemon, images):
    for image, tag in (("main", MAIN_TAG), ("huge", HUGE_TAG)):
        r = daemon.strata("image", "import", images.layout(image), "--tag", tag, timeout=600)
        if r.rc != 0:
            raise RuntimeError("strata image import %s: %r\n%s" % (image, r, daemon.log()))


class _CoreMount(Mount):
    def __init__(self, provider, name, root, upper, work, base):
        super().__init__(provider, root, upper, work)
        self.name, self.base = name, base

    def detach(self):
        reply = self.provider.command("rm containers %s" % self.name)
        self.gone = True
        return "RemoveRoot: %s" % reply

    def kill(self):
        self.provider.kill()

    def restart(self):
        self.provider.restart()
        reply = self.provider.command("add %s %s %s %s" % (self.name, self.image_tag, self.upper,
                                                          self.work))
        if reply != "ok":
            raise RuntimeError("re-add after restart: %s" % reply)

    def _unmount(self):
        if self.provider.alive():
            self.provider.command("rm containers %s" % self.name)
        shutil.rmtree(self.base, ignore_errors=True)


class StrataCore(Provider):
    """strata's FuseServer on a store filled by stratad (which is stopped
    before the helper opens the store: one writer)."""
    name = "strata-core"
    killable = True

    def start(self, images):
        super().start(images)
        self.helper = os.environ.get("STRATA_CORE_MOUNT") or os.path.join(
            harness.BUILD_DIR, "tests", "fuse", "strata_core_mount")
        if not os.access(self.helper, os.X_OK):
            raise Unavailable("%s was not built" % self.helper)
        self.dir = temp_dir("strata-conf-core-")
        daemon = harness.Stratad(root=os.path.join(self.dir, "store"),
                                 socket_path=os.path.join(self.dir, "s.sock"))
        try:
            _import_images(daemon, images)
        finally:
            daemon.stop()
        self.store = daemon.root
        self.mnt = os.path.join(self.dir, "mnt")
        self.proc = None
        self.n = 0
        self.restart()

    def restart(self):
        self.log = open(os.path.join(self.dir, "helper.log"), "ab")
        self.proc = subprocess.Popen([self.helper, "--root", self.store, "--mnt", self.mnt],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, start_new_session=True)
        _procs.append(self.proc)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError("strata_core_mount did not start (%r): %s" % (line, self.helper_log()))

    def helper_log(self):
        try:
            with open(os.path.join(self.dir, "helper.log"), "rb") as f:
                return f.read()[-3000:].decode(errors="replace")
        except OSError:
            return ""

    def alive(self):
        # By pid: a case's forked child calls this too, and Popen.poll() there
        # (not the helper's parent) would say "exited".
        if self.proc is None or self.proc.returncode is not None:
            return False
        try:
            os.kill(self.proc.pid, 0)
        except OSError:
            return False
        return not _zombie(self.proc.pid)

    def command(self, line):
        if not self.alive():
            return "helper is not running"
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip() or "no answer (exit %s)" % self.proc.poll()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.alive():
            try:
                self.proc.stdin.close()
                self.proc.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                kill_proc(self.proc)
        if is_mounted(self.mnt):
            run(["umount", "-l", self.mnt])

    def mount(self, image="main"):
        self.n += 1
        name = "c%d" % self.n
        base = os.path.join(self.dir, "c", name)
        upper, work = os.path.join(base, "upper"), os.path.join(base, "work")
        tag = MAIN_TAG if image == "main" else HUGE_TAG
        reply = self.command("add %s %s %s %s" % (name, tag, upper, work))
        if reply != "ok":
            raise RuntimeError("strata_core_mount add: %s\n%s" % (reply, self.helper_log()))
        m = _CoreMount(self, name, os.path.join(self.mnt, "containers", name), upper, work, base)
        m.image_tag = tag
        return m


class _CliMount(Mount):
    """A `strata mount --writable` root. Its scratch layer's directories are
    read from the store's mounts.json (they are stratad's business, but the
    copy-up cases look at the upper on disk)."""

    def __init__(self, provider, root, tag):
        super().__init__(provider, root)
        self.tag = tag
        self._find_upper()

    def _find_upper(self):
        store = self.provider.daemon.root
        try:
            with open(os.path.join(store, "mounts.json")) as f:
                for m in json.load(f):
                    if m.get("dir") == self.root and m.get("scratch"):
                        base = os.path.join(store, "containers", m["scratch"])
                        self.upper = os.path.join(base, "upper")
                        self.work = os.path.join(base, "work")
        except (OSError, ValueError):
            pass

    def detach(self):
        r = self.provider.daemon.strata("umount", self.root)
        self.gone = True
        return "strata umount: rc %d %s" % (r.rc, r.stderr.strip())

    def kill(self):
        self.provider.daemon.kill()

    def restart(self):
        """stratad again; a scratch layer does not survive it (thrown away at
        start), so the image is mounted afresh at the same directory."""
        self.provider.daemon.start()
        self.scratch_after_restart = os.path.exists(os.path.dirname(self.upper or "/nonexistent"))
        r = self.provider.daemon.strata("mount", "--writable", self.tag, self.root)
        if r.rc != 0:
            raise RuntimeError("strata mount after restart: %r" % r)
        self._find_upper()

    def _unmount(self):
        if self.provider.daemon.alive():
            self.provider.daemon.strata("umount", self.root)
        if is_mounted(self.root):
            run(["umount", "-l", self.root])


class StrataCli(Provider):
    name = "strata"
    killable = True

    def start(self, images):
        super().start(images)
        if not os.access(harness.STRATA, os.X_OK):
            raise Unavailable("%s was not built" % harness.STRATA)
        # CLI11 answers --help before it notices an unknown subcommand, so
        # the exit status alone says nothing: the usage line must be mount's.
        r = run([harness.STRATA, "mount", "--help"])
        if r.returncode != 0 or not re.search(r"Usage: \S*strata mount", r.stdout):
            raise Unavailable("strata mount not available")
        self.dir = temp_dir("strata-conf-cli-")
        self.daemon = harness.Stratad(root=os.path.join(self.dir, "store"),
                                      socket_path=os.path.join(self.dir, "s.sock"))
        os.chmod(self.daemon.dir, 0o755)
        os.chmod(self.daemon.root, 0o755)
        _import_images(self.daemon, images)
        self.n = 0

    def stop(self):
        if getattr(self, "daemon", None) is not None:
            try:
                self.daemon.stop()
            except AssertionError:
                self.daemon.kill()

    def mount(self, image="main"):
        self.n += 1
        root = os.path.join(self.dir, "m%d" % self.n)
        os.makedirs(root)
        tag = MAIN_TAG if image == "main" else HUGE_TAG
        r = self.daemon.strata("mount", "--writable", tag, root)
        if r.rc != 0:
            raise RuntimeError("strata mount --writable: %r\n%s" % (r, self.daemon.log()))
        return _CliMount(self, root, tag)


ALL = [Overlay, OverlayPlain, FuseOverlayfs, StrataCore, StrataCli]
