#!/usr/bin/env python3
"""The service's lifecycle: one stratad per root, clean exit on SIGTERM and
SIGINT, a socket of mode 0660, and a one-line error from strata when no
stratad answers."""

import http.client
import json
import os
import re
import signal
import stat
import sys
import time

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

    def test_api_over_tcp_only_when_asked_and_on_loopback(self):
        d = self.start_stratad(extra_args=["--api-addr", "127.0.0.1:0"])
        deadline = time.monotonic() + 10
        port = None
        while port is None and time.monotonic() < deadline:
            m = re.search(r"API over TCP on 127\.0\.0\.1:(\d+)", d.log())
            port = int(m.group(1)) if m else time.sleep(0.05)
        self.assertIsNotNone(port, d.log())
        for _ in range(2):  # two requests, each on its own connection
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/v1/version")
            resp = conn.getresponse()
            body = json.loads(resp.read())
            conn.close()
            self.assertEqual(resp.status, 200)
            self.assertIn("version", body)
        # Any other address needs --api-addr-allow-remote: one line, no start.
        r = harness.run([harness.STRATAD, "--root", harness.temp_dir(), "--socket",
                         os.path.join(harness.temp_dir(), "s.sock"), "--metrics-addr", "none",
                         "--api-addr", "0.0.0.0:0"], timeout=20)
        self.assertNotEqual(r.rc, 0, r)
        lines = [l for l in (r.stderr + r.stdout).splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, r)
        self.assertIn("loopback", lines[0])
        self.assertTrue(d.alive())

    def test_strata_without_stratad(self):
        d = harness.temp_dir()
        r = harness.strata("image", "ls", socket_path=os.path.join(d, "nobody.sock"))
        self.assertOneLineError(r)
        self.assertIn("cannot reach stratad", r.stderr)


if __name__ == "__main__":
    harness.main()
