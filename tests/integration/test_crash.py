#!/usr/bin/env python3
"""Crash safety (DESIGN.md invariant 5): stratad is killed with SIGKILL at a
random moment while imports, container commits and GCs run; then
`strata fsck --root` (offline) must find the store clean, and every image
whose import or commit had returned success must still be there, and export
byte-identical (config = image ID, each layer tar = its diffID).

A few trials by default; STRATA_TEST_LONG=1 runs 50 (STRATA_CRASH_TRIALS=N:
N). STRATA_CRASH_SEED
replays a run (the seed is printed)."""

import hashlib
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import oci_gen  # noqa: E402
from harness import hex_id  # noqa: E402

TRIALS = int(os.environ.get("STRATA_CRASH_TRIALS") or (50 if harness.LONG else 4))


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Crash(harness.StrataTestCase):
    def make_images(self, rng, src, prefix, count):
        """COUNT two-layer OCI layouts: one of three shared bases, then a
        layer of the image's own files (some content shared between images,
        so imports dedup against objects GC may be sweeping)."""
        bases = [oci_gen.layer_tar({"base/%d/%d" % (b, i): (b"base %d %d\n" % (b, i)) * 300
                                    for i in range(30)}) for b in range(3)]
        images = []
        for n in range(count):
            files = {"own/%s%d/%d" % (prefix, n, i): os.urandom(rng.randint(1, 60000))
                     for i in range(8)}
            files["common/%d" % (n % 5)] = b"common %d\n" % (n % 5) * 1000
            path = os.path.join(src, "%s%d" % (prefix, n))
            img = oci_gen.write_layout(path, [bases[n % 3], oci_gen.layer_tar(files)])
            img["path"] = path
            img["tag"] = "%s%d" % (prefix, n)
            images.append(img)
        return images

    def verify(self, d, expected, sample):
        """Every expected image is listed; SAMPLE of them export exactly."""
        listed = {hex_id(i["id"]) for i in self.images(d)}
        for tag, img in expected.items():
            self.assertIn(img["id"], listed, "image %s (%s) was lost" % (tag, img["id"]))
        for tag in sample:
            img = expected[tag]
            dest = os.path.join(harness.temp_dir("strata-crash-out-"), "out")
            d.ok("image", "export", tag, dest, "--format", "oci")
            config, tars = oci_gen.layout_layers(dest)
            self.assertEqual(sha(config), img["id"], tag)
            if "diff_ids" in img:
                self.assertEqual([sha(t) for t in tars], img["diff_ids"], tag)
            harness.remove_tree(os.path.dirname(dest))

    def test_sigkill_during_imports_commits_and_gc(self):
        seed = int(os.environ.get("STRATA_CRASH_SEED") or random.randrange(1 << 30))
        print("STRATA_CRASH_SEED=%d" % seed)
        rng = random.Random(seed)
        src = self.scratch()
        keepers = self.make_images(rng, src, "keep", TRIALS * 3 + 3)
        victims = self.make_images(rng, src, "victim", TRIALS * 4 + 4)
        base_dir = harness.temp_dir("strata-crash-")
        root = os.path.join(base_dir, "root")
        expected = {}  # tag -> {"id", ["diff_ids"]}
        next_keeper = [0]
        next_victim = [0]

        for trial in range(TRIALS):
            d = harness.Stratad(root=root, socket_path=os.path.join(base_dir, "s.sock"))
            self.addCleanup(d.kill)
            # What the last crash left must be whole.
            fresh = [t for t in expected if expected[t].get("trial") == trial - 1]
            old = [t for t in expected if t not in fresh]
            self.verify(d, expected, fresh + rng.sample(old, min(2, len(old))))

            stop = threading.Event()
            lock = threading.Lock()

            def import_keepers():
                while not stop.is_set() and next_keeper[0] < len(keepers):
                    with lock:
                        img = keepers[next_keeper[0]]
                        next_keeper[0] += 1
                    r = d.strata("image", "import", img["path"], "--tag", img["tag"])
                    if r.rc == 0:
                        with lock:
                            expected[img["tag"]] = dict(img, trial=trial)

            def churn():
                while not stop.is_set() and next_victim[0] < len(victims):
                    with lock:
                        img = victims[next_victim[0]]
                        next_victim[0] += 1
                    d.strata("image", "import", img["path"], "--tag", img["tag"])
                    d.strata("image", "rm", img["tag"])
                    d.strata("gc")

            def commits():
                n = 0
                while not stop.is_set():
                    with lock:
                        have = [t for t in expected if t.startswith("keep")]
                    if not have:
                        time.sleep(0.05)
                        continue
                    name = "c%d-%d" % (trial, n)
                    n += 1
                    if d.strata("create", "--name", name, have[0], "true").rc != 0:
                        continue
                    tag = "commit%d-%d" % (trial, n)
                    if d.strata("commit", name, tag).rc == 0:
                        r = d.strata("image", "inspect", tag, "--format", "json")
                        if r.rc == 0:
                            with lock:
                                expected[tag] = {"id": hex_id(harness._one(r.json())["id"]),
                                                 "trial": trial}

            threads = [threading.Thread(target=f) for f in (import_keepers, churn, commits)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.3, 2.5))
            d.kill()  # SIGKILL, whatever it was doing
            stop.set()
            for t in threads:
                t.join()

            r = harness.run([harness.STRATA, "fsck", "--root", root, "--format", "json"])
            self.assertEqual(r.rc, 0, "trial %d (seed %d): fsck after SIGKILL: %r"
                             % (trial, seed, r))
            self.assertTrue(r.json()["clean"], r.stdout)

        d = harness.Stratad(root=root, socket_path=os.path.join(base_dir, "s.sock"))
        self.addCleanup(d.kill)
        self.verify(d, expected, list(expected))
        print("%d trials: %d imports and %d commits survived" % (
            TRIALS, len([t for t in expected if t.startswith("keep")]),
            len([t for t in expected if t.startswith("commit")])))
        self.assertGreater(len([t for t in expected if t.startswith("keep")]), 0)
        d.ok("gc")
        self.verify(d, expected, list(expected))
        self.assertEqual(d.stop(), 0)
        r = harness.run([harness.STRATA, "fsck", "--root", root])
        self.assertEqual(r.rc, 0, r)


if __name__ == "__main__":
    harness.main()
