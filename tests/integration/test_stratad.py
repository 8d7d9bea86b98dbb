#!/usr/bin/env python3
"""The service's lifecycle: one stratad per root, clean exit on SIGTERM and
SIGINT, a socket of mode 0660, and a one-line error from strata when no
stratad answers."""

import os
import signal
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class Service(harness.StrataTestCase):
    def test_second_stratad_on_the_same_root_is_refused(self):
        first = self.start_stratad()
        second_socket = os.path.join(first.dir, "second.sock")
        try:
            r = harness.run([harness.STRATAD, "--root", first.root, "--socket", second_socket],
                            timeout=20)
        except harness.subprocess.TimeoutExpired:
            self.fail("a second stratad on the same root kept running (killed after 20 s)")
        self.assertNotEqual(r.rc, 0, r)
        lines = [l for l in (r.stderr + r.stdout).splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, "expected one clear line: %r" % r)
        self.assertTrue(first.alive(), "the first stratad died")
        first.ok("image", "ls")

    def test_sigterm_exits_0_and_removes_the_socket(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig.name):
                d = self.start_stratad()
                self.assertTrue(os.path.exists(d.socket))
                self.assertEqual(d.stop(sig), 0, d.log())
                self.assertFalse(os.path.exists(d.socket), "socket left behind")

    def test_restart_on_the_same_root_keeps_images(self):
        fx = self.fixtures()
        d = self.start_stratad()
        image = self.import_image(d, fx.layout("busybox"), "busybox")
        self.assertEqual(d.stop(), 0, d.log())
        again = self.start_stratad(root=d.root, socket_path=d.socket)
        self.assertEqual(self.image_id(again, "busybox"), image)

    def test_socket_mode_is_0660(self):
        d = self.start_stratad()
        st = os.stat(d.socket)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)

    def test_strata_without_stratad(self):
        d = harness.temp_dir()
        r = harness.strata("image", "ls", socket_path=os.path.join(d, "nobody.sock"))
        self.assertOneLineError(r)
        self.assertIn("cannot reach stratad", r.stderr)


if __name__ == "__main__":
    harness.main()
