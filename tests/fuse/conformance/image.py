"""The suite's images: layer tars written here (tarfile, PAX headers for
xattrs), made into OCI layouts by umoci (`umoci raw add-layer`), and each
layer unpacked into a directory of its own in overlayfs's format (`.wh.NAME`
becomes a 0/0 character device, `.wh..wh..opq` the xattr
trusted.overlay.opaque=y on its directory) for kernel overlayfs and
fuse-overlayfs.

Two images:
  main   three layers (L0 base, L1 whiteouts/opaque/changes, L2 more changes);
         every case of the suite runs on it
  huge   one layer holding a 1 GiB file, for the killed-mid-copy-up case

Built once into CACHE (a stamp of this file and umoci's version; a lock so
parallel runs wait for one build; the build goes into a temporary sibling
that replaces CACHE when complete).

The layer contents are described by LAYERS below; the cases in cases.py name
paths of it.
"""

import fcntl
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile

T0 = 1_000_000_000          # mtime of most entries (2001-09-09)
T1 = 1_200_000_000          # mtime of L1's entries
T2 = 1_400_000_000          # mtime of L2's entries
BIG_SIZE = 8 << 20          # /big
HUGE_SIZE = 1 << 30         # /huge of the huge image
LONG_NAME = "n" * 255


def pattern(size, seed):
    """size bytes: a 4 KiB block derived from seed, repeated (compressible,
    so that gzip of a 1 GiB layer is quick; any hole or missing chunk still
    changes the file's hash)."""
    block = b""
    h = seed.encode()
    while len(block) < 4096:
        h = hashlib.sha256(h).digest()
        block += h
    block = block[:4096]
    reps, rest = divmod(size, 4096)
    return block, reps, rest


def pattern_bytes(size, seed):
    block, reps, rest = pattern(size, seed)
    return block * reps + block[:rest]


def pattern_sha256(size, seed, suffix=b""):
    block, reps, rest = pattern(size, seed)
    h = hashlib.sha256()
    chunk = block * 256
    n = reps
    while n >= 256:
        h.update(chunk)
        n -= 256
    h.update(block * n + block[:rest])
    h.update(suffix)
    return h.hexdigest()


class PatternReader(io.RawIOBase):
    def __init__(self, size, seed):
        self.block, self.reps, self.rest = pattern(size, seed)
        self.size, self.pos = size, 0
        self.chunk = self.block * 256

    def readable(self):
        return True

    def readinto(self, b):
        left = self.size - self.pos
        if left <= 0:
            return 0
        off = self.pos % len(self.chunk)
        data = self.chunk[off:off + min(len(b), left)]
        b[:len(data)] = data
        self.pos += len(data)
        return len(data)


# --- the layers ----------------------------------------------------------------
# Each entry: (path, kind, attrs). kinds: dir, file, link (hard link; attrs
# "to"), sym (attrs "to"), fifo, chr, blk, wh (whiteout of path), opq
# (opaque marker of directory path).

def _l0():
    e = []
    d = lambda p, mode=0o755, **kw: e.append((p, "dir", dict(mode=mode, **kw)))
    f = lambda p, data=b"", mode=0o644, **kw: e.append((p, "file", dict(data=data, mode=mode, **kw)))
    d("d")
    f("d/file", b"lower file\n", 0o644, uid=1000, gid=1000,
      xattrs={"user.k": b"v", "user.big": b"x" * 1000})
    f("d/exec", b"#!/bin/sh\necho exec-ok\n", 0o755)
    f("d/setuid", b"suid\n", 0o4755)
    f("d/setgid", b"sgid\n", 0o2755, gid=3000)
    f("d/mode0000", b"secret\n", 0o000)
    f("d/empty", b"", 0o644)
    d("d/sub", 0o750, uid=1000, gid=1000, xattrs={"user.dirattr": b"1"})
    f("d/sub/a", b"a\n")
    f("d/sub/b", b"b\n")
    d("d/sub/deep")
    f("d/sub/deep/c", b"c\n")
    f("d/hl1", b"hardlinked\n", 0o640, uid=2000, gid=2000, xattrs={"user.hl": b"1"})
    e.append(("d/hl2", "link", dict(to="d/hl1")))
    d("other")
    e.append(("other/hl3", "link", dict(to="d/hl1")))
    e.append(("d/sym_rel", "sym", dict(to="file")))
    e.append(("d/sym_abs", "sym", dict(to="/d/file")))
    e.append(("d/sym_dir", "sym", dict(to="sub")))
    e.append(("d/sym_dangling", "sym", dict(to="missing")))
    e.append(("d/sym_chain", "sym", dict(to="sym_rel")))
    e.append(("d/sym_owned", "sym", dict(to="file", uid=1000, gid=1000)))
    e.append(("d/fifo", "fifo", dict(mode=0o640)))
    e.append(("d/chr", "chr", dict(mode=0o666, rdev=(1, 3))))
    e.append(("d/blk", "blk", dict(mode=0o660, rdev=(7, 0))))
    f("big", ("pattern", BIG_SIZE, "big"), 0o644)
    f("sparse_lower", b"head" + b"\0" * (1 << 20) + b"tail", 0o644)
    d("sticky", 0o1777)
    f("sticky/root_file", b"root\n", 0o644)
    f("sticky/user_file", b"user\n", 0o644, uid=1000, gid=1000)
    d("priv", 0o700)
    f("priv/f", b"priv\n")
    d("pub", 0o755)
    f("pub/root_file", b"root\n", 0o644)
    f("pub/world_writable", b"ww\n", 0o666)
    d("user", 0o755, uid=1000, gid=1000)
    f("user/own", b"own\n", 0o600, uid=1000, gid=1000, xattrs={"user.u": b"1"})
    f("user/ro", b"ro\n", 0o444, uid=1000, gid=1000)
    f("user/group_rw", b"grp\n", 0o660, uid=0, gid=1000)
    d("sgid_dir", 0o2775, gid=3000)
    d("wh")
    f("wh/gone_file", b"x\n")
    d("wh/gone_dir")
    f("wh/gone_dir/x", b"x\n")
    f("wh/keep", b"keep\n")
    d("opq", xattrs={"user.opq": b"l0"})
    f("opq/old1", b"old1\n")
    d("opq/old2")
    f("opq/old2/x", b"x\n")
    d("merge")
    f("merge/a", b"a0\n")
    d("merge/sub")
    f("merge/sub/a0", b"a0\n")
    d("rmd")
    d("rmd/nonempty")
    f("rmd/nonempty/c", b"c\n")
    d("rmd/empty")
    d("rmd/allwh")
    f("rmd/allwh/p", b"p\n")
    f("rmd/allwh/q", b"q\n")
    d("ren")
    f("ren/lfile", b"lfile\n", 0o640, uid=1000, gid=1000, xattrs={"user.r": b"1"})
    d("ren/ldir", 0o750, uid=1000, gid=1000, xattrs={"user.r": b"d"})
    f("ren/ldir/c1", b"c1\n")
    f("ren/ldir/c2", b"c2\n")
    d("ren/ldir/sub")
    f("ren/ldir/sub/c3", b"c3\n")
    f("ren/bfile", b"bfile L0\n")
    d("ren/bdir")
    f("ren/bdir/l0", b"l0\n")
    f("ren/tfile", b"tfile\n")
    d("ren/tdir")
    d("ren/tdir_full")
    f("ren/tdir_full/x", b"x\n")
    f("ren/ex_a", b"A\n")
    f("ren/ex_b", b"B\n")
    d("ren/exdir")
    f("ren/exdir/e1", b"e1\n")
    d("ren/other")
    f("ren/wh_target", b"w\n")
    f("chg", b"v0\n")
    f("modeonly", b"m\n", 0o644)
    d("typechg")
    f("typechg/child", b"c\n")
    f("l1gone", b"l0\n")
    d("names")
    f("names/" + LONG_NAME, b"long\n")
    d("many")
    return e


def _l1():
    e = []
    d = lambda p, mode=0o755, **kw: e.append((p, "dir", dict(mode=mode, mtime=T1, **kw)))
    f = lambda p, data=b"", mode=0o644, **kw: e.append((p, "file", dict(data=data, mode=mode, mtime=T1, **kw)))
    wh = lambda p: e.append((p, "wh", {}))
    d("wh")
    wh("wh/gone_file")
    wh("wh/gone_dir")
    d("opq", xattrs={"user.opq": b"l1"})
    e.append(("opq", "opq", {}))
    f("opq/new1", b"new1\n")
    d("merge")
    f("merge/b", b"b1\n")
    d("merge/sub")
    f("merge/sub/b1", b"b1\n")
    f("chg", b"v1 changed\n")
    f("modeonly", b"m\n", 0o600)
    d("ren")
    f("ren/bfile", b"bfile L1\n")
    d("ren/bdir")
    f("ren/bdir/l1", b"l1\n")
    wh("ren/wh_target")
    f("typechg", b"now a file\n")
    wh("l1gone")
    d("l1")
    f("l1/x", b"x\n")
    f("l1/y", b"y\n")
    d("rmd")
    d("rmd/allwh")
    wh("rmd/allwh/p")
    wh("rmd/allwh/q")
    return e


def _l2():
    e = []
    d = lambda p, mode=0o755, **kw: e.append((p, "dir", dict(mode=mode, mtime=T2, **kw)))
    f = lambda p, data=b"", mode=0o644, **kw: e.append((p, "file", dict(data=data, mode=mode, mtime=T2, **kw)))
    d("merge")
    f("merge/c", b"c2\n")
    d("merge/sub")
    f("merge/sub/c2", b"c2\n")
    f("l1gone", b"back in L2\n")
    d("l1")
    e.append(("l1/x", "wh", {}))
    d("l2")
    f("l2/file", b"l2\n")
    return e


def _huge():
    return [
        ("huge", "file", dict(data=("pattern", HUGE_SIZE, "huge"), mode=0o644)),
        ("small", "file", dict(data=b"small\n", mode=0o644)),
    ]


IMAGES = {"main": [_l0, _l1, _l2], "huge": [_huge]}


def _data(spec):
    if isinstance(spec, tuple):
        _, size, seed = spec
        return size, PatternReader(size, seed)
    return len(spec), io.BytesIO(spec)


def write_layer_tar(entries, path):
    """An uncompressed PAX tar of ENTRIES (parents before children as given)."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for p, kind, a in entries:
            mtime = a.get("mtime", T0)
            if kind in ("wh", "opq"):
                name = (os.path.join(os.path.dirname(p), ".wh." + os.path.basename(p))
                        if kind == "wh" else p + "/.wh..wh..opq")
                ti = tarfile.TarInfo(name)
                ti.mtime = mtime
                ti.mode = 0o644
                tar.addfile(ti, io.BytesIO(b""))
                continue
            ti = tarfile.TarInfo(p)
            ti.mtime = mtime
            ti.uid, ti.gid = a.get("uid", 0), a.get("gid", 0)
            ti.uname = ti.gname = ""
            ti.mode = a.get("mode", 0o777 if kind == "sym" else 0o644)
            pax = {"SCHILY.xattr." + k: v.decode("latin-1") for k, v in a.get("xattrs", {}).items()}
            if pax:
                ti.pax_headers = pax
            fileobj = None
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "file":
                ti.size, fileobj = _data(a["data"])
            elif kind == "link":
                ti.type, ti.linkname = tarfile.LNKTYPE, a["to"]
                ti.mode = 0o640
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, a["to"]
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            elif kind in ("chr", "blk"):
                ti.type = tarfile.CHRTYPE if kind == "chr" else tarfile.BLKTYPE
                ti.devmajor, ti.devminor = a["rdev"]
            tar.addfile(ti, fileobj)


def unpack_layer_tar(tar_path, dest):
    """Unpacks one layer tar into DEST in overlayfs's lower-layer format."""
    os.makedirs(dest)
    dirs = []
    with tarfile.open(tar_path, "r") as tar:
        for ti in tar:
            name = os.path.normpath(ti.name)
            if name.startswith("..") or os.path.isabs(name):
                raise ValueError("bad path in layer: %r" % ti.name)
            path = os.path.join(dest, name)
            parent, base = os.path.split(path)
            os.makedirs(parent, exist_ok=True)
            if base == ".wh..wh..opq":
                os.setxattr(parent, "trusted.overlay.opaque", b"y")
                continue
            if base.startswith(".wh."):
                os.mknod(os.path.join(parent, base[4:]), stat.S_IFCHR | 0, os.makedev(0, 0))
                continue
            if ti.isdir():
                os.makedirs(path, exist_ok=True)
                dirs.append((path, ti))
            elif ti.isreg():
                with tar.extractfile(ti) as src, open(path, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
            elif ti.islnk():
                os.link(os.path.join(dest, os.path.normpath(ti.linkname)), path)
                continue  # attributes are the first name's
            elif ti.issym():
                os.symlink(ti.linkname, path)
            elif ti.isfifo():
                os.mkfifo(path)
            elif ti.ischr() or ti.isblk():
                kind = stat.S_IFCHR if ti.ischr() else stat.S_IFBLK
                os.mknod(path, kind | 0o600, os.makedev(ti.devmajor, ti.devminor))
            _attrs(path, ti)
    for path, ti in reversed(dirs):
        _attrs(path, ti)


def _attrs(path, ti):
    os.lchown(path, ti.uid, ti.gid)
    if not ti.issym():
        os.chmod(path, ti.mode & 0o7777)
    for k, v in ti.pax_headers.items():
        if k.startswith("SCHILY.xattr."):
            os.setxattr(path, k[len("SCHILY.xattr."):], v.encode("latin-1"),
                        follow_symlinks=False)
    os.utime(path, (ti.mtime, ti.mtime), follow_symlinks=False)


def _run(argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), p.returncode, p.stderr.strip()))
    return p.stdout


def _stamp():
    with open(__file__, "rb") as f:
        h = hashlib.sha256(f.read())
    h.update(_run(["umoci", "--version"]).encode())
    return h.hexdigest()


class Images:
    """CACHE/<image>/layout (OCI layout, tag "t"), CACHE/<image>/L0, L1, ..."""

    def __init__(self, cache):
        self.cache = cache
        with open(os.path.join(cache, "images.json")) as f:
            self.info = json.load(f)

    def layout(self, image):
        return os.path.join(self.cache, image, "layout")

    def layer_dirs(self, image):
        """Bottom to top."""
        n = len(IMAGES[image])
        return [os.path.join(self.cache, image, "L%d" % i) for i in range(n)]


def build(cache):
    """Builds (or reuses) the images in CACHE; returns an Images."""
    stamp = _stamp()
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with open(cache + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(os.path.join(cache, ".stamp")) as f:
                if f.read().strip() == stamp:
                    return Images(cache)
        except OSError:
            pass
        tmp = cache + ".new"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        info = {}
        for image, layers in IMAGES.items():
            top = os.path.join(tmp, image)
            layout = os.path.join(top, "layout")
            _run(["umoci", "init", "--layout", layout])
            _run(["umoci", "new", "--image", layout + ":t"])
            for i, make in enumerate(layers):
                tar_path = os.path.join(top, "L%d.tar" % i)
                write_layer_tar(make(), tar_path)
                _run(["umoci", "raw", "add-layer", "--no-history", "--image", layout + ":t",
                      tar_path])
                unpack_layer_tar(tar_path, os.path.join(top, "L%d" % i))
                os.unlink(tar_path)
            _run(["umoci", "config", "--image", layout + ":t", "--config.cmd", "/bin/sh",
                  "--os", "linux", "--architecture", "amd64"])
            _run(["umoci", "gc", "--layout", layout])
            info[image] = {"layers": len(layers)}
        with open(os.path.join(tmp, "images.json"), "w") as f:
            json.dump(info, f)
        with open(os.path.join(tmp, ".stamp"), "w") as f:
            f.write(stamp)
        shutil.rmtree(cache, ignore_errors=True)
        os.rename(tmp, cache)
        return Images(cache)
