#!/usr/bin/env python3
"""The features image (whiteouts, an opaque dir, hard links, symlinks,
xattrs, a fifo, device nodes, long names, an empty layer, setuid bits, odd
times and owners, big and sparse files): after import, strata's view of the
image must equal umoci's unpack of the fixture.

The view is checked twice: through an export (umoci's unpack of strata's OCI
export against umoci's unpack of the fixture: the layers are right) and
through `strata mount` (the tree stratad's FUSE session shows: the merged
view is right).
"""

import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import hex_id  # noqa: E402


class Features(harness.StrataTestCase):
    def setUp(self):
        self.fx = self.fixtures()
        self.d = self.start_stratad()
        self.id = self.import_image(self.d, self.fx.layout("features"), "features")

    def test_image_id_and_layers(self):
        self.assertEqual(self.id, hex_id(self.fx.image_id("features")))
        info = self.inspect(self.d, "features")
        if "layers" in info:
            layers = info["layers"]
            n = len(layers) if isinstance(layers, list) else layers
            self.assertEqual(n, len(self.fx.diff_ids("features")))

    def test_other_formats_give_the_same_id(self):
        for kind, path in (("oci-archive", self.fx.oci_archive("features")),
                           ("docker-archive", self.fx.docker_archive("features"))):
            with self.subTest(kind=kind):
                self.assertEqual(self.import_image(self.d, path, "features-" + kind), self.id)

    def test_view_equals_umoci_reference(self):
        out = self.scratch()
        layout = self.export_image(self.d, "features", "oci-layout", os.path.join(out, "export"))
        tags = [t for t in harness.oci_layout_tags(layout) if t]
        self.assertTrue(tags, "the exported layout names no tag")
        rootfs = harness.umoci_unpack(layout, tags[0], os.path.join(out, "bundle"))
        self.assertEqual(harness.diff_trees(self.fx.reference("features"), rootfs), [])

    def test_mounted_view_equals_umoci_reference(self):
        if not os.path.exists("/dev/fuse"):
            self.skipTest("no /dev/fuse")
        mnt = os.path.join(self.scratch(), "view")
        os.makedirs(mnt)
        self.d.ok("mount", "features", mnt)
        try:
            self.assertTrue(os.path.ismount(mnt), "strata mount mounted nothing at %s" % mnt)
            self.assertEqual(harness.diff_trees(self.fx.reference("features"), mnt), [])
        finally:
            self.d.strata("umount", mnt)
        self.assertFalse(os.path.ismount(mnt), "strata umount left the mount")

    def test_import_creates_no_device_node_on_the_host(self):
        for dirpath, dirnames, filenames in os.walk(self.d.root):
            # Not into mounts: stratad's FUSE session (<root>/mnt) shows
            # device nodes, as views of images, not as files on the host.
            dirnames[:] = [n for n in dirnames if not os.path.ismount(os.path.join(dirpath, n))]
            for name in dirnames + filenames:
                mode = os.lstat(os.path.join(dirpath, name)).st_mode
                self.assertFalse(stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode),
                                 "import created a special file: %s" % os.path.join(dirpath, name))


if __name__ == "__main__":
    harness.main()
