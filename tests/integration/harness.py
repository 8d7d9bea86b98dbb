"""Shared helpers of the integration tests: they drive the real binaries.

A test module imports this file, uses `Stratad` (a stratad on a temporary
root and socket) and `strata()` (one run of the CLI), and ends with
`harness.main()`, which runs its unittest cases and exits 0 (pass), 1 (fail)
or 77 (skip: not root, or a tool is missing), as meson's test() expects.

Where things are, from the environment (tests/meson.build sets them):
  STRATA_BUILD_DIR   the meson build dir (default: <source>/build)
  STRATA_SOURCE_DIR  the source tree (default: two levels above this file)
  STRATA_FIXTURES    where the fixtures are built and cached
                     (default: <build>/fixtures)
  STRATA_TEST_LONG   "1" enables long modes (tools/test --long)

Fixtures are built on first use by tests/fixtures/build-fixtures, which
caches them (a stamp file) and takes a lock, so tests running in parallel
wait for one build instead of racing.

Clean-up: every stratad started here is killed and every temporary directory
removed (after lazily unmounting anything still mounted below it) when the
test ends, whether it passed, failed or raised; an atexit hook catches what a
crashed test left.
"""

import atexit
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

SKIP = 77

SOURCE_DIR = os.environ.get("STRATA_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD_DIR = os.environ.get("STRATA_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
FIXTURES_DIR = os.environ.get("STRATA_FIXTURES") or os.path.join(BUILD_DIR, "fixtures")
STRATAD = os.environ.get("STRATAD_BIN") or os.path.join(BUILD_DIR, "tools", "stratad")
STRATA = os.environ.get("STRATA_BIN") or os.path.join(BUILD_DIR, "tools", "strata")
LONG = os.environ.get("STRATA_TEST_LONG") == "1"


class SkipModule(Exception):
    """Raised before any test runs when this host cannot run the module."""


# --- clean-up ----------------------------------------------------------------

_live_daemons = []
_temp_dirs = []


def _mounts_below(path):
    path = os.path.realpath(path)
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mount_point = line.split()[4].encode().decode("unicode_escape")
                if mount_point == path or mount_point.startswith(path + "/"):
                    found.append(mount_point)
    except OSError:
        pass
    return sorted(found, key=len, reverse=True)


def remove_tree(path):
    """rm -rf that first detaches mounts below PATH (a FUSE mount left by a
    killed stratad would otherwise make rmtree fail or wander into it)."""
    for mount_point in _mounts_below(path):
        subprocess.run(["umount", "-l", mount_point], stderr=subprocess.DEVNULL)
    shutil.rmtree(path, ignore_errors=True)


def temp_dir(prefix="strata-it-"):
    """A fresh directory under /tmp (short: a Unix socket path must fit in
    108 bytes), removed at the end of the process."""
    d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    _temp_dirs.append(d)
    return d


# The magic of lzop's format: libarchive decodes it by running `lzop -d`
# from PATH when it lacks liblzo2.
LZOP_MAGIC = b"\x89LZO\x00\r\n\x1a\n"


def fake_program(name):
    """(directory, marker): a directory holding an executable NAME that
    creates the file marker and copies its input to its output. With the
    directory first on PATH, the marker tells whether something ran NAME."""
    bin_dir = temp_dir("strata-it-path-")
    marker = os.path.join(bin_dir, "ran")
    program = os.path.join(bin_dir, name)
    with open(program, "w") as f:
        f.write("#!/bin/sh\ntouch %s\nexec cat\n" % marker)
    os.chmod(program, 0o755)
    return bin_dir, marker


@contextlib.contextmanager
def path_first(directory):
    """PATH with directory in front, for what starts meanwhile (stratad)."""
    path = os.environ["PATH"]
    os.environ["PATH"] = directory + ":" + path
    try:
        yield
    finally:
        os.environ["PATH"] = path


def _cleanup():
    for daemon in list(_live_daemons):
        daemon.kill()
    for d in list(_temp_dirs):
        remove_tree(d)
    _temp_dirs.clear()


atexit.register(_cleanup)


# --- running things ----------------------------------------------------------

class Result:
    def __init__(self, argv, rc, stdout, stderr):
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, stderr

    def json(self):
        try:
            return json.loads(self.stdout)
        except ValueError as e:
            raise AssertionError("%s: stdout is not JSON (%s): %r"
                                 % (" ".join(self.argv), e, self.stdout[:500]))

    def stderr_lines(self):
        return [l for l in self.stderr.splitlines() if l.strip()]

    def __repr__(self):
        return "%s -> rc %d\nstdout: %s\nstderr: %s" % (
            " ".join(self.argv), self.rc, self.stdout[-2000:], self.stderr[-2000:])


def run(argv, timeout=300, env=None, input=None):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       env=env, input=input, stdin=None if input is not None else subprocess.DEVNULL)
    return Result([str(a) for a in argv], p.returncode, p.stdout, p.stderr)


def strata(*args, socket_path, root=None, timeout=300):
    """Runs the CLI against the stratad listening on SOCKET_PATH. The socket
    and root go through STRATA_SOCKET / STRATA_ROOT (DESIGN.md: they set the
    defaults of --socket and --root), so the CLI's flag placement does not
    matter here."""
    env = dict(os.environ)
    env["STRATA_SOCKET"] = socket_path
    if root:
        env["STRATA_ROOT"] = root
    return run([STRATA] + [str(a) for a in args], timeout=timeout, env=env)


class Stratad:
    """One stratad on ROOT and SOCKET (fresh temporary ones by default)."""

    def __init__(self, root=None, socket_path=None, extra_args=(), start=True):
        self.dir = temp_dir()
        self.root = root or os.path.join(self.dir, "root")
        self.socket = socket_path or os.path.join(self.dir, "strata.sock")
        self.extra_args = list(extra_args)
        self.proc = None
        self.log_path = os.path.join(self.dir, "stratad.log")
        if start:
            self.start()

    def argv(self):
        # Metrics on a free port unless the test chooses one, so that
        # parallel tests do not compete for stratad's default.
        metrics = [] if "--metrics-addr" in self.extra_args else ["--metrics-addr", "127.0.0.1:0"]
        return [STRATAD, "--root", self.root, "--socket", self.socket] + metrics + self.extra_args

    def start(self, timeout=30):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        _live_daemons.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("stratad exited with %d while starting:\n%s"
                                     % (self.proc.returncode, self.log()))
            if self.reachable():
                return self
            time.sleep(0.05)
        raise AssertionError("stratad did not answer on %s within %ds:\n%s"
                             % (self.socket, timeout, self.log()))

    def reachable(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.socket)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-4000:].decode(errors="replace")
        except OSError:
            return ""

    def strata(self, *args, timeout=300):
        return strata(*args, socket_path=self.socket, root=self.root, timeout=timeout)

    def ok(self, *args, timeout=300):
        """Runs the CLI and fails the test unless it exits 0."""
        r = self.strata(*args, timeout=timeout)
        if r.rc != 0:
            raise AssertionError("expected success: %r\nstratad log:\n%s" % (r, self.log()))
        return r

    def peak_rss_kib(self):
        """VmHWM of the running stratad, in KiB."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc/%d/status" % self.proc.pid)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Sends SIG and waits; returns the exit status (negative: killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("stratad did not exit within %ds of signal %d:\n%s"
                                     % (timeout, sig, self.log()))
        self._forget()
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()
            self.proc.wait()
        self._forget()

    def _forget(self):
        if self in _live_daemons:
            _live_daemons.remove(self)
        log = getattr(self, "_log", None)
        if log and not log.closed:
            log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


# --- fixtures ----------------------------------------------------------------

class Fixtures:
    def __init__(self, path):
        self.path = path
        with open(os.path.join(path, "manifest.json")) as f:
            self.images = json.load(f)["images"]

    def layout(self, name):
        return os.path.join(self.path, self.images[name]["layout"])

    def oci_archive(self, name):
        return os.path.join(self.path, self.images[name]["oci_archive"])

    def docker_archive(self, name):
        return os.path.join(self.path, self.images[name]["docker_archive"])

    def reference(self, name):
        return os.path.join(self.path, self.images[name]["reference"])

    def image_id(self, name):
        return self.images[name]["image_id"]

    def diff_ids(self, name):
        return self.images[name]["diff_ids"]

    def hostile(self, case=None):
        d = os.path.join(self.path, "hostile")
        return os.path.join(d, case) if case else d

    def hostile_cases(self):
        with open(os.path.join(self.hostile(), "cases.json")) as f:
            return json.load(f)


_fixtures = None


def fixtures():
    """Builds (or reuses) the fixtures; see tests/fixtures/build-fixtures."""
    global _fixtures
    if _fixtures is None:
        script = os.path.join(SOURCE_DIR, "tests", "fixtures", "build-fixtures")
        p = subprocess.run([script, FIXTURES_DIR], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=600)
        if p.returncode == SKIP:
            raise SkipModule("fixtures: " + p.stderr.strip())
        if p.returncode != 0:
            raise AssertionError("build-fixtures failed (%d):\n%s" % (p.returncode, p.stderr))
        _fixtures = Fixtures(FIXTURES_DIR)
    return _fixtures


# --- images and trees --------------------------------------------------------

def hex_id(digest):
    """'sha256:abc' and 'abc' -> 'abc'."""
    return digest.split(":", 1)[1] if ":" in digest else digest


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def decompressed_sha256(path):
    """sha256 of a layer blob's uncompressed tar (gzip, zstd or plain)."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] == b"\x1f\x8b":
        cmd = ["gzip", "-dc", path]
    elif magic == b"\x28\xb5\x2f\xfd":
        cmd = ["zstd", "-dcq", path]
    else:
        return sha256_file(path)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    h = hashlib.sha256()
    for chunk in iter(lambda: p.stdout.read(1 << 20), b""):
        h.update(chunk)
    if p.wait() != 0:
        raise AssertionError("%s failed on %s" % (cmd[0], path))
    return h.hexdigest()


def tree_manifest(root):
    """Everything a merged view must reproduce, per path: type, mode, owner,
    size, content hash, link target, device numbers, xattrs, mtime (not for
    directories: unpackers touch them), and which paths are hard links of
    one another."""
    out = {}
    inodes = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            e = {"mode": oct(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
            if stat.S_ISREG(st.st_mode):
                e.update(size=st.st_size, sha256=sha256_file(path), mtime=int(st.st_mtime))
                if st.st_nlink > 1:
                    inodes.setdefault(st.st_ino, []).append(rel)
            elif stat.S_ISLNK(st.st_mode):
                e.update(target=os.readlink(path), mtime=int(st.st_mtime))
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                e.update(rdev=(os.major(st.st_rdev), os.minor(st.st_rdev)), mtime=int(st.st_mtime))
            elif not stat.S_ISDIR(st.st_mode):
                e.update(mtime=int(st.st_mtime))
            try:
                names = sorted(os.listxattr(path, follow_symlinks=False))
                e["xattrs"] = {n: os.getxattr(path, n, follow_symlinks=False).hex() for n in names}
            except OSError:
                e["xattrs"] = {}
            out[rel] = e
    for paths in inodes.values():
        for p in paths:
            out[p]["hardlinks"] = sorted(paths)
    return out


def diff_trees(expected_root, actual_root, limit=30):
    """A readable list of differences (empty when the trees are equal)."""
    a, b = tree_manifest(expected_root), tree_manifest(actual_root)
    diffs = []
    for p in sorted(set(a) | set(b)):
        if p not in b:
            diffs.append("missing: %s" % p)
        elif p not in a:
            diffs.append("unexpected: %s" % p)
        elif a[p] != b[p]:
            keys = sorted(k for k in set(a[p]) | set(b[p]) if a[p].get(k) != b[p].get(k))
            diffs.append("%s: %s" % (p, ", ".join(
                "%s %r != %r" % (k, a[p].get(k), b[p].get(k)) for k in keys)))
    if len(diffs) > limit:
        diffs = diffs[:limit] + ["... and %d more" % (len(diffs) - limit)]
    return diffs


def umoci_unpack(layout, tag, dest):
    r = run(["umoci", "unpack", "--image", "%s:%s" % (layout, tag), dest])
    if r.rc != 0:
        raise AssertionError("umoci unpack of %s:%s failed: %r" % (layout, tag, r))
    return os.path.join(dest, "rootfs")


def oci_layout_tags(layout):
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    return [m.get("annotations", {}).get("org.opencontainers.image.ref.name")
            for m in index.get("manifests", [])]


# --- store snapshots ---------------------------------------------------------

def store_files(root, parts=("objects", "blobs", "tmp")):
    """Sorted (path, size) of every file under the given parts of a store."""
    out = []
    for part in parts:
        top = os.path.join(root, part)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                try:
                    size = os.lstat(path).st_size
                except OSError:
                    continue
                out.append((os.path.relpath(path, root), size))
    return out


# --- test cases --------------------------------------------------------------

def _one(obj):
    """`inspect --format json` may print an object or a list of one."""
    if isinstance(obj, list):
        if len(obj) != 1:
            raise AssertionError("expected one object, got %d" % len(obj))
        return obj[0]
    return obj


def _listing(obj, key):
    """A listing may print a list or an object holding it under KEY."""
    if isinstance(obj, dict) and key in obj:
        return obj[key]
    return obj


class StrataTestCase(unittest.TestCase):
    maxDiff = None

    def start_stratad(self, **kw):
        daemon = Stratad(**kw)
        self.addCleanup(daemon.kill)
        return daemon

    def fixtures(self):
        return fixtures()

    def scratch(self):
        return temp_dir("strata-it-scratch-")

    def assertOneLineError(self, r, prefix="strata:"):
        """Non-zero exit and exactly one line on stderr (starting with PREFIX)."""
        self.assertNotEqual(r.rc, 0, "expected failure: %r" % r)
        lines = r.stderr_lines()
        self.assertEqual(len(lines), 1, "expected exactly one line on stderr: %r" % r)
        if prefix:
            self.assertTrue(lines[0].startswith(prefix),
                            "stderr should start with %r: %r" % (prefix, r))

    def inspect(self, daemon, ref):
        return _one(daemon.ok("image", "inspect", ref, "--format", "json").json())

    def image_id(self, daemon, ref):
        """The image ID as hex (sha256 of the config)."""
        return hex_id(self.inspect(daemon, ref)["id"])

    def images(self, daemon):
        return _listing(daemon.ok("image", "ls", "--format", "json").json(), "images")

    def du(self, daemon):
        return daemon.ok("du", "--format", "json").json()

    def import_image(self, daemon, path, tag, timeout=300):
        """Imports PATH with --tag TAG; returns the image ID (hex)."""
        daemon.ok("image", "import", path, "--tag", tag, timeout=timeout)
        return self.image_id(daemon, tag)

    def export_image(self, daemon, ref, kind, dest):
        """Exports REF as KIND to DEST (which must not exist yet):
        "oci-layout":  an OCI image layout directory (--format oci);
        "oci-archive": a tar of one (--format oci-archive, the default);
        "docker":      a docker-archive (--format docker)."""
        fmt = {"oci-layout": "oci", "oci-archive": "oci-archive", "docker": "docker"}[kind]
        daemon.ok("image", "export", ref, dest, "--format", fmt)
        self.assertTrue(os.path.exists(dest), "export wrote nothing at %s" % dest)
        return dest

    def snapshot(self, daemon):
        """What must not change when a command fails: the files under
        objects/, blobs/ and tmp/ (names and sizes), and the listings."""
        return {
            "files": store_files(daemon.root),
            "images": daemon.ok("image", "ls", "--format", "json").stdout,
            "du": daemon.ok("du", "--format", "json").stdout,
        }


# --- running a module --------------------------------------------------------

def require_root():
    if os.geteuid() != 0:
        raise SkipModule("needs root (device nodes, owners, the store's locks)")


def require_tools(*names):
    for name in names:
        if shutil.which(name) is None:
            raise SkipModule("%s is not installed (run tools/setup)" % name)


def require_binaries():
    for path in (STRATAD, STRATA):
        if not os.access(path, os.X_OK):
            # Not a skip: the build must produce them.
            raise AssertionError("%s was not built" % path)


def main():
    """Runs the calling module's tests; exits 0, 1 or 77."""
    try:
        require_root()
        require_tools("umoci", "skopeo")
    except SkipModule as e:
        print("SKIP: %s" % e)
        sys.exit(SKIP)
    loader = unittest.defaultTestLoader
    # Names on the command line (Class or Class.test_name) pick tests.
    if len(sys.argv) > 1:
        suite = loader.loadTestsFromNames(sys.argv[1:], sys.modules["__main__"])
    else:
        suite = loader.loadTestsFromModule(sys.modules["__main__"])
    try:
        require_binaries()
        fixtures()
    except SkipModule as e:
        print("SKIP: %s" % e)
        sys.exit(SKIP)
    except AssertionError as e:
        print("FAIL: %s" % e)
        _cleanup()
        sys.exit(1)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    _cleanup()
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun and len(result.skipped) == result.testsRun:
        sys.exit(SKIP)
    sys.exit(0)
