#!/usr/bin/env python3
"""Export in every format, checked by other tools and by a round trip:
skopeo and umoci accept it, each layer hashes to its diffID, umoci's unpack
of the export equals umoci's unpack of the fixture, and a second store that
imports the export gets the same image ID."""

import hashlib
import json
import os
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import hex_id  # noqa: E402

KINDS = ("oci-layout", "oci-archive", "docker")


def read_oci_layout(layout):
    """(config digest, config, [(layer blob path, descriptor)])."""
    def blob(digest):
        algo, hexd = digest.split(":", 1)
        return os.path.join(layout, "blobs", algo, hexd)
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    desc = index["manifests"][0]
    with open(blob(desc["digest"]), "rb") as f:
        raw = f.read()
    manifest = json.loads(raw)
    if "manifests" in manifest:  # a nested index: take its first manifest
        desc = manifest["manifests"][0]
        with open(blob(desc["digest"]), "rb") as f:
            manifest = json.loads(f.read())
    config_digest = manifest["config"]["digest"]
    with open(blob(config_digest)) as f:
        config = json.load(f)
    return config_digest, config, [(blob(l["digest"]), l) for l in manifest["layers"]]


class Export(harness.StrataTestCase):
    @classmethod
    def setUpClass(cls):
        cls.fx = harness.fixtures()
        cls.d = harness.Stratad()
        for name in ("busybox", "features"):
            r = cls.d.strata("image", "import", cls.fx.layout(name), "--tag", name)
            if r.rc != 0:
                cls.d.kill()
                raise AssertionError("import of %s failed: %r" % (name, r))

    @classmethod
    def tearDownClass(cls):
        cls.d.kill()

    def export(self, image, kind):
        dest = os.path.join(self.scratch(), image + ("" if kind == "oci-layout" else ".tar"))
        return self.export_image(self.d, image, kind, dest)

    def as_layout(self, image, kind, path):
        """An OCI layout of the export, for the checks that need one."""
        if kind == "oci-layout":
            return path
        out = os.path.join(self.scratch(), "layout")
        if kind == "oci-archive":
            os.makedirs(out)
            with tarfile.open(path) as t:
                t.extractall(out)
        else:  # docker-archive: let skopeo convert it
            r = harness.run(["skopeo", "copy", "--quiet", "docker-archive:" + path,
                             "oci:%s:latest" % out])
            self.assertEqual(r.rc, 0, r)
        return out

    def check_layers_hash_to_diff_ids(self, image, kind, path):
        want = [hex_id(d) for d in self.fx.diff_ids(image)]
        if kind == "docker":
            with tarfile.open(path) as t:
                manifest = json.load(t.extractfile("manifest.json"))[0]
                config_raw = t.extractfile(manifest["Config"]).read()
                self.assertEqual(hashlib.sha256(config_raw).hexdigest(),
                                 hex_id(self.fx.image_id(image)), "config changed")
                config = json.loads(config_raw)
                out = self.scratch()
                for name in manifest["Layers"]:
                    t.extract(name, out)
                got = [harness.decompressed_sha256(os.path.join(out, n)) for n in manifest["Layers"]]
        else:
            layout = self.as_layout(image, kind, path)
            config_digest, config, layers = read_oci_layout(layout)
            self.assertEqual(hex_id(config_digest), hex_id(self.fx.image_id(image)),
                             "the config (hence the image ID) changed")
            got = []
            for blob, desc in layers:
                self.assertEqual(harness.sha256_file(blob), hex_id(desc["digest"]),
                                 "blob does not match its descriptor's digest")
                self.assertEqual(os.path.getsize(blob), desc["size"])
                got.append(harness.decompressed_sha256(blob))
        self.assertEqual([hex_id(d) for d in config["rootfs"]["diff_ids"]], want)
        self.assertEqual(got, want, "exported layers do not hash to the diffIDs")

    def check_skopeo_accepts(self, kind, path):
        transport = {"oci-layout": "oci:", "oci-archive": "oci-archive:",
                     "docker": "docker-archive:"}[kind]
        r = harness.run(["skopeo", "inspect", transport + path])
        self.assertEqual(r.rc, 0, "skopeo inspect refused the export: %r" % r)
        info = json.loads(r.stdout)
        self.assertTrue(info.get("Layers"), r.stdout[:500])

    def check_umoci_unpack_equals_reference(self, image, kind, path):
        layout = self.as_layout(image, kind, path)
        tags = [t for t in harness.oci_layout_tags(layout) if t]
        self.assertTrue(tags, "the exported layout names no tag (umoci needs one)")
        rootfs = harness.umoci_unpack(layout, tags[0], os.path.join(self.scratch(), "bundle"))
        diffs = harness.diff_trees(self.fx.reference(image), rootfs)
        self.assertEqual(diffs, [], "umoci's unpack of the export differs from the fixture's")

    def check_round_trip(self, image, kind, path):
        with harness.Stratad() as other:
            self.assertEqual(self.import_image(other, path, "again"), hex_id(self.fx.image_id(image)))

    def test_busybox(self):
        self.run_all("busybox")

    def test_features(self):
        self.run_all("features")

    def run_all(self, image):
        for kind in KINDS:
            with self.subTest(kind=kind):
                path = self.export(image, kind)
                self.check_layers_hash_to_diff_ids(image, kind, path)
                self.check_skopeo_accepts(kind, path)
                self.check_umoci_unpack_equals_reference(image, kind, path)
                self.check_round_trip(image, kind, path)

    def test_export_of_a_missing_image_fails_and_writes_nothing(self):
        dest = os.path.join(self.scratch(), "nope.tar")
        self.assertOneLineError(self.d.strata("image", "export", "nope", dest))
        self.assertFalse(os.path.exists(dest))


if __name__ == "__main__":
    harness.main()
