#!/usr/bin/env python3
"""Maintenance: garbage collection (online, offline, dry run, periodic,
during imports), image prune, fsck (clean, corrupt, repair, exit codes),
squash (features and 500 layers, export byte-exact to its diffID) and
`du -v`."""

import hashlib
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import oci_gen  # noqa: E402
from harness import hex_id  # noqa: E402


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Gc(harness.StrataTestCase):
    def gc(self, d, *args):
        return d.ok("gc", "--format", "json", *args).json()

    def fsck_online(self, d):
        r = d.strata("fsck", "--format", "json")
        self.assertEqual(r.rc, 0, "fsck: %r" % r)
        report = r.json()
        self.assertTrue(report["clean"], report)
        return report

    def assert_exports_to(self, d, ref, image_id, diff_ids):
        """REF exports as an OCI layout whose config is IMAGE_ID and whose
        layers hash to DIFF_IDS (byte-identical layer tars)."""
        dest = os.path.join(self.scratch(), "out")
        d.ok("image", "export", ref, dest, "--format", "oci")
        config, tars = oci_gen.layout_layers(dest)
        self.assertEqual(sha(config), image_id)
        self.assertEqual([sha(t) for t in tars], [hex_id(x) for x in diff_ids])
        return config, tars

    def test_gc_removes_what_nothing_reaches(self):
        fx = self.fixtures()
        d = self.start_stratad()
        base = self.import_image(d, fx.layout("busybox"), "busybox")
        self.import_image(d, fx.docker_archive("busybox-plus"), "busybox-plus")
        base_total = {hex_id(i["id"]): i for i in self.du(d)["images"]}[base]["total"]
        d.ok("image", "rm", "busybox-plus")

        before = harness.store_files(d.root)
        dry = self.gc(d, "--dry-run")
        self.assertTrue(dry["dry_run"])
        self.assertEqual(harness.store_files(d.root), before, "a dry run changed the store")
        self.assertGreaterEqual(dry["object_bytes"], 256 * 1024)
        kinds = {i["kind"] for i in dry["items"]}
        self.assertTrue({"object", "layer", "chain", "blob"} <= kinds, kinds)
        text = d.ok("gc", "--dry-run").stdout
        self.assertIn("Would reclaim", text)

        done = self.gc(d)
        self.assertFalse(done["dry_run"])
        self.assertEqual(done["objects"], dry["objects"])
        self.assertEqual(done["bytes_reclaimed"], dry["bytes_reclaimed"])
        self.assertEqual(done["layers"], 1)
        on_disk = harness.store_files(d.root, ("objects",))
        self.assertEqual(sum(s for _, s in on_disk), base_total)
        du = self.du(d)
        self.assertEqual(du["object_bytes"], base_total)
        self.assertEqual(du["objects"], len(on_disk))
        # The survivor is whole, and a second GC finds nothing.
        self.assert_exports_to(d, "busybox", base, fx.diff_ids("busybox"))
        self.fsck_online(d)
        again = self.gc(d)
        self.assertEqual(again["bytes_reclaimed"], 0)
        self.assertIn("Reclaimed", d.ok("gc").stdout)

    def test_prune_then_gc(self):
        fx = self.fixtures()
        d = self.start_stratad()
        # An OCI layout whose ref name is only "latest" imports untagged.
        src = os.path.join(self.scratch(), "u")
        img = oci_gen.write_layout(src, [oci_gen.layer_tar({"u/file": b"untagged" * 1000})])
        d.ok("image", "import", src)
        self.import_image(d, fx.layout("busybox"), "busybox")
        listed = {hex_id(i["id"]): i for i in self.images(d)}
        self.assertEqual(listed[img["id"]]["tags"], [])

        dry = d.ok("image", "prune", "--dry-run", "--format", "json").json()
        self.assertEqual([hex_id(x) for x in dry["removed"]], [img["id"]])
        self.assertIn(img["id"], {hex_id(i["id"]) for i in self.images(d)})
        r = d.ok("image", "prune", "--format", "json").json()
        self.assertEqual([hex_id(x) for x in r["removed"]], [img["id"]])
        self.assertNotIn(img["id"], {hex_id(i["id"]) for i in self.images(d)})
        self.assertTrue(os.path.exists(os.path.join(d.root, "blobs", "sha256", img["id"])))
        done = self.gc(d)
        self.assertGreaterEqual(done["object_bytes"], 8000)
        self.assertFalse(os.path.exists(os.path.join(d.root, "blobs", "sha256", img["id"])))
        self.assertEqual(d.ok("image", "prune", "--format", "json").json()["removed"], [])
        self.fsck_online(d)

    def test_offline_gc_and_fsck(self):
        fx = self.fixtures()
        d = self.start_stratad()
        base = self.import_image(d, fx.layout("busybox"), "busybox")
        self.import_image(d, fx.docker_archive("busybox-plus"), "busybox-plus")
        d.ok("image", "rm", "busybox-plus")
        # The store is held by stratad: said in one line, nothing changes.
        before = harness.store_files(d.root)
        for cmd in (("gc",), ("fsck", "--repair")):
            r = d.strata(*cmd, "--root", d.root)
            self.assertOneLineError(r)
            self.assertIn("in use", r.stderr)
        self.assertEqual(harness.store_files(d.root), before)
        self.assertEqual(d.stop(), 0)

        r = harness.run([harness.STRATA, "gc", "--root", d.root, "--format", "json"])
        self.assertEqual(r.rc, 0, r)
        self.assertGreaterEqual(r.json()["object_bytes"], 256 * 1024)
        r = harness.run([harness.STRATA, "fsck", "--root", d.root])
        self.assertEqual(r.rc, 0, r)
        self.assertIn("clean", r.stdout)
        d.start()
        self.assert_exports_to(d, "busybox", base, fx.diff_ids("busybox"))

    def test_fsck_corrupt_object_and_repair(self):
        fx = self.fixtures()
        d = self.start_stratad()
        plus = self.import_image(d, fx.docker_archive("busybox-plus"), "busybox-plus")
        self.assertEqual(d.stop(), 0)
        # The largest object is busybox-plus's 256 KiB file: flip one byte.
        objects = harness.store_files(d.root, ("objects",))
        victim, _ = max(objects, key=lambda x: x[1])
        path = os.path.join(d.root, victim)
        os.chmod(path, 0o644)
        with open(path, "r+b") as f:
            f.seek(1000)
            b = f.read(1)
            f.seek(1000)
            f.write(bytes([b[0] ^ 0xFF]))
        # An orphan: a blob no image names.
        with open(os.path.join(d.root, "blobs", "sha256", sha(b"orphan")), "wb") as f:
            f.write(b"orphan")

        r = harness.run([harness.STRATA, "fsck", "--root", d.root, "--format", "json"])
        self.assertEqual(r.rc, 4, r)
        report = r.json()
        self.assertFalse(report["clean"])
        kinds = {p["kind"] for p in report["problems"]}
        self.assertIn("corrupt-object", kinds)
        self.assertIn("sha256:" + plus, report["images_hurt"])
        self.assertEqual(len(report["orphans"]), 1)

        r = harness.run([harness.STRATA, "fsck", "--root", d.root, "--repair"])
        self.assertEqual(r.rc, 4, r)  # content is lost: still damaged
        self.assertIn("damaged image: sha256:" + plus, r.stdout)
        quarantined = os.listdir(os.path.join(d.root, "quarantine"))
        self.assertEqual(quarantined, [victim.replace("objects/", "").replace("/", "")])
        self.assertFalse(os.path.exists(path))
        self.assertFalse(os.path.exists(os.path.join(d.root, "blobs", "sha256", sha(b"orphan"))))

    def test_squash_features(self):
        fx = self.fixtures()
        d = self.start_stratad()
        self.import_image(d, fx.layout("features"), "features")
        objects_before = harness.store_files(d.root, ("objects",))
        r = d.ok("image", "squash", "features", "--tag", "flat", "--format", "json").json()
        self.assertEqual(r["layers_before"], 5)
        # No content copied: not one new object file.
        self.assertEqual(harness.store_files(d.root, ("objects",)), objects_before)
        flat = self.inspect(d, "flat")
        self.assertEqual(flat["layers"], 1)
        self.assertEqual(hex_id(flat["id"]), hex_id(r["id"]))
        history = d.ok("image", "history", "flat", "--format", "json").json()
        history = history["history"] if isinstance(history, dict) else history
        self.assertGreaterEqual(len(history), 6, history)

        # Export: a real tar that hashes to the config's diffID, config = ID.
        config, tars = self.assert_exports_to(d, "flat", hex_id(r["id"]), [hex_id(r["diff_id"])])
        self.assertEqual(json.loads(config)["rootfs"]["diff_ids"], [r["diff_id"]])
        # Its tree is the features image's tree.
        out = os.path.join(self.scratch(), "flat-layout")
        d.ok("image", "export", "flat", out, "--format", "oci")
        rootfs = harness.umoci_unpack(out, harness.oci_layout_tags(out)[0],
                                      os.path.join(self.scratch(), "unpacked"))
        diffs = harness.diff_trees(fx.reference("features"), rootfs)
        self.assertEqual(diffs, [])
        # Re-import into another store: the same image ID.
        e = self.start_stratad(extra_args=["--metrics-addr", "127.0.0.1:0"])
        e.ok("image", "import", out, "--tag", "again")
        self.assertEqual(self.image_id(e, "again"), hex_id(r["id"]))
        self.fsck_online(d)

    def test_squash_500_layers(self):
        n = 500
        layers = [oci_gen.layer_tar({"l/%03d" % i: b"layer %d\n" % i,
                                     "shared/f": b"version %d\n" % i}) for i in range(n)]
        src = os.path.join(self.scratch(), "deep")
        oci_gen.write_layout(src, layers)
        d = self.start_stratad()
        d.ok("image", "import", src, "--tag", "deep", timeout=600)
        self.assertEqual(self.inspect(d, "deep")["layers"], n)
        t0 = time.monotonic()
        r = d.ok("image", "squash", "deep", "--tag", "deep-flat", "--format", "json").json()
        took = time.monotonic() - t0
        self.assertEqual(r["layers_before"], n)
        self.assertLess(took, 30)
        config, tars = self.assert_exports_to(d, "deep-flat", hex_id(r["id"]),
                                              [hex_id(r["diff_id"])])
        import io
        import tarfile
        with tarfile.open(fileobj=io.BytesIO(tars[0])) as tar:
            names = {m.name.rstrip("/") for m in tar.getmembers() if m.isfile()}
            self.assertEqual(len([x for x in names if x.startswith("l/")]), n)
            self.assertEqual(tar.extractfile("shared/f").read(), b"version %d\n" % (n - 1))

    def test_du_verbose(self):
        fx = self.fixtures()
        d = self.start_stratad()
        self.import_image(d, fx.docker_archive("busybox-plus"), "busybox-plus")
        self.import_image(d, fx.layout("busybox"), "busybox")
        d.ok("image", "rm", "busybox-plus")
        out = d.ok("du", "-v").stdout
        self.assertIn("UNIQUE SIZE", out)
        self.assertIn("CONTAINER ID", out)
        self.assertIn("GC would reclaim", out)
        self.assertNotIn("GC would reclaim 0 B", out)

    def test_periodic_gc(self):
        fx = self.fixtures()
        d = self.start_stratad(extra_args=["--gc-interval", "1"])
        self.import_image(d, fx.layout("busybox"), "busybox")
        self.import_image(d, fx.docker_archive("busybox-plus"), "busybox-plus")
        d.ok("image", "rm", "busybox-plus")
        total = {hex_id(i["id"]): i for i in self.du(d)["images"]}
        want = list(total.values())[0]["total"]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if sum(s for _, s in harness.store_files(d.root, ("objects",))) == want:
                break
            time.sleep(0.2)
        self.assertEqual(sum(s for _, s in harness.store_files(d.root, ("objects",))), want)
        self.assertIn("periodic gc", d.log())

    def test_gc_during_imports_loses_nothing(self):
        d = self.start_stratad()
        src = self.scratch()
        shared = {"shared/%d" % i: b"shared content %d\n" % i * 50 for i in range(40)}
        made = []
        for i in range(12):
            files = dict(shared)
            files["own/%d" % i] = b"own %d\n" % i * 100
            img = oci_gen.write_layout(os.path.join(src, "img%d" % i),
                                       [oci_gen.layer_tar(shared), oci_gen.layer_tar(files)])
            made.append(img)
        errors = []
        stop = threading.Event()

        def collect():
            while not stop.is_set():
                r = d.strata("gc", "--format", "json")
                if r.rc != 0:
                    errors.append(r)

        t = threading.Thread(target=collect)
        t.start()
        try:
            for i, img in enumerate(made):
                d.ok("image", "import", os.path.join(src, "img%d" % i), "--tag", "img%d" % i)
                if i % 3 == 2:
                    # The shared layer loses this root; the next import
                    # dedups against it while GC may be sweeping.
                    d.ok("image", "rm", "img%d" % i)
        finally:
            stop.set()
            t.join()
        self.assertEqual(errors, [])
        self.gc(d)
        self.fsck_online(d)
        for i, img in enumerate(made):
            if i % 3 == 2:
                continue
            self.assert_exports_to(d, "img%d" % i, img["id"], img["diff_ids"])


if __name__ == "__main__":
    harness.main()
