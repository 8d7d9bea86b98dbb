#!/usr/bin/env python3
"""Two images sharing a base store the base once: busybox-plus is busybox's
layer plus one layer of its own, and `strata du` must count busybox's files
once."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import hex_id  # noqa: E402


class DiskUsage(harness.StrataTestCase):
    def test_shared_base_is_counted_once(self):
        fx = self.fixtures()
        d = self.start_stratad()
        base = self.import_image(d, fx.layout("busybox"), "busybox")
        plus = self.import_image(d, fx.docker_archive("busybox-plus"), "busybox-plus")
        du = self.du(d)
        usage = {hex_id(i["id"]): i for i in du["images"]}
        self.assertEqual(set(usage), {base, plus})
        b, p = usage[base], usage[plus]
        for image in (b, p):
            self.assertEqual(image["total"], image["shared"] + image["unique"], image)
        # Every file of busybox is also in busybox-plus.
        self.assertGreater(b["shared"], 0)
        self.assertEqual(b["shared"], b["total"])
        self.assertEqual(b["unique"], 0)
        self.assertEqual(p["shared"], b["total"])
        self.assertGreaterEqual(p["unique"], 256 * 1024)  # usr/share/plus/data.bin
        # The store holds the union, not the sum.
        self.assertLess(du["object_bytes"], b["total"] + p["total"])
        self.assertEqual(du["object_bytes"], p["total"])
        self.assertGreaterEqual(du["logical_bytes"], b["total"] + p["total"])
        # ...and says the truth about objects/.
        on_disk = harness.store_files(d.root, ("objects",))
        self.assertEqual(du["objects"], len(on_disk))
        self.assertEqual(du["object_bytes"], sum(size for _, size in on_disk))

    def test_a_containers_writable_layer_is_its_disk_usage(self):
        # Measured like du (blocks, hard links once), as the monitor's
        # strata_container_upper_bytes: 3 MiB written, then a hard link to it.
        d = self.start_stratad()
        self.import_image(d, self.fixtures().layout("busybox"), "busybox")
        d.ok("run", "--name", "writer", "busybox", "sh", "-c",
             "head -c 3145728 /dev/zero > /big && ln /big /again && sync")
        try:
            rows = [l.split() for l in d.ok("du", "-v").stdout.splitlines()]
            row = [r for r in rows if len(r) == 4 and r[1] == "writer"]
            self.assertEqual(len(row), 1, rows)
            size = row[0][3]
            self.assertTrue(size.endswith("MB") and not size.startswith(">"), size)
            self.assertGreaterEqual(float(size[:-2]), 3.14)  # 3,145,728 bytes and the dirs
            self.assertLess(float(size[:-2]), 3.3)           # the link not counted twice
        finally:
            d.ok("rm", "writer")

    def test_du_of_an_empty_store(self):
        d = self.start_stratad()
        du = self.du(d)
        self.assertEqual(du["images"], [])
        self.assertEqual(du["object_bytes"], 0)
        d.ok("du")


if __name__ == "__main__":
    harness.main()
