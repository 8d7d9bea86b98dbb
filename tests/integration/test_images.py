#!/usr/bin/env python3
"""Image import in the three formats, and ls / inspect / history / tag / rm."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import hex_id  # noqa: E402


class ImportFormats(harness.StrataTestCase):
    def test_three_formats_give_the_fixture_image_id(self):
        fx = self.fixtures()
        want = hex_id(fx.image_id("busybox"))
        sources = {
            "oci-layout": fx.layout("busybox"),
            "oci-archive": fx.oci_archive("busybox"),
            "docker-archive": fx.docker_archive("busybox"),
        }
        # Each format into a store of its own...
        for kind, path in sources.items():
            with self.subTest(kind=kind), harness.Stratad() as d:
                self.assertEqual(self.import_image(d, path, "busybox"), want)
        # ...and all three into one store: the second and third add no object.
        d = self.start_stratad()
        self.assertEqual(self.import_image(d, sources["oci-layout"], "bb-layout"), want)
        objects = harness.store_files(d.root, ("objects",))
        self.assertTrue(objects, "the import stored no object file")
        for kind in ("oci-archive", "docker-archive"):
            self.assertEqual(self.import_image(d, sources[kind], "bb-" + kind), want)
            self.assertEqual(harness.store_files(d.root, ("objects",)), objects,
                             "re-importing the same image (%s) changed objects/" % kind)
        self.assertEqual(harness.store_files(d.root, ("tmp",)), [], "tmp/ is not empty")

    def test_busybox_file_is_stored_once_as_an_object(self):
        fx = self.fixtures()
        d = self.start_stratad()
        self.import_image(d, fx.layout("busybox"), "busybox")
        want = harness.sha256_file(os.path.join(fx.reference("busybox"), "bin", "busybox"))
        found = [p for p, _ in harness.store_files(d.root, ("objects",))
                 if harness.sha256_file(os.path.join(d.root, p)) == want]
        self.assertEqual(len(found), 1, "bin/busybox should be one object file: %s" % found)
        st = os.stat(os.path.join(d.root, found[0]))
        self.assertEqual(st.st_mode & 0o222, 0, "objects are read-only")


class ImageCommands(harness.StrataTestCase):
    def setUp(self):
        self.fx = self.fixtures()
        self.d = self.start_stratad()
        self.id = self.import_image(self.d, self.fx.layout("busybox"), "busybox")

    def tags_of(self, image_id):
        for image in self.images(self.d):
            if hex_id(image["id"]) == image_id:
                return image.get("tags", [])
        return None

    def test_ls_lists_the_image_with_its_tag(self):
        tags = self.tags_of(self.id)
        self.assertIsNotNone(tags, "image ls does not list %s" % self.id)
        self.assertIn("busybox:latest", tags)
        r = self.d.ok("image", "ls")
        self.assertIn("busybox", r.stdout)

    def test_inspect_by_tag_full_id_and_prefix(self):
        info = self.inspect(self.d, "busybox")
        self.assertEqual(hex_id(info["id"]), self.id)
        self.assertEqual(self.image_id(self.d, "busybox:latest"), self.id)
        self.assertEqual(self.image_id(self.d, "sha256:" + self.id), self.id)
        self.assertEqual(self.image_id(self.d, self.id[:12]), self.id)

    def test_history_has_the_configs_entries(self):
        r = self.d.ok("image", "history", "busybox", "--format", "json")
        history = harness._listing(r.json(), "history")
        self.assertIsInstance(history, list)
        self.assertGreaterEqual(len(history), 1)
        self.d.ok("image", "history", "busybox")

    def test_tag_then_rm_keeps_data(self):
        objects = harness.store_files(self.d.root, ("objects",))
        self.d.ok("image", "tag", "busybox", "mybox:v1")
        self.assertEqual(self.image_id(self.d, "mybox:v1"), self.id)
        self.assertIn("mybox:v1", self.tags_of(self.id))

        self.d.ok("image", "rm", "mybox:v1")
        r = self.d.strata("image", "inspect", "mybox:v1")
        self.assertOneLineError(r)
        self.assertEqual(self.image_id(self.d, "busybox"), self.id)

        self.d.ok("image", "rm", "busybox")
        self.assertOneLineError(self.d.strata("image", "inspect", "busybox"))
        self.assertEqual(harness.store_files(self.d.root, ("objects",)), objects,
                         "rm must leave the content to GC")

    def test_import_takes_repeated_tags_before_the_path(self):
        # Each --tag takes one value: the path after it is the positional.
        self.d.ok("image", "import", "--tag", "one:v1", "--tag", "two:v2",
                  self.fx.layout("busybox"))
        self.assertIn("one:v1", self.tags_of(self.id))
        self.assertIn("two:v2", self.tags_of(self.id))

    def test_tag_of_a_missing_image_fails(self):
        self.assertOneLineError(self.d.strata("image", "tag", "nope", "other:v1"))
        self.assertOneLineError(self.d.strata("image", "inspect", "other:v1"))


if __name__ == "__main__":
    harness.main()
