#!/usr/bin/env python3
"""The hostile corpus (tests/fixtures/hostile/make-hostile): every "refuse"
case, as an OCI layout and as a docker-archive, must fail with one line on
stderr and leave the store as it was; the tar bomb (100,000 empty files in
one layer) must import with bounded memory."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import hex_id  # noqa: E402

# Peak RSS bound for stratad importing the tar bomb. The layer is 51 MiB of
# tar headers (100,000 x 512 bytes) for 100,000 entries. An importer that
# streams the layer and keeps per-entry index records (a path key plus an
# encoded entry, ~100-200 bytes, for the layer's entries, the merged view
# and the tar-split records: ~60 MiB in a WriteBatch and as much again in
# RocksDB's memtables) fits in ~150-250 MiB with the daemon's baseline; one
# that keeps the whole layer or per-entry objects several times over does
# not. 400 MiB leaves room for allocator slack without hiding a leak of the
# layer's size per entry.
TAR_BOMB_PEAK_RSS_MIB = 400

FORMATS = {"oci-layout": "oci", "docker-archive": "docker.tar"}


class Hostile(harness.StrataTestCase):
    def test_refused_cases_leave_the_store_unchanged(self):
        fx = self.fixtures()
        cases = fx.hostile_cases()
        d = self.start_stratad()
        # A store with something in it: a failed import must not touch it.
        self.import_image(d, fx.layout("busybox"), "busybox")
        before = self.snapshot(d)
        for case, expected in sorted(cases.items()):
            if expected != "refuse":
                continue
            for kind, name in FORMATS.items():
                with self.subTest(case=case, format=kind):
                    path = os.path.join(fx.hostile(case), name)
                    r = d.strata("image", "import", path, "--tag", "hostile-" + case)
                    self.assertTrue(d.alive(), "stratad died on %s:\n%s" % (case, d.log()))
                    self.assertOneLineError(r)
                    after = self.snapshot(d)
                    self.assertEqual(after["files"], before["files"],
                                     "files under objects/, blobs/ or tmp/ changed")
                    self.assertEqual(after["images"], before["images"], "image ls changed")
                    self.assertEqual(after["du"], before["du"], "du changed")
                    self.assertOneLineError(d.strata("image", "inspect", "hostile-" + case))
        for path in ("/strata-escape", "/tmp/strata-pwned", "/tmp/strata-escape"):
            self.assertFalse(os.path.lexists(path), "%s was written outside the store" % path)

    def test_tar_bomb_is_accepted_with_bounded_memory(self):
        fx = self.fixtures()
        self.assertEqual(fx.hostile_cases()["tar-bomb"], "accept")
        for kind, name in FORMATS.items():
            with self.subTest(format=kind):
                d = self.start_stratad()
                image = self.import_image(d, os.path.join(fx.hostile("tar-bomb"), name), "bomb",
                                          timeout=600)
                peak_mib = d.peak_rss_kib() / 1024
                print("tar bomb (%s): stratad peak RSS %.0f MiB" % (kind, peak_mib))
                self.assertLess(peak_mib, TAR_BOMB_PEAK_RSS_MIB)
                self.assertEqual(self.image_id(d, "bomb"), image)
                self.assertEqual(harness.store_files(d.root, ("tmp",)), [])
                d.kill()

    def test_archive_in_a_format_decoded_by_a_program(self):
        """An archive in lzop's format: libarchive decodes it by running
        `lzop -d` from PATH when it lacks liblzo2; stratad, root, must not."""
        bin_dir, marker = harness.fake_program("lzop")
        with harness.path_first(bin_dir):
            d = self.start_stratad()
        archive = os.path.join(bin_dir, "image.tar.lzo")
        with open(archive, "wb") as f:
            f.write(harness.LZOP_MAGIC + bytes(range(256)) * 4)
        before = self.snapshot(d)
        r = d.strata("image", "import", archive, "--tag", "lzo")
        self.assertOneLineError(r)
        self.assertEqual(self.snapshot(d), before)
        self.assertFalse(os.path.exists(marker), "stratad ran lzop")

    def test_cases_cover_the_list(self):
        cases = self.fixtures().hostile_cases()
        for case in ("dotdot", "absolute-path", "symlink-escape-same-layer",
                     "symlink-escape-two-layers", "duplicate-entries", "truncated-gzip",
                     "wrong-layer-digest", "wrong-diffid", "missing-blob", "size-overflow",
                     "long-path"):
            self.assertEqual(cases.get(case), "refuse", case)
        self.assertEqual(cases.get("tar-bomb"), "accept")


if __name__ == "__main__":
    harness.main()
