#!/usr/bin/env python3
"""Bad command lines: usage errors exit 2, failures exit non-zero with one
line on stderr, and neither changes the store."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class BadInput(harness.StrataTestCase):
    def setUp(self):
        self.d = self.start_stratad()

    def test_unknown_flag_exits_2(self):
        for argv in (["image", "ls", "--no-such-flag"], ["--no-such-flag", "image", "ls"],
                     ["image", "import"], ["image", "no-such-command"]):
            with self.subTest(argv=argv):
                r = self.d.strata(*argv)
                self.assertEqual(r.rc, 2, r)
                self.assertTrue(r.stderr.strip(), "a usage error says something: %r" % r)

    def test_missing_image(self):
        for argv in (["image", "inspect", "nope"], ["image", "history", "nope"],
                     ["image", "rm", "nope"], ["image", "inspect", "sha256:" + "0" * 64]):
            with self.subTest(argv=argv):
                r = self.d.strata(*argv)
                self.assertOneLineError(r)
                self.assertNotEqual(r.rc, 2, "not a usage error: %r" % r)

    def test_import_of_a_missing_path(self):
        before = self.snapshot(self.d)
        r = self.d.strata("image", "import", "/nonexistent/image.tar", "--tag", "x")
        self.assertOneLineError(r)
        self.assertEqual(self.snapshot(self.d), before)

    def test_import_of_a_file_that_is_no_image(self):
        path = os.path.join(self.scratch(), "not-an-image.tar")
        with open(path, "wb") as f:
            f.write(b"this is not a tar archive\n" * 100)
        before = self.snapshot(self.d)
        self.assertOneLineError(self.d.strata("image", "import", path, "--tag", "x"))
        self.assertEqual(self.snapshot(self.d), before)

    def test_bad_tag_is_refused(self):
        fx = self.fixtures()
        before = self.snapshot(self.d)
        r = self.d.strata("image", "import", fx.layout("busybox"), "--tag", "Bad Tag!")
        self.assertOneLineError(r)
        self.assertEqual(self.snapshot(self.d), before)

    def test_json_listings_are_json(self):
        for argv in (["image", "ls"], ["du"]):
            with self.subTest(argv=argv):
                self.d.ok(*argv, "--format", "json").json()


if __name__ == "__main__":
    harness.main()
