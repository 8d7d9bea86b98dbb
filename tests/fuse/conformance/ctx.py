"""What a case works with: Ctx, one provider's fresh root, and helpers that
record observations (key -> JSON-able value) compared across providers.

Conventions of the recorded values:
  "ok"            the call succeeded (and returned nothing of interest)
  "E<NAME>"       it failed with errno NAME (e.g. "ENOTEMPTY")
  stat summaries  "reg 0644 1000:1000 size=11 nlink=1 mtime=1000000000"
                  (directories: no size and nlink; devices: rdev=MAJ,MIN)
Inode numbers, device numbers and times of new entries differ between any
two filesystems and are never recorded as such; their relations are (equal,
distinct, unchanged).
"""

import errno
import hashlib
import json
import os
import stat
import subprocess
import sys
import traceback

import sysx

TYPES = [(stat.S_ISREG, "reg"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "lnk"),
         (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "chr"), (stat.S_ISBLK, "blk"),
         (stat.S_ISSOCK, "sock")]


def ftype(mode):
    for test, name in TYPES:
        if test(mode):
            return name
    return "?"


def err(e):
    return errno.errorcode.get(e.errno, "E%d" % e.errno)


def _jsonable(o):
    if isinstance(o, (bytes, bytearray)):
        return o.decode("utf-8", "backslashreplace")
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError("not JSON-able: %r" % (o,))


def summ(st, times=True):
    t = ftype(st.st_mode)
    s = "%s %04o %d:%d" % (t, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    if t != "dir":
        s += " size=%d nlink=%d" % (st.st_size, st.st_nlink)
    if t in ("chr", "blk"):
        s += " rdev=%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
    if times:
        s += " mtime=%d" % st.st_mtime
    return s


def sha(data):
    return hashlib.sha256(data).hexdigest()[:16]


def file_sha(path):
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            n += len(chunk)
    return "%d:%s" % (n, h.hexdigest()[:16])


class Ctx:
    def __init__(self, mount, long_mode=False, drop_pass=False):
        self.mount = mount
        self.root = mount.root
        self.provider = mount.provider.name
        self.long = long_mode
        self.drop_pass = drop_pass  # the pass under the drop_caches loop
        self.obs = {}
        self.info = {}   # shown, never compared

    # --- recording ---------------------------------------------------------
    def p(self, rel):
        return os.path.join(self.root, rel) if rel else self.root

    def rec(self, key, value):
        if key in self.obs:
            raise AssertionError("key recorded twice: %s" % key)
        self.obs[key] = json.loads(json.dumps(value, default=_jsonable))

    def call(self, key, fn, *args, **kw):
        """Records "ok" (or the result, when not None) or "E<errno>"; returns
        the result or None."""
        try:
            r = fn(*args, **kw)
        except OSError as e:
            self.rec(key, err(e))
            return None
        self.rec(key, "ok" if r is None else r)
        return r

    # --- observations ------------------------------------------------------
    def lstat(self, rel):
        return os.lstat(self.p(rel))

    def st(self, rel, key=None, follow=False, times=True):
        try:
            s = summ(os.stat(self.p(rel)) if follow else os.lstat(self.p(rel)), times)
        except OSError as e:
            s = err(e)
        self.rec(key or ("stat " + rel + (" (follow)" if follow else "")), s)
        return s

    def ls(self, rel, key=None):
        """Names and d_types of a directory (sorted), duplicates marked."""
        try:
            ents = sysx.getdents(self.p(rel))
        except OSError as e:
            self.rec(key or ("ls " + rel), err(e))
            return None
        names = [n for n, _t, _i in ents if n not in (".", "..")]
        out = sorted("%s:%s" % (n, t) for n, t, _i in ents if n not in (".", ".."))
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            out.append("DUPLICATES:" + ",".join(dups))
        self.rec(key or ("ls " + rel), out)
        return out

    def content(self, rel, key=None):
        try:
            v = file_sha(self.p(rel))
        except OSError as e:
            v = err(e)
        self.rec(key or ("content " + rel), v)
        return v

    def text(self, rel, key=None):
        try:
            with open(self.p(rel), "rb") as f:
                v = f.read(4096).decode(errors="replace")
        except OSError as e:
            v = err(e)
        self.rec(key or ("text " + rel), v)
        return v

    def xattrs(self, rel, key=None):
        path = self.p(rel)
        try:
            names = sorted(os.listxattr(path, follow_symlinks=False))
            v = {}
            for n in names:
                try:
                    v[n] = sha(os.getxattr(path, n, follow_symlinks=False))
                except OSError as e:
                    v[n] = err(e)
        except OSError as e:
            v = err(e)
        self.rec(key or ("xattrs " + rel), v)
        return v

    def write(self, rel, data, flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode=0o644):
        fd = os.open(self.p(rel), flags, mode)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def ino(self, rel, follow=False):
        """st_ino, or the errno name when the lookup fails."""
        try:
            st = os.stat(self.p(rel)) if follow else os.lstat(self.p(rel))
        except OSError as e:
            return err(e)
        return st.st_ino

    def drop_caches(self):
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")

    def upper_has(self, rel):
        """What the provider's upper dir holds at REL (None: upper unknown)."""
        if self.mount.upper is None:
            return None
        try:
            st = os.lstat(os.path.join(self.mount.upper, rel))
        except OSError as e:
            return err(e)
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            return "whiteout"
        return ftype(st.st_mode)

    # --- other users and processes -----------------------------------------
    def as_user(self, uid, gid, fn, groups=()):
        """Runs fn(ctx) in a forked child with all uids UID and gids GID;
        returns what it recorded (merged into this ctx's observations
        under the child's keys)."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            code = 0
            try:
                child = Ctx(self.mount, self.long)
                os.setgroups(list(groups))
                os.setresgid(gid, gid, gid)
                os.setresuid(uid, uid, uid)
                fn(child)
                payload = json.dumps({"obs": child.obs})
            except BaseException:
                payload = json.dumps({"error": traceback.format_exc()})
                code = 1
            with os.fdopen(w, "w") as f:
                f.write(payload)
            os._exit(code)
        os.close(w)
        with os.fdopen(r) as f:
            data = f.read()
        os.waitpid(pid, 0)
        result = json.loads(data) if data else {"error": "child wrote nothing"}
        if "error" in result:
            raise AssertionError("as uid %d: %s" % (uid, result["error"]))
        for k, v in result["obs"].items():
            self.rec(k, v)
        return result["obs"]

    def in_child(self, fn):
        """Runs fn() in a forked child; returns its JSON-able result."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                payload = json.dumps({"value": fn()})
            except BaseException:
                payload = json.dumps({"error": traceback.format_exc()})
            with os.fdopen(w, "w") as f:
                f.write(payload)
            os._exit(0)
        os.close(w)
        with os.fdopen(r) as f:
            data = f.read()
        os.waitpid(pid, 0)
        result = json.loads(data)
        if "error" in result:
            raise AssertionError(result["error"])
        return result["value"]
