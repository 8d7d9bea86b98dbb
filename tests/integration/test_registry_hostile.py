#!/usr/bin/env python3
"""Registries that lie, stall or try to exhaust stratad (docs/registry.md,
"A registry is not trusted"), played by registry_double.HostileRegistry:

  - a blob that goes on past its manifest's size (endlessly): refused as
    soon as it does, nothing stored
  - a manifest or a token answer trickled a byte at a time, forever: the
    pull fails once the document deadline (60 s) passes
  - strata pull interrupted while a blob trickles in: the pull stops
  - a blob redirected to another host: the registry's credentials are not
    sent there; a redirect loop fails in one line
  - a small gzip layer that inflates to more than the store's filesystem
    holds: a one-line ENOSPC, the store as it was, fsck clean
  - a manifest whose layers do not match the config's diff_ids
  - an image of 5,000 layers: the pull's CPU stays linear in them
  - a layer in a format libarchive decodes by running a program (lzop)
"""

import os
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from registry_double import HostileRegistry  # noqa: E402

NO_METRICS = ["--metrics-addr", "none"]
REPO = "hostile/app:v1"


class HostileRegistryTest(harness.StrataTestCase):
    def setUp(self):
        self.work = harness.temp_dir("strata-it-hostile-")
        os.environ["DOCKER_CONFIG"] = os.path.join(self.work, "docker")
        self.certs_dir = os.path.join(self.work, "certs.d")
        os.makedirs(self.certs_dir)

    def registry(self):
        reg = HostileRegistry().start()
        self.addCleanup(reg.stop)
        return reg

    def daemon(self, **kw):
        return self.start_stratad(
            extra_args=NO_METRICS + ["--registry-certs-dir", self.certs_dir], **kw)

    def assertRefused(self, d, reg, before, timeout, *words):
        """A pull of the registry's image fails in one line within TIMEOUT
        seconds, saying WORDS, and leaves the store as BEFORE."""
        start = time.monotonic()
        try:
            r = d.strata("pull", "%s/%s" % (reg.host, REPO), timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail("the pull still ran after %d s" % timeout)
        self.assertOneLineError(r)
        for w in words:
            self.assertIn(w, r.stderr)
        self.assertEqual(self.snapshot(d), before)
        fsck = d.ok("fsck", "--format", "json")
        self.assertTrue(fsck.json()["clean"], fsck.stdout)
        return time.monotonic() - start

    def test_blob_longer_than_its_manifest_says(self):
        reg = self.registry()
        blob, diff_id = HostileRegistry.layer({"hello": b"hello\n"})
        reg.image([(blob, diff_id)])
        d = self.daemon()
        before = self.snapshot(d)
        digest = [k for k, v in reg.blobs.items() if v == blob][0]
        reg.extra[digest] = -1  # endless zeros after the gzip stream
        self.assertRefused(d, reg, before, 60, "larger than", str(len(blob)))
        # And a few bytes too many, with a Content-Length that says so.
        reg.extra[digest] = 100
        self.assertRefused(d, reg, before, 60, "larger than")
        # The honest blob pulls.
        del reg.extra[digest]
        d.ok("pull", "%s/%s" % (reg.host, REPO))

    def test_trickled_manifest_and_token(self):
        reg = self.registry()
        reg.image([HostileRegistry.layer({"a": b"a"})])
        d = self.daemon()
        before = self.snapshot(d)
        reg.trickle = "manifest"
        took = self.assertRefused(d, reg, before, 150, "timed out")
        self.assertGreater(took, 50)
        reg.trickle = "token"
        reg.bearer = True
        took = self.assertRefused(d, reg, before, 150, "timed out")
        self.assertGreater(took, 50)

    def test_interrupted_pull_stops(self):
        """strata pull killed while a blob trickles in: stratad stops the
        pull instead of holding it (and GC, which waits for pulls) for as
        long as the registry likes; the store is as it was."""
        reg = self.registry()
        blob, diff_id = HostileRegistry.layer({"big": os.urandom(1 << 20)})
        reg.image([(blob, diff_id)])
        reg.trickle = reg.add_blob(blob)
        d = self.daemon()
        before = self.snapshot(d)
        puller = subprocess.Popen(
            [harness.STRATA, "pull", "%s/%s" % (reg.host, REPO)],
            env=dict(os.environ, STRATA_SOCKET=d.socket),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while not reg.count(lambda m, p, h: "/blobs/" in p) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(2)
        finally:
            puller.kill()
            puller.wait()
        start = time.monotonic()
        try:
            r = d.strata("gc", timeout=60)
        except subprocess.TimeoutExpired:
            self.fail("gc still waited for the pull after 60 s")
        self.assertEqual(r.rc, 0, r)
        self.assertLess(time.monotonic() - start, 20, d.log()[-1500:])
        self.assertEqual(self.snapshot(d), before)

    def test_redirected_blob_gets_no_credentials(self):
        storage = self.registry()
        reg = self.registry()
        reg.image([HostileRegistry.layer({"a": b"a"})])
        storage.blobs = reg.blobs
        reg.redirect_blobs = "http://" + storage.host
        reg.basic = ("alice", "secret")
        d = self.daemon()
        d.ok("login", reg.host, "-u", "alice", "-p", "secret")
        d.ok("pull", "%s/%s" % (reg.host, REPO))
        self.assertGreater(storage.count(lambda m, p, h: "/blobs/" in p), 0)
        leaked = storage.count(lambda m, p, h: "Authorization" in h)
        self.assertEqual(leaked, 0, storage.requests)
        self.assertGreater(reg.count(lambda m, p, h: "Authorization" in h), 0)
        # A redirect loop ends after a few hops, in one line.
        d.ok("image", "rm", "%s/%s" % (reg.host, REPO))
        d.ok("gc")
        before = self.snapshot(d)
        reg.redirect_blobs = "http://" + reg.host
        self.assertRefused(d, reg, before, 60, "redirects")

    def test_layers_not_matching_the_config(self):
        reg = self.registry()
        a = HostileRegistry.layer({"a": b"a"})
        b = HostileRegistry.layer({"b": b"b"})
        d = self.daemon()
        before = self.snapshot(d)
        reg.image([a, b], diff_ids=[a[1]])
        self.assertRefused(d, reg, before, 60, "rootfs.diff_ids")
        reg.image([a, b], diff_ids=[b[1], a[1]])
        self.assertRefused(d, reg, before, 60, "diffID mismatch")

    def test_many_layers(self):
        """5,000 layers (a 0.8 MB manifest): the progress stream lists every
        layer in each line, so a line per state change made the pull cost
        O(layers^2) (26 s of stratad's CPU here, 2-3 s now)."""
        reg = self.registry()
        reg.image([HostileRegistry.layer({"f%d" % i: b"x"}) for i in range(5000)])
        d = self.daemon()

        def cpu():
            with open("/proc/%d/stat" % d.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        start = cpu()
        d.ok("pull", "%s/%s" % (reg.host, REPO))
        self.assertLess(cpu() - start, 12)

    def test_layer_in_a_format_decoded_by_a_program(self):
        """A layer in lzop's format: libarchive decodes it by running
        `lzop -d` from PATH when it lacks liblzo2. stratad, root, must not run
        programs on a registry's say-so (docs/registry.md)."""
        bin_dir, marker = harness.fake_program("lzop")
        with harness.path_first(bin_dir):
            d = self.daemon()
        reg = self.registry()
        blob = harness.LZOP_MAGIC + bytes(range(256)) * 4
        reg.image([(blob, "sha256:" + "0" * 64)])
        before = self.snapshot(d)
        self.assertRefused(d, reg, before, 60)
        self.assertFalse(os.path.exists(marker), "stratad ran lzop")

    def test_decompression_bomb(self):
        """256 MiB of one byte in a gzip layer of ~250 kB, into a store on
        a 64 MiB tmpfs."""
        mnt = harness.temp_dir("strata-it-bomb-")
        r = harness.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", mnt])
        self.assertEqual(r.rc, 0, r)
        self.addCleanup(harness.run, ["umount", "-l", mnt])
        reg = self.registry()
        reg.image([bomb(256 << 20)])
        d = self.daemon(root=os.path.join(mnt, "root"))
        self.addCleanup(d.kill)
        before = self.snapshot(d)
        used = os.statvfs(mnt)
        self.assertRefused(d, reg, before, 120, "No space left on device")
        after = os.statvfs(mnt)
        # Nothing of the layer is left behind (RocksDB's log may move).
        self.assertLess(abs(after.f_bfree - used.f_bfree) * after.f_frsize, 2 << 20)


def bomb(size):
    """A gzip layer holding one file of SIZE bytes 'a': (blob, diff_id)."""
    import hashlib
    import io
    import tarfile
    info = tarfile.TarInfo("bomb")
    info.size = size
    info.mode = 0o644
    header = info.tobuf(format=tarfile.PAX_FORMAT)
    tar_hash = hashlib.sha256()
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = io.BytesIO()

    def put(data):
        tar_hash.update(data)
        out.write(gz.compress(data))

    put(header)
    chunk = b"a" * (1 << 20)
    for _ in range(size // len(chunk)):
        put(chunk)
    put(b"\0" * (-size % 512) + b"\0" * 1024)
    out.write(gz.flush())
    return out.getvalue(), "sha256:" + tar_hash.hexdigest()


if __name__ == "__main__":
    harness.main()
