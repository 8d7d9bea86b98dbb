"""System calls Python's os module lacks, through ctypes: renameat2,
getdents64 (raw d_type and d_ino), fallocate with mode flags, and struct
flock for F_GETLK."""

import ctypes
import errno
import os
import platform
import struct

_libc = ctypes.CDLL(None, use_errno=True)

AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2

FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_ZERO_RANGE = 0x10

DT_NAMES = {0: "unknown", 1: "fifo", 2: "chr", 4: "dir", 6: "blk", 8: "reg", 10: "lnk",
            12: "sock", 14: "wht"}

_SYS_GETDENTS64 = {"x86_64": 217, "aarch64": 61}.get(platform.machine(), 217)

_libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                            ctypes.c_uint]
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
_libc.syscall.restype = ctypes.c_long


def _check(r, what):
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))
    return r


def renameat2(old, new, flags=0):
    _check(_libc.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD, os.fsencode(new), flags),
           "renameat2")


def fallocate(fd, mode, offset, length):
    _check(_libc.fallocate(fd, mode, offset, length), "fallocate")


def getdents(path):
    """[(name, d_type name, d_ino)] of a directory, as the filesystem
    returned them (including . and ..)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    out = []
    try:
        buf = ctypes.create_string_buffer(1 << 16)
        while True:
            n = _libc.syscall(_SYS_GETDENTS64, fd, buf, len(buf))
            if n < 0:
                e = ctypes.get_errno()
                raise OSError(e, os.strerror(e), path)
            if n == 0:
                break
            raw = buf.raw[:n]
            off = 0
            while off < n:
                d_ino, _d_off, reclen, d_type = struct.unpack_from("QqHB", raw, off)
                name = raw[off + 19:off + reclen].split(b"\0", 1)[0]
                out.append((os.fsdecode(name), DT_NAMES.get(d_type, str(d_type)), d_ino))
                off += reclen
    finally:
        os.close(fd)
    return out


_FLOCK = "hhqqi4x"


def getlk(fd, ltype, start=0, length=0):
    """F_GETLK: (l_type, l_pid) of a lock that would block LTYPE."""
    import fcntl
    raw = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack(_FLOCK, ltype, os.SEEK_SET, start, length, 0))
    t, _w, _s, _l, pid = struct.unpack(_FLOCK, raw)
    return t, pid


def setlk(fd, ltype, start=0, length=0, wait=False):
    import fcntl
    fcntl.fcntl(fd, fcntl.F_SETLKW if wait else fcntl.F_SETLK,
                struct.pack(_FLOCK, ltype, os.SEEK_SET, start, length, 0))


def errname(e):
    return errno.errorcode.get(e, str(e))
