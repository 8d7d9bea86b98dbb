"""The cases: each runs on a fresh writable root of every provider and
records observations (ctx.py); run.py compares them with the reference's.

A case is a function of a Ctx registered with @case. Flags:
  informational  outcomes are shown side by side and never fail the run
                 (they differ by nature between providers)
  rerun          run again in the drop_caches pass (default True)
"""

import errno
import fcntl
import mmap
import os
import socket
import stat
import subprocess
import threading
import time

import image
import sysx
from ctx import err, file_sha, summ

CASES = []


def case(fn=None, *, informational=False, rerun=True):
    def reg(f):
        f.informational, f.rerun = informational, rerun
        CASES.append(f)
        return f
    return reg(fn) if fn else reg


def walk(ctx, rel=""):
    """Every path below rel (relative to the root), parents first."""
    out = []
    for name, _t, _i in sysx.getdents(ctx.p(rel)):
        if name in (".", ".."):
            continue
        path = os.path.join(rel, name) if rel else name
        out.append(path)
        if stat.S_ISDIR(os.lstat(ctx.p(path)).st_mode):
            out.extend(walk(ctx, path))
    return out


LOWER_ENTRIES = ["d", "d/file", "d/exec", "d/setuid", "d/setgid", "d/mode0000", "d/empty",
                 "d/sub", "d/hl1", "d/hl2", "other/hl3", "d/sym_rel", "d/sym_abs", "d/sym_dir",
                 "d/sym_dangling", "d/fifo", "d/chr", "d/blk", "big", "sparse_lower", "chg",
                 "modeonly", "typechg", "l1gone", "merge", "opq"]


# --- lookup, stat, readdir, readlink ------------------------------------------------

@case
def tree(ctx):
    """The whole merged tree: each entry's stat, each directory's listing
    with d_types (each name once, whiteouts hidden, opaque honoured), file
    contents, link targets, xattrs; hard-link groups by st_ino; d_ino ==
    st_ino."""
    paths = walk(ctx)
    ctx.rec("paths", sorted(paths))
    by_ino = {}
    for rel in [""] + paths:
        st = ctx.lstat(rel)
        t = summ(st)
        if rel:
            ctx.rec("stat " + rel, t)
        by_ino.setdefault(st.st_ino, []).append(rel or "/")
        if stat.S_ISDIR(st.st_mode):
            ctx.ls(rel, "ls " + (rel or "/"))
            ents = sysx.getdents(ctx.p(rel))
            bad = [n for n, _t, ino in ents if n not in (".", "..")
                   and ino != os.lstat(ctx.p(os.path.join(rel, n))).st_ino]
            ctx.rec("d_ino != st_ino in " + (rel or "/"), sorted(bad))
            subdirs = sum(1 for n, t, _i in ents if t == "dir" and n not in (".", ".."))
            ctx.rec("dirnlink " + (rel or "/"), _dirnlink(st.st_nlink, subdirs))
        elif stat.S_ISREG(st.st_mode) and st.st_mode & 0o444:
            ctx.content(rel)
        elif stat.S_ISLNK(st.st_mode):
            ctx.rec("readlink " + rel, os.readlink(ctx.p(rel)))
        if rel:
            ctx.xattrs(rel)
    ctx.rec("hard-link groups", sorted(sorted(v) for v in by_ino.values() if len(v) > 1))
    ctx.rec("st_dev same for all", len({ctx.lstat(r).st_dev for r in [""] + paths}) == 1)


def _dirnlink(nlink, subdirs):
    if nlink == 2 + subdirs:
        return "2+subdirs"
    if nlink == 1:
        return "1 (unknown)"
    return "%d with %d subdirs" % (nlink, subdirs)


@case
def lookup_errors(ctx):
    for rel in ["missing", "d/file/x", "wh/gone_file", "wh/gone_dir", "wh/.wh.gone_file",
                "opq/old1", "opq/old2", "l1/x", "typechg/child", "d/sym_dir/a",
                "d/sym_dangling", "d/sym_chain", "names/" + image.LONG_NAME,
                "names/" + "m" * 255, "names/" + "n" * 256, "d/" + "x" * 256 + "/y",
                ".wh..wh..opq", "opq/.wh..wh..opq"]:
        ctx.st(rel, follow=True)
    ctx.call("access d/sub F_OK", os.access, ctx.p("d/sub"), os.F_OK)
    ctx.call("open missing", lambda: os.close(os.open(ctx.p("missing"), os.O_RDONLY)))


@case
def readlink(ctx):
    for rel in ["d/sym_rel", "d/sym_abs", "d/sym_dir", "d/sym_dangling", "d/sym_chain",
                "d/file", "d/sub", "missing"]:
        ctx.call("readlink " + rel, os.readlink, ctx.p(rel))


# --- creating entries ------------------------------------------------------------

@case
def mknod(ctx):
    os.mkdir(ctx.p("n"), 0o755)
    for parent in ("n", "d"):
        for name, mode, dev in [("fifo", stat.S_IFIFO | 0o640, 0),
                                ("sock", stat.S_IFSOCK | 0o600, 0),
                                ("chr", stat.S_IFCHR | 0o620, os.makedev(1, 3)),
                                ("blk", stat.S_IFBLK | 0o600, os.makedev(7, 1))]:
            rel = "%s/new_%s" % (parent, name)
            ctx.call("mknod " + rel, os.mknod, ctx.p(rel), mode, dev)
            ctx.st(rel, times=False)
        ctx.ls(parent)
    ctx.call("mknod existing lower", os.mknod, ctx.p("d/file"), stat.S_IFIFO | 0o644)
    ctx.call("mknod existing upper", os.mknod, ctx.p("n/new_fifo"), stat.S_IFIFO | 0o644)
    ctx.call("mknod over whiteout", os.mknod, ctx.p("wh/gone_file"), stat.S_IFIFO | 0o644)
    ctx.st("wh/gone_file", times=False)
    ctx.ls("wh")
    ctx.call("mknod missing parent", os.mknod, ctx.p("nope/x"), stat.S_IFIFO | 0o644)
    ctx.call("mknod 0/0 chr (a whiteout's shape)", os.mknod, ctx.p("n/zero"),
             stat.S_IFCHR | 0o600, os.makedev(0, 0))
    ctx.st("n/zero", times=False)
    ctx.ls("n", "ls n after 0/0")
    ctx.call("mknod regular", os.mknod, ctx.p("n/reg"), stat.S_IFREG | 0o644)
    ctx.st("n/reg", times=False)
    # A bound Unix socket is a socket node; connecting through the path works.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        ctx.call("bind n/bound", s.bind, ctx.p("n/bound"))
        s.listen(4)
        ctx.st("n/bound", times=False)
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ctx.call("connect n/bound", c.connect, ctx.p("n/bound"))
        c.close()
    finally:
        s.close()
    fd = None
    try:
        fd = os.open(ctx.p("n/new_chr"), os.O_WRONLY)
        ctx.rec("write to new char device 1,3", os.write(fd, b"x"))
    except OSError as e:
        ctx.rec("write to new char device 1,3", err(e))
    finally:
        if fd is not None:
            os.close(fd)


@case
def mkdir(ctx):
    ctx.call("mkdir new", os.mkdir, ctx.p("newdir"), 0o750)
    ctx.st("newdir", times=False)
    ctx.ls("newdir")
    ctx.call("mkdir existing lower", os.mkdir, ctx.p("d/sub"))
    ctx.call("mkdir existing lower file", os.mkdir, ctx.p("d/file"))
    ctx.call("mkdir over whiteout", os.mkdir, ctx.p("wh/gone_dir"), 0o700)
    ctx.st("wh/gone_dir", times=False)
    ctx.ls("wh/gone_dir")
    ctx.xattrs("wh/gone_dir")
    ctx.call("mkdir in lower dir", os.mkdir, ctx.p("d/sub/new"), 0o755)
    ctx.ls("d/sub")
    ctx.st("d/sub", times=False)
    ctx.xattrs("d/sub")
    ctx.call("mkdir in setgid dir", os.mkdir, ctx.p("sgid_dir/child"), 0o755)
    ctx.st("sgid_dir/child", times=False)
    ctx.call("mkdir long name", os.mkdir, ctx.p("x" * 256))
    ctx.call("mkdir 255 name", os.mkdir, ctx.p("x" * 255))
    ctx.call("mkdir missing parent", os.mkdir, ctx.p("nope/x"))
    ctx.call("mkdir under file", os.mkdir, ctx.p("d/file/x"))
    ctx.call("mkdir deep", os.makedirs, ctx.p("d/sub/deep/e/f/g"))
    ctx.st("d/sub/deep", times=False)
    ctx.ls("d/sub/deep")


@case
def symlink(ctx):
    ctx.call("symlink new", os.symlink, "target/x", ctx.p("s_new"))
    ctx.st("s_new", times=False)
    ctx.call("readlink s_new", os.readlink, ctx.p("s_new"))
    ctx.call("symlink existing", os.symlink, "t", ctx.p("d/file"))
    ctx.call("symlink over whiteout", os.symlink, "keep", ctx.p("wh/gone_file"))
    ctx.st("wh/gone_file", times=False)
    ctx.text("wh/gone_file")
    ctx.call("symlink in lower dir", os.symlink, "../big", ctx.p("d/sub/s"))
    ctx.content("d/sub/s")
    ctx.call("symlink 4095 target", os.symlink, "a" * 4095, ctx.p("s_4095"))
    ctx.call("readlink 4095", lambda: len(os.readlink(ctx.p("s_4095"))))
    ctx.call("symlink 4096 target", os.symlink, "a" * 4096, ctx.p("s_4096"))
    ctx.call("symlink to self loop", os.symlink, "loop", ctx.p("loop"))
    ctx.st("loop", follow=True)


# --- removing entries --------------------------------------------------------------

@case
def unlink(ctx):
    ctx.call("unlink lower file", os.unlink, ctx.p("d/file"))
    ctx.st("d/file")
    ctx.ls("d", "ls d after unlink")
    ctx.call("recreate", ctx.write, "d/file", b"new", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    ctx.st("d/file", "stat recreated", times=False)
    ctx.text("d/file")
    ctx.xattrs("d/file")
    ctx.call("unlink recreated", os.unlink, ctx.p("d/file"))
    ctx.ls("d", "ls d after second unlink")
    ctx.rec("upper holds d/file as", ctx.upper_has("d/file"))
    ctx.write("u", b"u")
    ctx.call("unlink upper file", os.unlink, ctx.p("u"))
    ctx.call("unlink dir", os.unlink, ctx.p("d/sub"))
    ctx.call("unlink missing", os.unlink, ctx.p("missing"))
    for rel in ["d/sym_rel", "d/fifo", "d/chr", "d/blk", "chg", "l1gone", "merge/a", "merge/b",
                "merge/c"]:
        ctx.call("unlink " + rel, os.unlink, ctx.p(rel))
        ctx.st(rel)
    ctx.ls("merge")
    ctx.st("d/hl2", "hl2 before unlink hl1", times=False)
    ctx.call("unlink d/hl1", os.unlink, ctx.p("d/hl1"))
    ctx.st("d/hl2", "hl2 after unlink hl1", times=False)
    ctx.st("other/hl3", "hl3 after unlink hl1", times=False)
    ctx.text("d/hl2")
    ctx.call("unlink whited-out name", os.unlink, ctx.p("wh/gone_file"))
    ctx.call("unlink through file", os.unlink, ctx.p("d/exec/x"))


@case
def rmdir(ctx):
    ctx.call("rmdir lower nonempty", os.rmdir, ctx.p("rmd/nonempty"))
    ctx.call("rmdir lower empty", os.rmdir, ctx.p("rmd/empty"))
    ctx.st("rmd/empty")
    ctx.call("mkdir again", os.mkdir, ctx.p("rmd/empty"))
    ctx.ls("rmd/empty")
    ctx.ls("rmd/allwh")
    ctx.call("rmdir dir emptied by lower whiteouts", os.rmdir, ctx.p("rmd/allwh"))
    for n in ("a0",):
        os.unlink(ctx.p("merge/sub/" + n))
    ctx.call("rmdir merged dir with children left", os.rmdir, ctx.p("merge/sub"))
    for n in ("b1", "c2"):
        os.unlink(ctx.p("merge/sub/" + n))
    ctx.ls("merge/sub")
    ctx.call("rmdir merged dir emptied by unlinks", os.rmdir, ctx.p("merge/sub"))
    ctx.ls("merge")
    ctx.call("mkdir merge/sub again", os.mkdir, ctx.p("merge/sub"))
    ctx.ls("merge/sub", "ls merge/sub recreated")
    os.makedirs(ctx.p("up/child"))
    ctx.call("rmdir upper nonempty", os.rmdir, ctx.p("up"))
    ctx.call("rmdir file", os.rmdir, ctx.p("d/file"))
    ctx.call("rmdir missing", os.rmdir, ctx.p("missing"))
    ctx.call("rmdir opaque dir with upper child", os.rmdir, ctx.p("opq"))
    os.unlink(ctx.p("opq/new1"))
    ctx.ls("opq")
    ctx.call("rmdir opaque dir emptied", os.rmdir, ctx.p("opq"))
    ctx.call("rmdir dot", os.rmdir, ctx.p("d/sub/."))
    ctx.call("rmdir symlink to dir", os.rmdir, ctx.p("d/sym_dir"))
    ctx.call("rmdir sticky lower (has children)", os.rmdir, ctx.p("sticky"))
    ctx.call("rmdir d/sub/deep (lower child)", os.rmdir, ctx.p("d/sub/deep"))
    os.unlink(ctx.p("d/sub/deep/c"))
    ctx.call("rmdir d/sub/deep emptied", os.rmdir, ctx.p("d/sub/deep"))
    ctx.ls("d/sub")


# --- rename ----------------------------------------------------------------------

def _tree_sig(ctx, rel):
    """A recursive signature of rel: type, mode, owner, content/children."""
    st = os.lstat(ctx.p(rel))
    s = summ(st, times=False)
    if stat.S_ISDIR(st.st_mode):
        kids = sorted(n for n in os.listdir(ctx.p(rel)))
        return [s, {k: _tree_sig(ctx, os.path.join(rel, k)) for k in kids}]
    if stat.S_ISREG(st.st_mode):
        return [s, file_sha(ctx.p(rel))]
    return [s]


@case
def rename_matrix(ctx):
    """file/dir x lower/upper/both x same dir/across dirs, and back."""
    ctx.write("ren/ufile", b"ufile\n", mode=0o600)
    os.mkdir(ctx.p("ren/udir"), 0o700)
    ctx.write("ren/udir/u1", b"u1\n")
    with open(ctx.p("ren/bfile"), "ab") as f:      # lower + upper: copied up
        f.write(b"+")
    ctx.write("ren/bdir/u1", b"u1\n")              # lower children + upper child
    os.setxattr(ctx.p("ren/ldir/c1"), "user.c1", b"1")  # a copied-up child in a lower dir
    for src in ["lfile", "ufile", "bfile", "ldir", "udir", "bdir"]:
        orig = "ren/" + src
        sig = _tree_sig(ctx, orig)
        ino = ctx.ino(orig)
        xat = ctx.xattrs(orig, "xattrs before " + src)
        cur = orig
        for label, dst in [("same dir", "ren/%s.moved" % src),
                           ("across dirs", "ren/other/%s" % src),
                           ("to top", src + ".top"),
                           ("back", orig)]:
            k = "%s %s" % (src, label)
            ctx.call("rename " + k, os.rename, ctx.p(cur), ctx.p(dst))
            ctx.rec(k + ": source gone", not os.path.lexists(ctx.p(cur)))
            if os.path.lexists(ctx.p(dst)):
                ctx.rec(k + ": same tree", _tree_sig(ctx, dst) == sig)
                ctx.rec(k + ": same st_ino", ctx.ino(dst) == ino)
                ctx.rec(k + ": same xattrs", ctx.xattrs(dst, "xattrs " + k) == xat)
                cur = dst
            else:
                ctx.rec(k + ": dst", "missing")
    ctx.ls("ren")
    ctx.ls("ren/other")
    ctx.ls("ren/ldir")
    ctx.ls("ren/bdir")
    ctx.text("ren/ldir/sub/c3")


@case
def rename_targets(ctx):
    ctx.call("file over lower file", os.rename, ctx.p("ren/ex_a"), ctx.p("ren/tfile"))
    ctx.text("ren/tfile")
    ctx.st("ren/ex_a")
    ctx.call("dir over empty lower dir", os.rename, ctx.p("ren/ldir"), ctx.p("ren/tdir"))
    ctx.ls("ren/tdir")
    ctx.call("dir over nonempty dir", os.rename, ctx.p("ren/bdir"), ctx.p("ren/tdir_full"))
    ctx.call("file over dir", os.rename, ctx.p("ren/lfile"), ctx.p("ren/exdir"))
    ctx.call("dir over file", os.rename, ctx.p("ren/exdir"), ctx.p("ren/lfile"))
    ctx.call("dir into own subdir", os.rename, ctx.p("ren/exdir"), ctx.p("ren/exdir/x"))
    ctx.call("to whited-out name", os.rename, ctx.p("ren/lfile"), ctx.p("ren/wh_target"))
    ctx.text("ren/wh_target")
    ctx.call("missing source", os.rename, ctx.p("ren/nope"), ctx.p("ren/nope2"))
    ctx.call("onto itself", os.rename, ctx.p("ren/ex_b"), ctx.p("ren/ex_b"))
    ctx.call("hard link onto its other name", os.rename, ctx.p("d/hl1"), ctx.p("d/hl2"))
    ctx.st("d/hl1", times=False)
    ctx.st("d/hl2", times=False)
    ctx.call("dir over upper empty dir", lambda: (os.mkdir(ctx.p("ren/e")),
                                                  os.rename(ctx.p("ren/exdir"), ctx.p("ren/e")))
             and None)
    ctx.ls("ren/e")
    ctx.call("into missing dir", os.rename, ctx.p("ren/ex_b"), ctx.p("nope/x"))
    ctx.call("long target name", os.rename, ctx.p("ren/ex_b"), ctx.p("ren/" + "z" * 256))
    ctx.call("lower symlink", os.rename, ctx.p("d/sym_dir"), ctx.p("ren/sym_dir"))
    ctx.call("through moved symlink", os.listdir, ctx.p("ren/sym_dir"))
    ctx.call("lower fifo", os.rename, ctx.p("d/fifo"), ctx.p("ren/fifo"))
    ctx.st("ren/fifo", times=False)
    ctx.call("lower device", os.rename, ctx.p("d/chr"), ctx.p("ren/chr"))
    ctx.st("ren/chr", times=False)
    ctx.call("opaque dir", os.rename, ctx.p("opq"), ctx.p("ren/opq"))
    ctx.ls("ren/opq")
    ctx.call("merged 3-layer dir", os.rename, ctx.p("merge"), ctx.p("ren/merge"))
    ctx.ls("ren/merge")
    ctx.ls("ren/merge/sub")
    ctx.ls("ren")
    ctx.ls("", "ls /")


@case
def rename_noreplace(ctx):
    N = sysx.RENAME_NOREPLACE
    ctx.call("onto lower file", sysx.renameat2, ctx.p("ren/ex_a"), ctx.p("ren/ex_b"), N)
    ctx.text("ren/ex_b")
    ctx.call("onto upper file", lambda: (ctx.write("ren/u", b"u"),
                                         sysx.renameat2(ctx.p("ren/ex_a"), ctx.p("ren/u"), N)) and None)
    ctx.call("onto new name", sysx.renameat2, ctx.p("ren/ex_a"), ctx.p("ren/ex_new"), N)
    ctx.text("ren/ex_new")
    ctx.call("onto whited-out name", sysx.renameat2, ctx.p("ren/ex_new"), ctx.p("ren/wh_target"), N)
    ctx.text("ren/wh_target")
    ctx.call("onto name unlinked by us", lambda: (os.unlink(ctx.p("ren/tfile")),
                                                  sysx.renameat2(ctx.p("ren/wh_target"),
                                                                 ctx.p("ren/tfile"), N)) and None)
    ctx.text("ren/tfile")
    ctx.call("dir onto lower dir", sysx.renameat2, ctx.p("ren/ldir"), ctx.p("ren/tdir"), N)
    ctx.call("lower dir onto new name", sysx.renameat2, ctx.p("ren/ldir"), ctx.p("ren/ldir2"), N)
    ctx.ls("ren/ldir2")
    ctx.call("dir onto removed dir", lambda: (os.rmdir(ctx.p("ren/tdir")),
                                              sysx.renameat2(ctx.p("ren/ldir2"), ctx.p("ren/tdir"),
                                                             N)) and None)
    ctx.ls("ren/tdir", "ls ren/tdir after")
    ctx.ls("ren")


@case
def rename_exchange(ctx):
    X = sysx.RENAME_EXCHANGE
    ctx.write("ren/u", b"upper\n")
    os.mkdir(ctx.p("ren/udir"))
    ctx.write("ren/udir/k", b"k\n")
    pairs = [("lower file <-> lower file", "ren/ex_a", "ren/ex_b"),
             ("lower file <-> upper file", "ren/ex_a", "ren/u"),
             ("lower dir <-> lower file", "ren/exdir", "ren/tfile"),
             ("lower dir <-> upper dir", "ren/ldir", "ren/udir"),
             ("merged dir <-> lower dir", "ren/bdir", "ren/tdir_full"),
             ("across dirs", "ren/ex_b", "d/empty"),
             ("with missing", "ren/ex_a", "ren/nope"),
             ("with whited-out name", "ren/ex_a", "ren/wh_target")]
    for label, a, b in pairs:
        before_a = _tree_sig(ctx, a) if os.path.lexists(ctx.p(a)) else None
        before_b = _tree_sig(ctx, b) if os.path.lexists(ctx.p(b)) else None
        ctx.call("exchange " + label, sysx.renameat2, ctx.p(a), ctx.p(b), X)
        now_a = _tree_sig(ctx, a) if os.path.lexists(ctx.p(a)) else None
        now_b = _tree_sig(ctx, b) if os.path.lexists(ctx.p(b)) else None
        ctx.rec("swapped " + label, now_a == before_b and now_b == before_a)
    ctx.ls("ren")
    ctx.ls("ren/ldir")
    ctx.ls("ren/udir")
    ctx.ls("ren/bdir")
    ctx.ls("ren/tdir_full")


@case
def rename_dir_with_lower_children(ctx):
    ino = ctx.ino("d/sub")
    ctx.call("rename d/sub /moved", os.rename, ctx.p("d/sub"), ctx.p("moved"))
    ctx.ls("moved")
    ctx.ls("moved/deep")
    ctx.text("moved/deep/c")
    ctx.st("moved", times=False)
    ctx.xattrs("moved")
    ctx.rec("same st_ino", ctx.ino("moved") == ino)
    ctx.st("d/sub")
    ctx.ls("d")
    ctx.call("mkdir d/sub again", os.mkdir, ctx.p("d/sub"))
    ctx.ls("d/sub", "ls new d/sub")
    ctx.call("write in moved", ctx.write, "moved/a", b"changed")
    ctx.text("moved/a")
    ctx.call("rename moved/deep out", os.rename, ctx.p("moved/deep"), ctx.p("deep2"))
    ctx.ls("deep2")
    ctx.ls("moved", "ls moved after")
    ctx.call("rename new d/sub away, moved back", lambda: (
        os.rename(ctx.p("d/sub"), ctx.p("tmpsub")), os.rename(ctx.p("moved"), ctx.p("d/sub")))
        and None)
    ctx.ls("d/sub", "ls d/sub restored")
    ctx.call("rename top-level lower dir", os.rename, ctx.p("d"), ctx.p("d_renamed"))
    ctx.text("d_renamed/file")
    ctx.rec("hl group after dir rename", ctx.ino("d_renamed/hl1") == ctx.ino("other/hl3"))


# --- hard links -----------------------------------------------------------------

@case
def link(ctx):
    ctx.call("link lower file", os.link, ctx.p("d/file"), ctx.p("d/file_link"))
    for r in ("d/file", "d/file_link"):
        ctx.st(r, "stat %s after link" % r, times=False)
    ctx.rec("st_ino equal", ctx.ino("d/file") == ctx.ino("d/file_link"))
    ctx.call("write via one name", ctx.write, "d/file_link", b"via link\n",
             os.O_WRONLY | os.O_TRUNC)
    ctx.text("d/file", "d/file sees write via link")
    ctx.call("link lower hard-link group", os.link, ctx.p("d/hl1"), ctx.p("other/hl4"))
    for r in ("d/hl1", "d/hl2", "other/hl3", "other/hl4"):
        ctx.st(r, "stat %s in group" % r, times=False)
    ctx.rec("group st_ino equal", len({ctx.ino(r) for r in ("d/hl1", "d/hl2", "other/hl3",
                                                             "other/hl4")}) == 1)
    ctx.call("link dir", os.link, ctx.p("d/sub"), ctx.p("sublink"))
    ctx.call("link onto existing", os.link, ctx.p("d/exec"), ctx.p("d/empty"))
    ctx.call("link missing", os.link, ctx.p("nope"), ctx.p("nope2"))
    ctx.write("up", b"up")
    ctx.call("link upper file", os.link, ctx.p("up"), ctx.p("d/up_link"))
    ctx.st("d/up_link", times=False)
    ctx.call("link lower symlink (not followed)", os.link, ctx.p("d/sym_rel"), ctx.p("symhl"),
             follow_symlinks=False)
    ctx.st("symhl", times=False)
    ctx.call("link lower fifo", os.link, ctx.p("d/fifo"), ctx.p("fifohl"))
    ctx.st("fifohl", times=False)
    ctx.call("link lower char device", os.link, ctx.p("d/chr"), ctx.p("chrhl"))
    ctx.st("chrhl", times=False)
    ctx.call("link into whited-out name", os.link, ctx.p("d/exec"), ctx.p("wh/gone_file"))
    ctx.st("wh/gone_file", times=False)
    ctx.call("link long name", os.link, ctx.p("d/exec"), ctx.p("n" * 256))
    ctx.call("unlink d/file", os.unlink, ctx.p("d/file"))
    ctx.st("d/file_link", "file_link after unlink of d/file", times=False)
    ctx.ls("d")


@case
def hardlinks_copy_up(ctx):
    group = ("d/hl1", "d/hl2", "other/hl3")
    for r in group:
        ctx.st(r, "before " + r, times=False)
    ino = ctx.ino("d/hl1")
    with open(ctx.p("d/hl1"), "ab") as f:
        f.write(b"appended\n")
    for r in group:
        ctx.st(r, "after append " + r, times=False)
        ctx.text(r, "text after append " + r)
        ctx.rec("st_ino unchanged " + r, ctx.ino(r) == ino)
    ctx.call("chmod hl2", os.chmod, ctx.p("d/hl2"), 0o600)
    for r in group:
        ctx.st(r, "after chmod hl2 " + r, times=False)
    ctx.call("link hl3 -> new", os.link, ctx.p("other/hl3"), ctx.p("hl_new"))
    ctx.st("hl_new", times=False)
    ctx.call("unlink hl2", os.unlink, ctx.p("d/hl2"))
    for r in ("d/hl1", "other/hl3", "hl_new"):
        ctx.st(r, "after unlink hl2 " + r, times=False)
    ctx.drop_caches()
    for r in ("d/hl1", "other/hl3", "hl_new"):
        ctx.st(r, "after drop_caches " + r, times=False)
        ctx.rec("st_ino after drop_caches " + r, ctx.ino(r) == ino)
    ctx.xattrs("other/hl3")
    # The same changes again, looked at at once and once more after 1.2 s
    # (longer than a FUSE attribute timeout of 1 s): stale-for-a-while and
    # wrong-for-good show apart.
    with open(ctx.p("d/hl1"), "ab") as f:
        f.write(b"again\n")
    os.chmod(ctx.p("other/hl3"), 0o644)
    os.link(ctx.p("d/hl1"), ctx.p("hl_more"))
    for when in ("at once", "after 1.2 s"):
        if when != "at once":
            time.sleep(1.2)
        for r in ("d/hl1", "other/hl3", "hl_new", "hl_more"):
            ctx.st(r, "%s: %s" % (when, r), times=False)
            ctx.text(r, "%s: text %s" % (when, r))


# --- file I/O -------------------------------------------------------------------

@case
def open_read_write(ctx):
    ctx.call("read lower", lambda: open(ctx.p("d/file"), "rb").read().decode())
    fd_old = os.open(ctx.p("chg"), os.O_RDONLY)
    try:
        ctx.call("O_WRONLY write at 1", lambda: (
            lambda fd: (os.pwrite(fd, b"XX", 1), os.close(fd)))(os.open(ctx.p("chg"), os.O_WRONLY))
            and None)
        ctx.text("chg")
        ctx.rec("fd opened before copy-up reads", os.pread(fd_old, 64, 0).decode())
    finally:
        os.close(fd_old)
    ctx.call("O_TRUNC lower", lambda: os.close(os.open(ctx.p("d/exec"), os.O_WRONLY | os.O_TRUNC)))
    ctx.st("d/exec", times=False)
    ctx.call("O_APPEND lower", lambda: (lambda fd: (os.write(fd, b"+app"), os.close(fd)))(
        os.open(ctx.p("d/sub/a"), os.O_WRONLY | os.O_APPEND)) and None)
    ctx.text("d/sub/a")
    ctx.call("O_APPEND pwrite at 0 appends", lambda: (lambda fd: (os.pwrite(fd, b"P", 0),
                                                                 os.close(fd)))(
        os.open(ctx.p("d/sub/b"), os.O_WRONLY | os.O_APPEND)) and None)
    ctx.text("d/sub/b")
    ctx.call("O_CREAT|O_EXCL existing lower", os.open, ctx.p("d/empty"),
             os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    ctx.call("O_CREAT|O_EXCL over whiteout", lambda: os.close(os.open(
        ctx.p("wh/gone_file"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)))
    ctx.st("wh/gone_file", times=False)
    ctx.call("O_CREAT existing (no excl) keeps content", lambda: os.close(os.open(
        ctx.p("d/setuid"), os.O_RDONLY | os.O_CREAT, 0o600)))
    ctx.st("d/setuid", times=False)
    ctx.call("O_CREAT new mode 0641", lambda: os.close(os.open(
        ctx.p("newf"), os.O_WRONLY | os.O_CREAT, 0o641)))
    ctx.st("newf", times=False)
    ctx.call("open dir O_WRONLY", os.open, ctx.p("d/sub"), os.O_WRONLY)
    ctx.call("O_DIRECTORY on file", os.open, ctx.p("d/file"), os.O_RDONLY | os.O_DIRECTORY)
    ctx.call("O_NOFOLLOW on symlink", os.open, ctx.p("d/sym_rel"), os.O_RDONLY | os.O_NOFOLLOW)
    ctx.call("O_CREAT through dangling symlink", lambda: os.close(os.open(
        ctx.p("d/sym_dangling"), os.O_WRONLY | os.O_CREAT, 0o644)))
    ctx.st("d/missing", times=False)
    ctx.call("open fifo O_RDONLY|O_NONBLOCK", lambda: os.close(os.open(
        ctx.p("d/fifo"), os.O_RDONLY | os.O_NONBLOCK)))
    ctx.call("O_RDWR write then read same fd", lambda: (lambda fd: (
        os.write(fd, b"hello"), os.lseek(fd, 0, 0), os.read(fd, 64).decode(),
        os.close(fd)))(os.open(ctx.p("d/empty"), os.O_RDWR))[2])
    ctx.call("read big lower", file_sha, ctx.p("big"))
    ctx.call("pread big at 5 MiB", lambda: os.pread(
        os.open(ctx.p("big"), os.O_RDONLY), 16, 5 << 20).hex())
    ctx.call("write into big lower at 4 MiB", lambda: (lambda fd: (
        os.pwrite(fd, b"MIDDLE", 4 << 20), os.close(fd)))(os.open(ctx.p("big"), os.O_WRONLY))
        and None)
    ctx.call("big after write", file_sha, ctx.p("big"))
    ctx.st("big", times=False)
    ctx.call("O_DIRECT read of lower", lambda: _direct_read(ctx.p("big")))


def _direct_read(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        buf = mmap.mmap(-1, 4096)
        n = os.readv(fd, [buf])
        return n
    finally:
        os.close(fd)


@case
def truncate(ctx):
    ctx.call("truncate lower to 3", os.truncate, ctx.p("d/file"), 3)
    ctx.text("d/file")
    ctx.st("d/file", times=False)
    ctx.rec("truncate set mtime to now", os.lstat(ctx.p("d/file")).st_mtime > image.T2)
    ctx.xattrs("d/file")
    ctx.call("truncate lower to 0", os.truncate, ctx.p("chg"), 0)
    ctx.st("chg", times=False)
    ctx.call("extend to 1 MiB", os.truncate, ctx.p("d/sub/a"), 1 << 20)
    ctx.content("d/sub/a")
    ctx.call("ftruncate O_RDONLY fd", lambda: (lambda fd: (os.ftruncate(fd, 1), ))(
        os.open(ctx.p("d/sub/b"), os.O_RDONLY)) and None)
    ctx.call("truncate dir", os.truncate, ctx.p("d/sub"), 0)
    ctx.call("truncate big to 1 MiB", os.truncate, ctx.p("big"), 1 << 20)
    ctx.content("big")
    ctx.call("truncate negative", os.truncate, ctx.p("l2/file"), -1)


@case
def fsync(ctx):
    fd = os.open(ctx.p("d/file"), os.O_RDONLY)
    ctx.call("fsync read-only lower fd", os.fsync, fd)
    ctx.call("fdatasync read-only lower fd", os.fdatasync, fd)
    os.close(fd)
    fd = os.open(ctx.p("d/file"), os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"x")
    ctx.call("fsync written", os.fsync, fd)
    ctx.call("fdatasync written", os.fdatasync, fd)
    os.close(fd)
    fd = os.open(ctx.p("d"), os.O_RDONLY | os.O_DIRECTORY)
    ctx.call("fsync dir", os.fsync, fd)
    os.close(fd)
    os.mkdir(ctx.p("nd"))
    fd = os.open(ctx.p("nd"), os.O_RDONLY | os.O_DIRECTORY)
    ctx.call("fsync upper dir", os.fsync, fd)
    os.close(fd)
    fd = os.open(ctx.p("d/file"), os.O_RDONLY)
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    r = libc.syncfs(fd)
    ctx.rec("syncfs", "ok" if r == 0 else errno.errorcode.get(ctypes.get_errno(), "?"))
    os.close(fd)
    ctx.text("d/file")


@case
def xattrs(ctx):
    for rel in ("d/file", "d/sub", "opq", "d/hl1", "wh", "rmd/allwh", "d/sym_rel", "d/fifo"):
        ctx.xattrs(rel)
    ctx.call("get user.k", os.getxattr, ctx.p("d/file"), "user.k")
    ctx.call("get missing", os.getxattr, ctx.p("d/file"), "user.nope")
    ctx.call("get trusted.overlay.opaque on opq", os.getxattr, ctx.p("opq"),
             "trusted.overlay.opaque")
    ctx.call("get trusted.overlay.opaque on merge", os.getxattr, ctx.p("merge"),
             "trusted.overlay.opaque")
    ctx.call("set user.new on lower file", os.setxattr, ctx.p("d/file"), "user.new", b"n")
    ctx.xattrs("d/file", "xattrs d/file after set")
    ctx.text("d/file", "content kept")
    ctx.st("d/file", "stat kept")
    ctx.call("XATTR_CREATE existing", os.setxattr, ctx.p("d/file"), "user.k", b"z",
             os.XATTR_CREATE)
    ctx.call("XATTR_REPLACE missing", os.setxattr, ctx.p("d/file"), "user.zz", b"z",
             os.XATTR_REPLACE)
    ctx.call("XATTR_REPLACE existing", os.setxattr, ctx.p("d/file"), "user.k", b"replaced",
             os.XATTR_REPLACE)
    ctx.call("get replaced", os.getxattr, ctx.p("d/file"), "user.k")
    ctx.call("remove user.big", os.removexattr, ctx.p("d/file"), "user.big")
    ctx.call("remove missing", os.removexattr, ctx.p("d/file"), "user.big")
    ctx.xattrs("d/file", "xattrs d/file at end")
    ctx.call("set on lower dir", os.setxattr, ctx.p("merge"), "user.m", b"m")
    ctx.ls("merge")
    ctx.xattrs("merge", "xattrs merge after set")
    ctx.call("remove from lower dir", os.removexattr, ctx.p("d/sub"), "user.dirattr")
    ctx.xattrs("d/sub", "xattrs d/sub after remove")
    ctx.call("set user.* on symlink", os.setxattr, ctx.p("d/sym_rel"), "user.s", b"s",
             follow_symlinks=False)
    ctx.call("set user.* on fifo", os.setxattr, ctx.p("d/fifo"), "user.s", b"s")
    ctx.call("set trusted.overlay.opaque", os.setxattr, ctx.p("d/sub"), "trusted.overlay.opaque",
             b"y")
    ctx.ls("d/sub")
    ctx.call("set trusted.overlay.foo", os.setxattr, ctx.p("d/exec"), "trusted.overlay.foo", b"1")
    ctx.call("set trusted.other", os.setxattr, ctx.p("d/exec"), "trusted.other", b"1")
    ctx.xattrs("d/exec")
    ctx.call("set 64 KiB value", os.setxattr, ctx.p("d/exec"), "user.huge", b"h" * 65536)
    ctx.call("set 60 KiB value", os.setxattr, ctx.p("d/exec"), "user.huge", b"h" * 61440)
    ctx.call("get 60 KiB value", lambda: len(os.getxattr(ctx.p("d/exec"), "user.huge")))
    ctx.call("name 255", os.setxattr, ctx.p("d/exec"), "user." + "k" * 250, b"1")
    ctx.call("name 256", os.setxattr, ctx.p("d/exec"), "user." + "k" * 251, b"1")
    ctx.call("unknown namespace", os.setxattr, ctx.p("d/exec"), "bogus.x", b"1")
    os.mkdir(ctx.p("newd"))
    os.rmdir(ctx.p("rmd/empty"))
    os.mkdir(ctx.p("rmd/empty"))
    os.unlink(ctx.p("wh/keep"))
    for rel in ("newd", "rmd/empty", "wh", "d"):
        ctx.xattrs(rel, "xattrs after changes " + rel)
    ctx.call("security.capability roundtrip", lambda: (
        os.setxattr(ctx.p("d/exec"), "security.capability",
                    bytes.fromhex("0100000200200000000000000000000000000000")),
        os.getxattr(ctx.p("d/exec"), "security.capability").hex())[1])


# --- attributes and copy-up ------------------------------------------------------

@case
def chmod_chown_utimes(ctx):
    ctx.call("chmod lower file", os.chmod, ctx.p("d/file"), 0o600)
    ctx.st("d/file", "after chmod")
    ctx.text("d/file")
    ctx.xattrs("d/file")
    ctx.call("chown lower file", os.chown, ctx.p("d/exec"), 1234, 5678)
    ctx.st("d/exec", "after chown")
    ctx.call("chown setuid file", os.chown, ctx.p("d/setuid"), 0, 0)
    ctx.st("d/setuid", "setuid after chown to same owner")
    ctx.call("chown setgid file gid only", os.chown, ctx.p("d/setgid"), -1, 3001)
    ctx.st("d/setgid", "setgid after chown")
    ctx.call("utime ns", os.utime, ctx.p("d/empty"),
             ns=(1_500_000_000_123_456_789, 1_600_000_000_987_654_321))
    st = os.lstat(ctx.p("d/empty"))
    ctx.rec("atime/mtime ns", [st.st_atime_ns, st.st_mtime_ns])
    ctx.call("utime mtime only (UTIME_OMIT atime)", lambda: _utimens(
        ctx.p("d/sub/a"), None, 1_700_000_000))
    st = os.lstat(ctx.p("d/sub/a"))
    ctx.rec("mtime after omit", st.st_mtime_ns)
    before = time.time() - 2
    ctx.call("utime now", os.utime, ctx.p("d/sub/b"))
    ctx.rec("mtime now is recent", os.lstat(ctx.p("d/sub/b")).st_mtime >= before)
    ctx.call("chmod lower dir", os.chmod, ctx.p("d/sub"), 0o711)
    ctx.st("d/sub", "dir after chmod")
    ctx.ls("d/sub")
    ctx.xattrs("d/sub")
    ctx.call("chown lower dir", os.chown, ctx.p("merge"), 42, 43)
    ctx.st("merge", "merge after chown")
    ctx.ls("merge")
    ctx.call("lchown lower symlink", os.chown, ctx.p("d/sym_rel"), 7, 8, follow_symlinks=False)
    ctx.st("d/sym_rel", "symlink after lchown")
    ctx.st("d/file", "target untouched by lchown", times=False)
    ctx.call("utime symlink nofollow", os.utime, ctx.p("d/sym_abs"), ns=(10**18, 10**18),
             follow_symlinks=False)
    ctx.st("d/sym_abs", "symlink after utime")
    ctx.call("chmod fifo", os.chmod, ctx.p("d/fifo"), 0o606)
    ctx.st("d/fifo", "fifo after chmod")
    ctx.call("chmod char device", os.chmod, ctx.p("d/chr"), 0o600)
    ctx.st("d/chr", "chr after chmod")
    ctx.call("chmod through symlink", os.chmod, ctx.p("d/sym_chain"), 0o640)
    ctx.st("d/file", "d/file after chmod through symlink")
    ctx.st("d/sym_chain", "chain itself")
    ctx.call("chmod sticky+setgid on dir", os.chmod, ctx.p("l2"), 0o3775)
    ctx.st("l2", "l2 after chmod")
    ctx.call("chmod 07777 on file", os.chmod, ctx.p("l2/file"), 0o7777)
    ctx.st("l2/file", "l2/file after chmod")


def _utimens(path, atime, mtime):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    UTIME_OMIT = (1 << 30) - 2

    class TS(ctypes.Structure):
        _fields_ = [("s", ctypes.c_long), ("ns", ctypes.c_long)]
    ts = (TS * 2)(TS(0, UTIME_OMIT) if atime is None else TS(atime, 0),
                  TS(0, UTIME_OMIT) if mtime is None else TS(mtime, 0))
    if libc.utimensat(-100, os.fsencode(path), ts, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


COPY_UP_ENTRIES = ["d/file", "d/exec", "d/setuid", "d/setgid", "d/mode0000", "d/empty",
                   "d/sub", "d/sym_rel", "d/sym_owned", "d/fifo", "d/chr", "d/blk", "d/hl1",
                   "sparse_lower", "big", "merge", "opq", "typechg", "l1gone"]


@case
def copy_up_every_type(ctx):
    """Copy-up by chown to the same owner (every type, symlinks not
    followed) and by a user xattr (files and dirs): everything but ctime is
    kept, and the entry lands in the upper with its type."""
    for rel in COPY_UP_ENTRIES:
        st = os.lstat(ctx.p(rel))
        before = summ(st)
        ino = st.st_ino
        xat = ctx.xattrs(rel, "xattrs before " + rel)
        data = file_sha(ctx.p(rel)) if stat.S_ISREG(st.st_mode) else None
        listing = sorted(os.listdir(ctx.p(rel))) if stat.S_ISDIR(st.st_mode) else None
        ctx.call("chown same owner " + rel, os.chown, ctx.p(rel), st.st_uid, st.st_gid,
                 follow_symlinks=False)
        st2 = os.lstat(ctx.p(rel))
        ctx.rec("after chown " + rel, summ(st2))
        ctx.rec("unchanged by chown " + rel, summ(st2) == before)
        ctx.rec("st_ino kept " + rel, st2.st_ino == ino)
        ctx.rec("nanosecond mtime " + rel, st2.st_mtime_ns == st.st_mtime_ns)
        ctx.rec("upper holds " + rel, ctx.upper_has(rel))
        if data is not None:
            ctx.rec("content kept " + rel, file_sha(ctx.p(rel)) == data)
        if listing is not None:
            ctx.rec("children kept " + rel, sorted(os.listdir(ctx.p(rel))) == listing)
        ctx.rec("xattrs kept " + rel, ctx.xattrs(rel, "xattrs after " + rel) == xat)
    for rel in ("d/sub/deep/c", "l2/file", "merge/sub/a0"):
        ctx.call("setxattr copy-up " + rel, os.setxattr, ctx.p(rel), "user.cu", b"1")
        ctx.st(rel, "after setxattr " + rel)
        parent = os.path.dirname(rel)
        ctx.st(parent, "parent after child's copy-up " + parent)
        ctx.xattrs(parent, "parent xattrs " + parent)
        ctx.rec("upper holds parent " + parent, ctx.upper_has(parent))
    ctx.st("d/sub", "d/sub (grandparent) after")
    ctx.st("d", "d after")
    # The same once the kernel has forgotten what it cached (an attribute
    # timeout can hide what the upper really holds).
    ctx.drop_caches()
    for rel in sorted(set(COPY_UP_ENTRIES) | {"d", "d/sub/deep", "other", "l2", "merge/sub"}):
        ctx.st(rel, "after drop_caches " + rel)


# --- permissions as another user ------------------------------------------------------

def _nonroot(c):
    for rel in ("d/file", "d/mode0000", "user/own", "user/ro", "user/group_rw", "priv/f",
                "pub/root_file", "pub/world_writable", "d/exec", "d/sub", "priv"):
        for name, m in (("R", os.R_OK), ("W", os.W_OK), ("X", os.X_OK)):
            c.call("access %s %s" % (name, rel), os.access, c.p(rel), m)
    c.call("read root 0644", lambda: open(c.p("pub/root_file"), "rb").read().decode())
    c.call("read mode 0000", lambda: open(c.p("d/mode0000"), "rb").read())
    c.call("write root 0644", lambda: os.open(c.p("pub/root_file"), os.O_WRONLY) and None)
    c.call("write world-writable lower", lambda: (lambda fd: (os.write(fd, b"W"), os.close(fd)))(
        os.open(c.p("pub/world_writable"), os.O_WRONLY | os.O_APPEND)) and None)
    c.st("pub/world_writable", "world-writable after write", times=False)
    c.call("append own lower 0600", lambda: (lambda fd: (os.write(fd, b"mine"), os.close(fd)))(
        os.open(c.p("user/own"), os.O_WRONLY | os.O_APPEND)) and None)
    c.st("user/own", "own after write", times=False)
    c.xattrs("user/own", "own xattrs after write")
    c.call("read own", lambda: open(c.p("user/own"), "rb").read().decode())
    c.call("write own 0444", lambda: os.open(c.p("user/ro"), os.O_WRONLY) and None)
    c.call("write group rw", lambda: (lambda fd: (os.write(fd, b"g"), os.close(fd)))(
        os.open(c.p("user/group_rw"), os.O_WRONLY | os.O_APPEND)) and None)
    c.call("create in root dir", lambda: os.open(c.p("pub/new"), os.O_WRONLY | os.O_CREAT, 0o644)
           and None)
    c.call("create in own dir", lambda: os.close(os.open(c.p("user/new"),
                                                         os.O_WRONLY | os.O_CREAT, 0o640)))
    c.st("user/new", "new file owner", times=False)
    c.call("mkdir in own dir", os.mkdir, c.p("user/newdir"), 0o750)
    c.st("user/newdir", "new dir owner", times=False)
    c.call("create in sticky", lambda: os.close(os.open(c.p("sticky/mine"),
                                                        os.O_WRONLY | os.O_CREAT, 0o644)))
    c.call("unlink other's file in sticky", os.unlink, c.p("sticky/root_file"))
    c.call("unlink own file in sticky", os.unlink, c.p("sticky/user_file"))
    c.call("rename other's file in sticky", os.rename, c.p("sticky/root_file"), c.p("sticky/r2"))
    c.call("unlink in root dir", os.unlink, c.p("pub/root_file"))
    c.call("chmod other's", os.chmod, c.p("pub/root_file"), 0o777)
    c.call("chmod own lower", os.chmod, c.p("user/ro"), 0o644)
    c.st("user/ro", "ro after chmod", times=False)
    c.call("chown own to root", os.chown, c.p("user/ro"), 0, 0)
    c.call("chgrp own to a group not ours", os.chown, c.p("user/ro"), -1, 0)
    c.call("utime other's to now", os.utime, c.p("pub/root_file"))
    c.call("utime world-writable to now", os.utime, c.p("pub/world_writable"))
    c.call("utime own explicit", os.utime, c.p("user/ro"), (5, 5))
    c.call("utime other's explicit", os.utime, c.p("pub/world_writable"), (5, 5))
    c.call("list private dir", os.listdir, c.p("priv"))
    c.call("stat in private dir", os.stat, c.p("priv/f"))
    c.call("set user xattr on own", os.setxattr, c.p("user/own"), "user.x", b"1")
    c.call("set user xattr on other's", os.setxattr, c.p("pub/world_writable"), "user.x", b"1")
    c.call("set trusted xattr", os.setxattr, c.p("user/own"), "trusted.x", b"1")
    c.call("list trusted xattrs as user", lambda: sorted(os.listxattr(c.p("opq"))))
    c.call("exec lower script", lambda: subprocess.run([c.p("d/exec")], capture_output=True,
                                                      text=True).stdout)
    c.call("mknod fifo in own dir", os.mknod, c.p("user/fifo"), stat.S_IFIFO | 0o644)
    c.call("mknod chr in own dir", os.mknod, c.p("user/chr"), stat.S_IFCHR | 0o644,
           os.makedev(1, 3))
    c.call("link to other's file (protected_hardlinks)", os.link, c.p("pub/root_file"),
           c.p("user/hl"))
    c.call("rename own lower into root dir", os.rename, c.p("user/ro"), c.p("pub/ro"))
    c.call("rmdir own lower dir", os.rmdir, c.p("user/newdir"))
    c.call("setgid dir: create", lambda: os.close(os.open(c.p("sgid_dir/x"),
                                                          os.O_WRONLY | os.O_CREAT, 0o644)))
    c.call("truncate other's", os.truncate, c.p("pub/root_file"), 0)
    c.call("truncate own lower", os.truncate, c.p("user/own"), 1)


@case
def permissions_as_nonroot(ctx):
    os.chmod(ctx.p("sgid_dir"), 0o2777)  # writable for the user, setgid kept
    ctx.as_user(1000, 1000, _nonroot)
    ctx.st("user/own", "own as root sees", times=False)
    ctx.text("user/own", "own content as root sees")
    ctx.st("sgid_dir/x", "file created in setgid dir", times=False)
    ctx.ls("user")
    ctx.ls("sticky")


@case
def access_supplementary_groups(ctx):
    def f(c):
        c.call("write group rw via supplementary", lambda: (lambda fd: (os.write(fd, b"s"),
                                                                     os.close(fd)))(
            os.open(c.p("user/group_rw"), os.O_WRONLY | os.O_APPEND)) and None)
        c.call("access W group_rw", os.access, c.p("user/group_rw"), os.W_OK)
        c.call("setgid exec readable", os.access, c.p("d/setgid"), os.R_OK)
    ctx.as_user(2000, 2000, f, groups=[1000])
    ctx.text("user/group_rw", "group_rw after")


# --- allocation, holes, copy_file_range ------------------------------------------------

@case
def fallocate(ctx):
    fd = os.open(ctx.p("d/file"), os.O_RDWR)
    try:
        ctx.call("fallocate mode 0 extend lower", sysx.fallocate, fd, 0, 0, 1 << 20)
        ctx.rec("size after", os.fstat(fd).st_size)
        ctx.call("fallocate KEEP_SIZE", sysx.fallocate, fd, sysx.FALLOC_FL_KEEP_SIZE, 1 << 20,
                 1 << 20)
        ctx.rec("size after keep", os.fstat(fd).st_size)
        ctx.call("punch hole", sysx.fallocate, fd,
                 sysx.FALLOC_FL_PUNCH_HOLE | sysx.FALLOC_FL_KEEP_SIZE, 0, 4096)
        ctx.rec("after punch: first 16 bytes", os.pread(fd, 16, 0).hex())
        ctx.call("zero range", sysx.fallocate, fd, sysx.FALLOC_FL_ZERO_RANGE, 4096, 4096)
        ctx.call("punch without keep size", sysx.fallocate, fd, sysx.FALLOC_FL_PUNCH_HOLE, 0, 10)
    finally:
        os.close(fd)
    fd = os.open(ctx.p("d/exec"), os.O_RDONLY)
    try:
        ctx.call("fallocate read-only fd", sysx.fallocate, fd, 0, 0, 4096)
    finally:
        os.close(fd)
    ctx.call("posix_fallocate new file", lambda: (lambda fd: (os.posix_fallocate(fd, 0, 65536),
                                                             os.close(fd)))(
        os.open(ctx.p("pf"), os.O_RDWR | os.O_CREAT, 0o644)) and None)
    ctx.st("pf", times=False)
    ctx.xattrs("d/file")


@case
def seek_data_hole(ctx):
    fd = os.open(ctx.p("sparse"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, b"a" * 4096, 0)
        os.pwrite(fd, b"b" * 4096, 1 << 20)
        os.ftruncate(fd, 2 << 20)
        os.fsync(fd)
        for label, off, whence in [("DATA 0", 0, os.SEEK_DATA), ("HOLE 0", 0, os.SEEK_HOLE),
                                   ("DATA 8192", 8192, os.SEEK_DATA),
                                   ("HOLE 1MiB", 1 << 20, os.SEEK_HOLE),
                                   ("DATA 1MiB+8192", (1 << 20) + 8192, os.SEEK_DATA),
                                   ("HOLE past EOF", 3 << 20, os.SEEK_HOLE),
                                   ("DATA at EOF", 2 << 20, os.SEEK_DATA),
                                   ("END", 0, os.SEEK_END)]:
            ctx.call("upper sparse " + label, os.lseek, fd, off, whence)
        ctx.rec("st_blocks small", os.fstat(fd).st_blocks * 512 < (1 << 20))
    finally:
        os.close(fd)
    fd = os.open(ctx.p("sparse_lower"), os.O_RDONLY)
    try:
        ctx.call("lower HOLE 0", os.lseek, fd, 0, os.SEEK_HOLE)
        ctx.call("lower DATA 100", os.lseek, fd, 100, os.SEEK_DATA)
        ctx.call("lower DATA past EOF", os.lseek, fd, 10 << 20, os.SEEK_DATA)
    finally:
        os.close(fd)


@case
def copy_file_range(ctx):
    src = os.open(ctx.p("big"), os.O_RDONLY)
    dst = os.open(ctx.p("cfr"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        total = 0
        while total < image.BIG_SIZE:
            n = os.copy_file_range(src, dst, image.BIG_SIZE - total)
            if n == 0:
                break
            total += n
        ctx.rec("copied", total)
    except OSError as e:
        ctx.rec("copied", err(e))
    finally:
        os.close(src)
        os.close(dst)
    ctx.call("content equal", lambda: file_sha(ctx.p("cfr")) == file_sha(ctx.p("big")))
    a = os.open(ctx.p("cfr"), os.O_RDONLY)
    b = os.open(ctx.p("d/file"), os.O_WRONLY)
    try:
        ctx.call("upper -> lower file (copy-up) at offsets", os.copy_file_range, a, b, 100, 10, 4)
    finally:
        os.close(a)
        os.close(b)
    ctx.content("d/file")
    a = os.open(ctx.p("d/exec"), os.O_RDONLY)
    try:
        ctx.call("into read-only fd", os.copy_file_range, a, a, 4, 0, 100)
    finally:
        os.close(a)


# --- locks, statfs, inodes -------------------------------------------------------

@case
def locks(ctx):
    path = ctx.p("d/file")
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)

        def other_flock():
            f2 = os.open(path, os.O_RDONLY)
            try:
                fcntl.flock(f2, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return "ok"
            except OSError as e:
                return err(e)
        ctx.rec("flock: other process LOCK_SH|NB while held", ctx.in_child(other_flock))
        fcntl.flock(fd, fcntl.LOCK_UN)
        ctx.rec("flock: after release", ctx.in_child(other_flock))
        sysx.setlk(fd, fcntl.F_WRLCK, 0, 100)
        me = os.getpid()

        def other_posix():
            f2 = os.open(path, os.O_RDWR)
            try:
                t, pid = sysx.getlk(f2, fcntl.F_WRLCK, 10, 10)
                out = {"getlk type": t, "getlk pid is holder": pid == me}
                try:
                    sysx.setlk(f2, fcntl.F_RDLCK, 50, 10)
                    out["setlk overlapping"] = "ok"
                except OSError as e:
                    out["setlk overlapping"] = err(e)
                try:
                    sysx.setlk(f2, fcntl.F_WRLCK, 200, 10)
                    out["setlk disjoint"] = "ok"
                except OSError as e:
                    out["setlk disjoint"] = err(e)
                return out
            finally:
                os.close(f2)
        ctx.rec("posix locks from other process", ctx.in_child(other_posix))
        sysx.setlk(fd, fcntl.F_UNLCK, 0, 100)
        ctx.rec("posix after unlock", ctx.in_child(other_posix))
        # A lock through a hard link's other name is the same file's lock.
        fcntl.flock(fd, fcntl.LOCK_EX)
    finally:
        os.close(fd)
    fd = os.open(ctx.p("d/hl1"), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)

        def via_other_name():
            f2 = os.open(ctx.p("d/hl2"), os.O_RDONLY)
            try:
                fcntl.flock(f2, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return "ok"
            except OSError as e:
                return err(e)
        ctx.rec("flock via other hard-link name", ctx.in_child(via_other_name))
    finally:
        os.close(fd)


@case
def statfs(ctx):
    st = os.statvfs(ctx.root)
    backing = os.statvfs(ctx.mount.upper or "/tmp")
    ctx.rec("f_blocks equals upper filesystem's", st.f_blocks * st.f_frsize ==
            backing.f_blocks * backing.f_frsize)
    ctx.rec("f_files equals upper filesystem's", st.f_files == backing.f_files)
    ctx.rec("f_namemax", st.f_namemax)
    ctx.rec("f_bsize", st.f_bsize)
    ctx.rec("f_frsize", st.f_frsize)
    ctx.rec("free within 1%", abs(st.f_bavail * st.f_frsize - backing.f_bavail * backing.f_frsize)
            <= 0.01 * backing.f_blocks * backing.f_frsize)
    ctx.call("statvfs of a lower file", lambda: os.statvfs(ctx.p("d/file")).f_blocks == st.f_blocks)
    opts = __import__("providers").mount_options(ctx.root) or set()
    ctx.rec("mount flags", sorted(o for o in opts if o in ("ro", "nosuid", "nodev", "noexec")))
    ctx.info["fstype"] = sorted(o for o in opts if o.startswith("fstype="))


@case
def inode_numbers(ctx):
    ctx.write("up_file", b"u")
    os.mkdir(ctx.p("up_dir"))
    os.mknod(ctx.p("up_fifo"), stat.S_IFIFO | 0o644)
    os.mknod(ctx.p("up_sock"), stat.S_IFSOCK | 0o644)
    os.mknod(ctx.p("up_chr"), stat.S_IFCHR | 0o644, os.makedev(1, 3))
    os.symlink("x", ctx.p("up_sym"))
    with open(ctx.p("chg"), "ab") as f:
        f.write(b"+")
    paths = LOWER_ENTRIES + ["up_file", "up_dir", "up_fifo", "up_sock", "up_chr", "up_sym"]
    before = {r: ctx.ino(r) for r in paths}
    hard = {"d/hl1", "d/hl2", "other/hl3"}
    distinct = {v for r, v in before.items() if r not in hard} | {before["d/hl1"]}
    ctx.rec("distinct per file (hard links equal)",
            len(distinct) == len(paths) - len(hard) + 1 and
            len({before[r] for r in hard}) == 1)
    ctx.rec("root st_ino distinct", os.lstat(ctx.root).st_ino not in distinct)
    for rnd in range(3):
        ctx.drop_caches()
        after = {r: ctx.ino(r) for r in paths}
        ctx.rec("changed after drop_caches #%d" % rnd, sorted(r for r in paths
                                                               if after[r] != before[r]))
        for r in ("up_fifo", "up_sock", "up_chr", "up_sym", "d/fifo", "d/chr", "d/blk"):
            ctx.st(r, "%s after drop_caches #%d" % (r, rnd), times=False)
    ino = ctx.ino("d/exec")
    os.chmod(ctx.p("d/exec"), 0o700)
    ctx.rec("copy-up keeps st_ino", ctx.ino("d/exec") == ino)
    ctx.drop_caches()
    ctx.rec("copy-up keeps st_ino after drop_caches", ctx.ino("d/exec") == ino)
    ctx.rec("dir st_ino after child created", ctx.ino("d") == before["d"])
    ino = ctx.ino("up_file")
    os.rename(ctx.p("up_file"), ctx.p("d/sub/up_file"))
    ctx.drop_caches()
    ctx.rec("rename keeps st_ino after drop_caches", ctx.ino("d/sub/up_file") == ino)
    ctx.rec("reused: new file's ino differs from deleted", (lambda old: (
        os.unlink(ctx.p("d/empty")), ctx.write("d/empty", b"n"),
        ctx.ino("d/empty") != old)[2])(ctx.ino("d/empty")))


@case
def nodes_after_drop_caches(ctx):
    os.mkdir(ctx.p("nodes"))
    os.mknod(ctx.p("nodes/fifo"), stat.S_IFIFO | 0o644)
    os.mknod(ctx.p("nodes/sock"), stat.S_IFSOCK | 0o644)
    os.mknod(ctx.p("nodes/chr"), stat.S_IFCHR | 0o644, os.makedev(1, 3))
    os.mknod(ctx.p("nodes/blk"), stat.S_IFBLK | 0o644, os.makedev(7, 2))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(ctx.p("nodes/bound"))
    s.listen(4)
    try:
        for rnd in range(2):
            ctx.drop_caches()
            ctx.ls("nodes", "ls nodes #%d" % rnd)
            for n in ("fifo", "sock", "chr", "blk", "bound"):
                ctx.st("nodes/" + n, "nodes/%s #%d" % (n, rnd), times=False)
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            ctx.call("connect bound #%d" % rnd, c.connect, ctx.p("nodes/bound"))
            c.close()
        # A fifo's two ends meet through the path even after the kernel forgot it.
        ctx.drop_caches()

        def writer():
            fd = os.open(ctx.p("nodes/fifo"), os.O_WRONLY)
            os.write(fd, b"through the fifo")
            os.close(fd)
            return "ok"
        t = threading.Thread(target=writer)
        t.start()
        fd = os.open(ctx.p("nodes/fifo"), os.O_RDONLY)
        ctx.rec("fifo read", os.read(fd, 64).decode())
        os.close(fd)
        t.join()
    finally:
        s.close()


@case
def open_unlinked(ctx):
    ctx.write("u", b"upper")
    fd = os.open(ctx.p("u"), os.O_RDWR)
    os.unlink(ctx.p("u"))
    ctx.rec("upper: fstat nlink after unlink", os.fstat(fd).st_nlink)
    ctx.rec("upper: read after unlink", os.pread(fd, 16, 0).decode())
    ctx.call("upper: write after unlink", os.pwrite, fd, b"X", 0)
    os.close(fd)
    fd = os.open(ctx.p("d/file"), os.O_RDONLY)
    os.unlink(ctx.p("d/file"))
    ctx.rec("lower: fstat nlink after unlink", os.fstat(fd).st_nlink)
    ctx.rec("lower: read after unlink", os.pread(fd, 16, 0).decode())
    os.close(fd)
    fd = os.open(ctx.p("d/hl1"), os.O_RDONLY)
    os.unlink(ctx.p("d/hl2"))
    ctx.rec("hard link: fstat nlink after other name unlinked", os.fstat(fd).st_nlink)
    ctx.st("d/hl1", "hl1 stat after unlink hl2", times=False)
    os.close(fd)
    fd = os.open(ctx.p("d/exec"), os.O_RDWR)
    os.write(fd, b"#")
    os.unlink(ctx.p("d/exec"))
    ctx.rec("copied-up: fstat nlink after unlink", os.fstat(fd).st_nlink)
    ctx.rec("copied-up: fstat size after unlink", os.fstat(fd).st_size)
    os.close(fd)
    fd = os.open(ctx.p("x"), os.O_RDWR | os.O_CREAT, 0o644)
    os.link(ctx.p("x"), ctx.p("x2"))
    ctx.rec("new file: fstat nlink after link", os.fstat(fd).st_nlink)
    os.unlink(ctx.p("x"))
    os.unlink(ctx.p("x2"))
    ctx.rec("new file: fstat nlink after both unlinked", os.fstat(fd).st_nlink)
    os.close(fd)
    fd = os.open(ctx.p("d/sub"), os.O_RDONLY | os.O_DIRECTORY)
    for n in ("a", "b"):
        os.unlink(ctx.p("d/sub/" + n))
    os.unlink(ctx.p("d/sub/deep/c"))
    os.rmdir(ctx.p("d/sub/deep"))
    os.rmdir(ctx.p("d/sub"))
    ctx.call("removed dir: fstat nlink", lambda: os.fstat(fd).st_nlink)
    ctx.call("removed dir: fchdir + listdir .", lambda: (os.fchdir(fd), os.listdir("."))[1])
    os.chdir("/")
    os.close(fd)


@case
def long_names(ctx):
    n255, n256 = "a" * 255, "a" * 256
    ctx.call("create 255", lambda: os.close(os.open(ctx.p(n255), os.O_WRONLY | os.O_CREAT, 0o644)))
    ctx.call("create 256", os.open, ctx.p(n256), os.O_WRONLY | os.O_CREAT, 0o644)
    ctx.call("lookup 256", os.stat, ctx.p(n256))
    ctx.call("mkdir 256", os.mkdir, ctx.p(n256))
    ctx.call("symlink 256", os.symlink, "x", ctx.p(n256))
    ctx.call("mknod 256", os.mknod, ctx.p(n256), stat.S_IFIFO | 0o644)
    ctx.call("link 256", os.link, ctx.p(n255), ctx.p(n256))
    ctx.call("rename to 256", os.rename, ctx.p(n255), ctx.p(n256))
    ctx.call("rename lower 255 to 255", os.rename, ctx.p("names/" + image.LONG_NAME),
             ctx.p("b" * 255))
    ctx.ls("names")
    ctx.call("path of 4096", os.stat, ctx.p("/".join(["x" * 200] * 21)))
    ctx.call("unlink 256", os.unlink, ctx.p(n256))


@case
def whiteouts_and_opaque(ctx):
    for rel in ("wh", "opq", "merge", "merge/sub", "l1", "rmd", "rmd/allwh", "ren"):
        ctx.ls(rel)
    ctx.st("typechg")
    ctx.text("l1gone")
    ctx.text("chg")
    ctx.st("modeonly")
    ctx.call("create whited-out file", ctx.write, "wh/gone_file", b"again", os.O_WRONLY |
             os.O_CREAT | os.O_EXCL, 0o600)
    ctx.text("wh/gone_file")
    ctx.st("wh/gone_file", "recreated stat", times=False)
    ctx.call("mkdir whited-out dir", os.mkdir, ctx.p("wh/gone_dir"))
    ctx.ls("wh/gone_dir")
    ctx.ls("wh", "ls wh after")
    ctx.call("create old name in opaque dir", ctx.write, "opq/old1", b"fresh", os.O_WRONLY |
             os.O_CREAT | os.O_EXCL)
    ctx.text("opq/old1")
    ctx.ls("opq", "ls opq after")
    ctx.call("mkdir old dir name in opaque dir", os.mkdir, ctx.p("opq/old2"))
    ctx.ls("opq/old2")
    os.unlink(ctx.p("wh/keep"))
    os.unlink(ctx.p("merge/b"))
    os.rmdir(ctx.p("rmd/empty"))
    ctx.ls("wh", "ls wh after unlink keep")
    ctx.ls("merge", "ls merge after unlink b")
    ctx.ls("rmd", "ls rmd after rmdir")
    ctx.drop_caches()
    ctx.ls("merge", "ls merge after drop_caches")
    ctx.st("merge/b", "merge/b after drop_caches")
    ctx.call("list 3x stable", lambda: len({tuple(sorted(os.listdir(ctx.p("merge"))))
                                            for _ in range(3)}))
    # Partial readdir: telldir/seekdir over a merged directory.
    ctx.call("readdir in small chunks", lambda: _small_readdir(ctx.p("merge")))


def _small_readdir(path):
    import ctypes
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    names = []
    try:
        buf = ctypes.create_string_buffer(40)  # one entry at a time
        while True:
            n = libc.syscall(sysx._SYS_GETDENTS64, fd, buf, len(buf))
            if n < 0:
                return errno.errorcode.get(ctypes.get_errno(), "?")
            if n == 0:
                break
            off = 0
            raw = buf.raw[:n]
            while off < n:
                import struct
                _ino, _o, reclen, _t = struct.unpack_from("QqHB", raw, off)
                names.append(raw[off + 19:off + reclen].split(b"\0", 1)[0].decode())
                off += reclen
    finally:
        os.close(fd)
    return sorted(names)


# --- scale, concurrency, big files ------------------------------------------------

@case(informational=False)
def many_entries(ctx):
    # 100,000 in the long mode's first pass; the drop_caches pass keeps to
    # 10,000 (fuse-overlayfs needs minutes to delete 100,000 under the loop).
    n = 100_000 if ctx.long and not ctx.drop_pass else 10_000
    d = ctx.p("many")
    t0 = time.monotonic()
    created = 0
    for i in range(n):
        fd = os.open(os.path.join(d, "f%06d" % i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.close(fd)
        created += 1
    t1 = time.monotonic()
    ctx.rec("created", created)
    names = [x for x, _t, _i in sysx.getdents(d) if x not in (".", "..")]
    t2 = time.monotonic()
    ctx.rec("listed", len(names))
    ctx.rec("each once", len(set(names)) == len(names))
    ctx.rec("all present", set(names) == {"f%06d" % i for i in range(n)})
    ctx.call("stat last", lambda: summ(os.stat(os.path.join(d, "f%06d" % (n - 1))), False))
    ctx.drop_caches()
    ctx.rec("listed after drop_caches", len(os.listdir(d)))
    for i in range(n):
        os.unlink(os.path.join(d, "f%06d" % i))
    t3 = time.monotonic()
    ctx.rec("empty after delete", os.listdir(d))
    ctx.call("rmdir", os.rmdir, d)
    ctx.info["timing"] = "create %.1fs, list %.2fs, delete %.1fs (%d)" % (t1 - t0, t2 - t1,
                                                                         t3 - t2, n)


@case
def sparse_4g(ctx):
    size = 4 << 30
    fd = os.open(ctx.p("big4g"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.ftruncate(fd, size)
        for off, b in ((0, b"A"), (2 << 30, b"B"), (size - 1, b"C")):
            os.pwrite(fd, b, off)
        os.fsync(fd)
        st = os.fstat(fd)
        ctx.rec("size", st.st_size)
        ctx.rec("blocks under 1 MiB", st.st_blocks * 512 < (1 << 20))
        ctx.rec("reads", [os.pread(fd, 2, off).hex() for off in (0, (2 << 30) - 1, size - 2,
                                                                 size - 1, size, 3 << 30)])
        ctx.call("SEEK_DATA 1", os.lseek, fd, 1, os.SEEK_DATA)
        ctx.call("SEEK_HOLE 2GiB", os.lseek, fd, 2 << 30, os.SEEK_HOLE)
        ctx.call("write past 4 GiB", os.pwrite, fd, b"D", size + 4096)
        ctx.rec("size after", os.fstat(fd).st_size)
    finally:
        os.close(fd)
    ctx.st("big4g", times=False)
    if ctx.long:
        # Write 4 GiB for real and read it back.
        fd = os.open(ctx.p("full4g"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            block = bytes(range(256)) * 4096  # 1 MiB
            for i in range(4096):
                os.write(fd, block)
            os.lseek(fd, 0, 0)
            ok = True
            for i in range(4096):
                if os.read(fd, 1 << 20) != block:
                    ok = False
                    break
            ctx.rec("4 GiB written and read back", ok)
        finally:
            os.close(fd)
            os.unlink(ctx.p("full4g"))


@case
def threads(ctx):
    failures = []
    big_sha = file_sha(ctx.p("big"))
    os.mkdir(ctx.p("t"))
    shared = ctx.p("t/shared")
    with open(shared, "wb") as f:
        f.truncate(8 * 65536)
    stop = time.monotonic() + 6

    def worker(t):
        i = 0
        try:
            while time.monotonic() < stop or i < 10:
                p = ctx.p("t/f%d" % t)
                with open(p, "wb") as f:
                    f.write(b"%d-%d" % (t, i))
                with open(p, "rb") as f:
                    if f.read() != b"%d-%d" % (t, i):
                        failures.append("own file %d" % t)
                if i % 5 == 0 and file_sha(ctx.p("big")) != big_sha:
                    failures.append("big read by %d" % t)
                fd = os.open(shared, os.O_RDWR)
                os.pwrite(fd, bytes([t + 1]) * 65536, t * 65536)
                if os.pread(fd, 65536, t * 65536) != bytes([t + 1]) * 65536:
                    failures.append("shared region %d" % t)
                os.close(fd)
                names = os.listdir(ctx.p("t"))
                if "shared" not in names:
                    failures.append("listing %d" % t)
                q = ctx.p("t/r%d" % t)
                with open(q, "wb") as f:
                    f.write(b"r")
                os.rename(q, ctx.p("t/r%d.done" % t))
                os.unlink(ctx.p("t/r%d.done" % t))
                i += 1
        except OSError as e:
            failures.append("thread %d: %s" % (t, e))

    # Some threads also copy up lower files while others read them.
    def copier():
        try:
            for rel in ("d/sub/a", "d/sub/b", "d/file", "d/exec", "chg", "l2/file"):
                with open(ctx.p(rel), "ab") as f:
                    f.write(b"+")
        except OSError as e:
            failures.append("copier: %s" % e)

    def reader():
        try:
            while time.monotonic() < stop:
                for rel in ("d/sub/a", "d/sub/b", "d/file", "d/exec", "chg", "l2/file"):
                    with open(ctx.p(rel), "rb") as f:
                        f.read()
        except OSError as e:
            failures.append("reader: %s" % e)

    ts = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    ts += [threading.Thread(target=copier), threading.Thread(target=reader)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ctx.rec("failures", sorted(set(failures))[:20])
    with open(shared, "rb") as f:
        data = f.read()
    ctx.rec("shared file regions", [data[t * 65536] for t in range(8)])
    ctx.ls("t")
    for rel in ("d/sub/a", "d/file", "l2/file"):
        ctx.text(rel)


@case
def exec_and_mmap(ctx):
    ctx.call("exec lower script", lambda: subprocess.run([ctx.p("d/exec")], capture_output=True,
                                                        text=True).stdout)
    ctx.call("exec mode 0000 as root", lambda: subprocess.run([ctx.p("d/mode0000")]).returncode)
    with open(ctx.p("d/exec"), "ab") as f:
        f.write(b"echo appended\n")
    ctx.call("exec after copy-up", lambda: subprocess.run([ctx.p("d/exec")], capture_output=True,
                                                         text=True).stdout)
    fd = os.open(ctx.p("d/file"), os.O_RDWR)
    try:
        m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        m[0:5] = b"MMAPD"
        m.flush()
        m.close()
    except OSError as e:
        ctx.rec("mmap shared write", err(e))
    finally:
        os.close(fd)
    ctx.text("d/file", "after mmap write")
    fd = os.open(ctx.p("big"), os.O_RDONLY)
    try:
        m = mmap.mmap(fd, 0, mmap.MAP_PRIVATE, mmap.PROT_READ)
        import hashlib
        ctx.rec("mmap private read of big", hashlib.sha256(m[:]).hexdigest()[:16])
        m.close()
    finally:
        os.close(fd)
    # A setuid-root executable: does it run with euid 0? (nosuid mounts say no.)
    import shutil
    shutil.copy("/usr/bin/id", ctx.p("id_suid"))
    os.chmod(ctx.p("id_suid"), 0o4755)

    def run_id():
        try:
            return "euid=0" in subprocess.run([ctx.p("id_suid")], capture_output=True,
                                              text=True).stdout
        except OSError as e:
            return err(e)
    ctx.rec("setuid-root binary runs with euid 0 (as uid 1000)",
            ctx.in_child(lambda: (os.setresgid(1000, 1000, 1000), os.setresuid(1000, 1000, 1000),
                                  run_id())[2]))
    ctx.call("open a char device 1,3 node for writing", lambda: (lambda fd: (
        os.write(fd, b"x"), os.close(fd)))(os.open(ctx.p("d/chr"), os.O_WRONLY))[0])


# --- unmount while open (recorded, not compared) -------------------------------------

@case(informational=True, rerun=False)
def unmount_while_open(ctx):
    rd = os.open(ctx.p("big"), os.O_RDONLY)
    wr = os.open(ctx.p("w"), os.O_RDWR | os.O_CREAT, 0o644)
    os.write(wr, b"before")
    cwd_fd = os.open(ctx.p("d"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        ctx.rec("detach", ctx.mount.detach())
        time.sleep(0.2)
        ctx.call("read lower fd after", lambda: len(os.pread(rd, 4096, 0)))
        ctx.call("write upper fd after", os.pwrite, wr, b"after", 6)
        ctx.call("read upper fd after", lambda: os.pread(wr, 32, 0).decode())
        ctx.call("fstat after", lambda: os.fstat(wr).st_size)
        ctx.call("listdir via open dir fd", lambda: len(os.listdir(cwd_fd)))
        ctx.call("new open by path after", lambda: os.close(os.open(ctx.p("d/file"), os.O_RDONLY)))
        ctx.call("close", lambda: (os.close(rd), os.close(wr), os.close(cwd_fd)) and None)
    except BaseException:
        for fd in (rd, wr, cwd_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        raise
    ctx.rec("still mounted", __import__("providers").is_mounted(ctx.root))
