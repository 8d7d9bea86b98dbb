#!/usr/bin/env python3
"""Images as other tools write them, quirks included.

umoci-insert: busybox plus two layers written by umoci 0.4.7's `insert`,
which end right after the last entry's data, without the padding to a
512-byte block and without the end-of-archive blocks (umoci issue #436;
images built with umoci or stacker carry such layers). Go's archive/tar --
hence Docker, containerd, skopeo and umoci -- reads them as complete, so a
Docker user expects them to import (DESIGN.md: where it is silent, do what a
Docker or podman user expects). The entries are whole; only the trailer is
missing, which the tar-split records must reproduce as it is (no trailer
added), or the diffIDs would change on export. A tar whose last entry's data
is cut short is another matter: the hostile corpus's size-overflow case must
still be refused.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import hex_id  # noqa: E402


class UmociInsert(harness.StrataTestCase):
    def test_imports_in_every_format_and_exports_byte_exact(self):
        fx = self.fixtures()
        want = hex_id(fx.image_id("umoci-insert"))
        d = self.start_stratad()
        for kind, path in (("oci-layout", fx.layout("umoci-insert")),
                           ("oci-archive", fx.oci_archive("umoci-insert")),
                           ("docker-archive", fx.docker_archive("umoci-insert"))):
            with self.subTest(kind=kind):
                self.assertEqual(self.import_image(d, path, "ui-" + kind), want)
        out = self.scratch()
        layout = self.export_image(d, "ui-oci-layout", "oci-layout", os.path.join(out, "export"))
        with harness.Stratad() as other:
            self.assertEqual(self.import_image(other, layout, "again"), want)
        tags = [t for t in harness.oci_layout_tags(layout) if t]
        rootfs = harness.umoci_unpack(layout, tags[0], os.path.join(out, "bundle"))
        self.assertEqual(harness.diff_trees(fx.reference("umoci-insert"), rootfs), [])


if __name__ == "__main__":
    harness.main()
