#!/usr/bin/env python3
"""Registries: push and pull against Debian's docker-registry on loopback.

A proxy in front of the registry (registry_double.py) counts requests,
throttles, corrupts a blob, drops connections, and plays the token server
for the bearer flow.

  - push -> pull into a second store: the same image ID and the same tree
    through `strata mount`; skopeo reads what strata pushed; a second push
    uploads no layer; a push to another repository mounts the layers; zstd
    and chunked uploads give the same image ID back
  - basic auth (htpasswd): refused without login and with a wrong password
    (config.json unchanged), login writes config.json 0600, logout removes it
  - credential helpers (credsStore, credHelpers): a test double of
    docker-credential-NAME on PATH keeps what login stores, pull and push
    get it from there, logout erases it; a missing or failing helper is a
    one-line error naming the helper and the registry; no secret in
    config.json, stratad's log or the CLI's output
  - bearer tokens: fetched from the token endpoint and reused until expiry
  - the registry stopped mid-pull and restarted: the pull resumes (Range)
  - a corrupted blob: the pull is refused, the store unchanged
  - one-line errors: unknown repository, registry down, auth refused
  - TLS: a self-signed registry refused unless --insecure-registry; a CA
    the test makes, trusted through certs.d (stratad --registry-certs-dir),
    over HTTP/2; another CA refused; a client certificate from certs.d; plain
    HTTP off loopback only when --insecure-registry names the registry
"""

import base64
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import registry_double  # noqa: E402
from registry_double import Proxy, Registry, is_layer_upload  # noqa: E402

NO_METRICS = ["--metrics-addr", "none"]


# A test double of a docker credential helper: keeps entries in the JSON
# file $STRATA_TEST_KEYRING and logs each action and server URL (never a
# secret) to $STRATA_TEST_KEYRING.log.
CREDENTIAL_HELPER = r"""#!/usr/bin/env python3
import json, os, sys
path = os.environ["STRATA_TEST_KEYRING"]
action, data = sys.argv[1], sys.stdin.read()
entries = {}
if os.path.exists(path):
    with open(path) as f:
        entries = json.load(f)
url = json.loads(data)["ServerURL"] if action == "store" else data
with open(path + ".log", "a") as log:
    log.write("%s %s\n" % (action, url))
if action == "store":
    e = json.loads(data)
    entries[url] = {"Username": e["Username"], "Secret": e["Secret"]}
elif action == "list":
    print(json.dumps({k: v["Username"] for k, v in entries.items()}))
    sys.exit(0)
elif url not in entries:
    print("credentials not found in native keychain")
    sys.exit(1)
elif action == "get":
    print(json.dumps(dict(entries[url], ServerURL=url)))
    sys.exit(0)
elif action == "erase":
    del entries[url]
with open(path, "w") as f:
    json.dump(entries, f)
"""


class RegistryTest(harness.StrataTestCase):
    def setUp(self):
        self.work = harness.temp_dir("strata-it-registry-")
        self.docker_config = os.path.join(self.work, "docker")
        os.environ["DOCKER_CONFIG"] = self.docker_config
        # The test's own certs.d (empty unless a test fills it), so the
        # host's /etc/docker/certs.d plays no part.
        self.certs_dir = os.path.join(self.work, "certs.d")
        os.makedirs(self.certs_dir)

    def registry(self, htpasswd=None):
        reg = Registry(harness.temp_dir("strata-it-reg-"), htpasswd=htpasswd).start()
        self.addCleanup(reg.stop)
        return reg

    def proxy(self, reg):
        p = Proxy(reg.host).start()
        self.addCleanup(p.stop)
        return p

    def daemon(self, *args):
        return self.start_stratad(
            extra_args=NO_METRICS + ["--registry-certs-dir", self.certs_dir] + list(args))

    def mounted_tree(self, daemon, ref):
        d = harness.temp_dir("strata-it-mnt-")
        daemon.ok("mount", ref, d)
        try:
            return harness.tree_manifest(d)
        finally:
            daemon.ok("umount", d)

    def test_push_pull_round_trip(self):
        fx = self.fixtures()
        reg = self.registry()
        proxy = self.proxy(reg)
        src = self.daemon()
        image = self.import_image(src, fx.docker_archive("busybox-plus"), "busybox-plus")
        ref = "%s/strata/plus:v1" % proxy.host
        r = src.ok("push", "busybox-plus", ref)
        self.assertIn("2 layers uploaded", r.stdout)
        self.assertEqual(proxy.count(is_layer_upload), 3)  # two layers and the config

        dst = self.daemon()
        r = dst.ok("pull", ref)
        self.assertIn("2 layers fetched", r.stdout)
        self.assertEqual(self.image_id(dst, ref), image)
        self.assertEqual(self.mounted_tree(dst, ref), self.mounted_tree(src, "busybox-plus"))

        # skopeo reads what strata pushed.
        r = harness.run(["skopeo", "inspect", "--tls-verify=false", "docker://" + ref])
        self.assertEqual(r.rc, 0, r)
        info = json.loads(r.stdout)
        self.assertEqual(len(info["Layers"]), 2)
        raw = harness.run(["skopeo", "inspect", "--raw", "--config", "--tls-verify=false",
                           "docker://" + ref])
        self.assertEqual(raw.rc, 0, raw)
        self.assertEqual(harness.hashlib.sha256(raw.stdout.encode()).hexdigest(), image)

        # A second push uploads nothing; nor does a push of the same layers
        # to another repository of the registry (cross-repository mount).
        proxy.reset()
        r = src.ok("push", "busybox-plus", ref)
        self.assertIn("0 layers uploaded", r.stdout)
        self.assertEqual(proxy.count(is_layer_upload), 0, proxy.requests)
        proxy.reset()
        r = src.ok("push", "busybox-plus", "%s/other/plus:v1" % proxy.host)
        self.assertIn("2 mounted", r.stdout)
        self.assertEqual(proxy.count(lambda m, p, h: "mount=" in p), 2)
        layer_uploads = proxy.count(lambda m, p, h: m == "PATCH" or (
            m == "PUT" and "/blobs/uploads/" in p and image not in p))
        self.assertEqual(layer_uploads, 0, proxy.requests)

        # zstd in chunks of 64 KiB: other blobs, the same image.
        proxy.reset()
        zref = "%s/strata/plus-zstd:v1" % proxy.host
        src.ok("push", "busybox-plus", zref, "--compression", "zstd", "--chunk-size", "65536")
        self.assertGreater(proxy.count(lambda m, p, h: m == "PATCH"), 2)
        third = self.daemon()
        third.ok("pull", zref)
        self.assertEqual(self.image_id(third, zref), image)
        manifest = json.loads(harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                                           "docker://" + zref]).stdout)
        self.assertTrue(all(l["mediaType"].endswith("+zstd") for l in manifest["layers"]))

        # A pull of an image sharing the base fetches only the new layer.
        src.ok("image", "import", fx.layout("busybox"), "--tag", "busybox")
        bref = "%s/strata/busybox:v1" % proxy.host
        src.ok("push", "busybox", bref)
        r = third.ok("pull", bref)
        self.assertIn("0 layers fetched", r.stdout)
        self.assertIn("1 already present", r.stdout)

    def test_platform_choice_in_an_index(self):
        # An image index: busybox as linux/amd64, busybox-plus as linux/arm64.
        fx = self.fixtures()
        reg = self.registry()
        layout = os.path.join(harness.temp_dir("strata-it-index-"), "layout")
        blobs = os.path.join(layout, "blobs", "sha256")
        os.makedirs(blobs)
        entries = []
        for name, arch in (("busybox", "amd64"), ("busybox-plus", "arm64")):
            src = fx.layout(name)
            for blob in os.listdir(os.path.join(src, "blobs", "sha256")):
                shutil.copy(os.path.join(src, "blobs", "sha256", blob), blobs)
            with open(os.path.join(src, "index.json")) as f:
                entry = json.load(f)["manifests"][0]
            entry.pop("annotations", None)
            entry["platform"] = {"os": "linux", "architecture": arch}
            entries.append(entry)
        index = json.dumps({"schemaVersion": 2,
                            "mediaType": "application/vnd.oci.image.index.v1+json",
                            "manifests": entries}).encode()
        digest = hashlib.sha256(index).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(index)
        with open(os.path.join(layout, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": [{
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": "sha256:" + digest, "size": len(index)}]}, f)
        with open(os.path.join(layout, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')
        ref = "%s/multi/box:v1" % reg.host
        r = harness.run(["skopeo", "copy", "--all", "--dest-tls-verify=false", "oci:" + layout,
                         "docker://" + ref])
        self.assertEqual(r.rc, 0, r)
        d = self.daemon()
        d.ok("pull", ref)
        self.assertEqual(self.image_id(d, ref), harness.hex_id(fx.image_id("busybox")))
        d.ok("pull", "--platform", "linux/arm64", ref)
        self.assertEqual(self.image_id(d, ref), harness.hex_id(fx.image_id("busybox-plus")))
        r = d.strata("pull", "--platform", "linux/s390x", ref)
        self.assertOneLineError(r)

    def test_basic_auth_login_logout(self):
        fx = self.fixtures()
        reg = self.registry(htpasswd=("alice", "s3cret"))
        d = self.daemon()
        self.import_image(d, fx.layout("busybox"), "busybox")
        ref = "%s/auth/busybox:v1" % reg.host
        r = d.strata("push", "busybox", ref)
        self.assertOneLineError(r)
        self.assertIn("login", r.stderr)

        config = os.path.join(self.docker_config, "config.json")
        r = harness.run([harness.STRATA, "login", reg.host, "-u", "alice", "--password-stdin"],
                        env=dict(os.environ, STRATA_SOCKET=d.socket), input="wrong\n")
        self.assertOneLineError(r)
        self.assertIn("authentication refused", r.stderr)
        self.assertFalse(os.path.exists(config))

        r = harness.run([harness.STRATA, "login", reg.host, "-u", "alice", "--password-stdin"],
                        env=dict(os.environ, STRATA_SOCKET=d.socket), input="s3cret\n")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(stat.S_IMODE(os.stat(config).st_mode), 0o600)
        with open(config) as f:
            auths = json.load(f)["auths"]
        self.assertEqual(base64.b64decode(auths[reg.host]["auth"]).decode(), "alice:s3cret")

        d.ok("push", "busybox", ref)
        other = self.daemon()
        other.ok("pull", ref)
        self.assertEqual(self.image_id(other, ref), harness.hex_id(fx.image_id("busybox")))

        r = d.ok("logout", reg.host)
        with open(config) as f:
            self.assertNotIn(reg.host, json.load(f)["auths"])
        r = other.strata("pull", ref)
        self.assertOneLineError(r)

        # Stored credentials the registry no longer takes: refused in one
        # line, the store unchanged.
        self.write_docker_config({"auths": {reg.host: {
            "auth": base64.b64encode(b"alice:changed").decode()}}})
        before = self.snapshot(other)
        for daemon, args in ((other, ("pull", ref)), (d, ("push", "busybox", ref))):
            r = daemon.strata(*args)
            self.assertOneLineError(r)
            self.assertIn("authentication refused by " + reg.host, r.stderr)
        self.assertEqual(self.snapshot(other), before)

    def credential_helpers(self):
        """A PATH directory with docker-credential-strata-test (the double)
        and docker-credential-strata-broken (fails); returns the keyring
        file. Only the CLI's environment gets the new PATH."""
        bin_dir = harness.temp_dir("strata-it-helpers-")
        for name, text in (("strata-test", CREDENTIAL_HELPER),
                           ("strata-broken", "#!/bin/sh\necho 'the keyring is locked'\nexit 1\n")):
            path = os.path.join(bin_dir, "docker-credential-" + name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)
        keyring = os.path.join(bin_dir, "keyring.json")
        saved = dict(os.environ)
        self.addCleanup(lambda: (os.environ.clear(), os.environ.update(saved)))
        os.environ["PATH"] = bin_dir + ":" + os.environ.get("PATH", "/usr/bin:/bin")
        os.environ["STRATA_TEST_KEYRING"] = keyring
        return keyring

    def write_docker_config(self, config):
        os.makedirs(self.docker_config, exist_ok=True)
        with open(os.path.join(self.docker_config, "config.json"), "w") as f:
            json.dump(config, f)

    def test_credential_helpers(self):
        fx = self.fixtures()
        reg = self.registry(htpasswd=("alice", "s3cret"))
        d = self.daemon()
        other = self.daemon()
        self.import_image(d, fx.layout("busybox"), "busybox")
        keyring = self.credential_helpers()
        config = os.path.join(self.docker_config, "config.json")
        self.write_docker_config({"credsStore": "strata-test"})
        ref = "%s/helped/busybox:v1" % reg.host
        r = d.strata("push", "busybox", ref)
        self.assertOneLineError(r)
        self.assertIn("requires a login", r.stderr)

        # login stores through the helper; config.json keeps no secret.
        r = harness.run([harness.STRATA, "login", reg.host, "-u", "alice", "--password-stdin"],
                        env=dict(os.environ, STRATA_SOCKET=d.socket), input="s3cret\n")
        self.assertEqual(r.rc, 0, r)
        with open(keyring) as f:
            self.assertEqual(json.load(f), {reg.host: {"Username": "alice", "Secret": "s3cret"}})
        with open(config) as f:
            text = f.read()
        self.assertNotIn("s3cret", text)
        self.assertEqual(json.loads(text), {"credsStore": "strata-test", "auths": {reg.host: {}}})
        self.assertEqual(stat.S_IMODE(os.stat(config).st_mode), 0o600)

        # push and pull get the credentials from the helper.
        d.ok("push", "busybox", ref)
        r = other.ok("pull", ref)
        self.assertEqual(self.image_id(other, ref), harness.hex_id(fx.image_id("busybox")))
        with open(keyring + ".log") as f:
            # The push before login, login, the push and the pull.
            self.assertEqual(f.read().split(),
                             ["get", reg.host, "store", reg.host, "get", reg.host, "get", reg.host])

        # credHelpers names the helper of one registry, before credsStore.
        self.write_docker_config({"credsStore": "strata-broken",
                                  "credHelpers": {reg.host: "strata-test"}})
        other.ok("pull", ref)
        # A failing helper and a missing one: one line naming it and the registry.
        self.write_docker_config({"credsStore": "strata-broken"})
        r = other.strata("pull", ref)
        self.assertOneLineError(r)
        self.assertIn("credential helper docker-credential-strata-broken for %s: exited with "
                      "status 1: the keyring is locked" % reg.host, r.stderr)
        self.write_docker_config({"credHelpers": {reg.host: "strata-absent"}})
        for args in (("pull", ref), ("push", "busybox", ref), ("logout", reg.host)):
            r = other.strata(*args)
            self.assertOneLineError(r)
            self.assertIn("credential helper docker-credential-strata-absent for %s: not found "
                          "in PATH" % reg.host, r.stderr)
        r = harness.run([harness.STRATA, "login", reg.host, "-u", "alice", "--password-stdin"],
                        env=dict(os.environ, STRATA_SOCKET=d.socket), input="s3cret\n")
        self.assertOneLineError(r)
        self.assertIn("docker-credential-strata-absent for " + reg.host, r.stderr)

        # logout erases through the helper and drops the file's entry.
        self.write_docker_config({"credsStore": "strata-test", "auths": {reg.host: {}}})
        d.ok("logout", reg.host)
        with open(keyring) as f:
            self.assertEqual(json.load(f), {})
        with open(config) as f:
            self.assertEqual(json.load(f)["auths"], {})
        r = other.strata("pull", ref)
        self.assertOneLineError(r)
        self.assertIn("requires a login", r.stderr)
        r = d.strata("logout", reg.host)
        self.assertOneLineError(r)
        self.assertIn("not logged in", r.stderr)
        # The secret went to stratad with the requests, never to its log.
        for daemon in (d, other):
            self.assertNotIn("s3cret", daemon.log())

    def test_bearer_tokens(self):
        fx = self.fixtures()
        reg = self.registry()
        proxy = self.proxy(reg)
        proxy.require_tokens(credentials=("bob", "pw"))
        d = self.daemon()
        self.import_image(d, fx.layout("busybox"), "busybox")
        ref = "%s/tok/busybox:v1" % proxy.host
        r = d.strata("push", "busybox", ref)
        self.assertOneLineError(r)
        self.assertIn("authentication refused", r.stderr)
        harness.run([harness.STRATA, "login", proxy.host, "-u", "bob", "--password-stdin"],
                    env=dict(os.environ, STRATA_SOCKET=d.socket), input="pw\n")
        d.ok("push", "busybox", ref)
        other = self.daemon()
        proxy.reset()
        other.ok("pull", ref)
        other.ok("pull", ref)
        self.assertEqual(self.image_id(other, ref), harness.hex_id(fx.image_id("busybox")))
        # One token for the pull scope, reused by the second pull.
        self.assertEqual(len(proxy.token_requests), 1, proxy.token_requests)
        self.assertIn("scope=repository%3Atok%2Fbusybox%3Apull", proxy.token_requests[0])

        # Until expiry: tokens of 11 s are kept 1 s (stratad keeps a 10 s
        # margin), so a pull after that asks for a new one.
        proxy.token_lifetime = 11
        short = "%s/tok/short:v1" % proxy.host
        d.ok("push", "busybox", short)
        proxy.reset()
        other.ok("pull", short)
        first = len(proxy.token_requests)
        self.assertGreaterEqual(first, 1)
        time.sleep(1.5)
        other.ok("pull", short)
        self.assertGreater(len(proxy.token_requests), first, proxy.token_requests)
        self.assertTrue(all("tok%2Fshort" in t for t in proxy.token_requests))

        # A lifetime the clock cannot add (INT64_MAX seconds) is believed up
        # to a day: the token is kept and reused, not taken as expired.
        proxy.token_lifetime = 2**63 - 1
        huge = "%s/tok/huge:v1" % proxy.host
        d.ok("push", "busybox", huge)
        proxy.reset()
        other.ok("pull", huge)
        other.ok("pull", huge)
        self.assertEqual(len(proxy.token_requests), 1, proxy.token_requests)

    def test_resume_after_registry_restart(self):
        fx = self.fixtures()
        reg = self.registry()
        proxy = self.proxy(reg)
        src = self.daemon()
        image = self.import_image(src, fx.layout("busybox"), "busybox")
        ref = "%s/resume/busybox:v1" % proxy.host
        src.ok("push", "busybox", ref)
        dst = self.daemon()
        proxy.throttle = 200 * 1024
        proxy.reset()
        puller = harness.subprocess.Popen(
            [harness.STRATA, "pull", ref], env=dict(os.environ, STRATA_SOCKET=dst.socket),
            stdout=harness.subprocess.PIPE, stderr=harness.subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 20
            while proxy.stream_progress < 200 * 1024 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertGreaterEqual(proxy.stream_progress, 200 * 1024)
            proxy.stop()
            reg.stop()
            time.sleep(1.5)
            reg.start()
            proxy.throttle = None
            proxy.start()
            out, err = puller.communicate(timeout=90)
        finally:
            if puller.poll() is None:
                puller.kill()
        self.assertEqual(puller.returncode, 0, err)
        self.assertIn("resumed", out)
        ranges = [h.get("Range") for m, p, h in proxy.requests if "Range" in h]
        self.assertTrue(ranges and ranges[-1].startswith("bytes=") and ranges[-1] != "bytes=0-",
                        proxy.requests)
        self.assertEqual(self.image_id(dst, ref), image)
        self.assertEqual(self.mounted_tree(dst, ref), self.mounted_tree(src, "busybox"))

    def test_corrupted_blob_is_refused(self):
        fx = self.fixtures()
        reg = self.registry()
        proxy = self.proxy(reg)
        src = self.daemon()
        self.import_image(src, fx.docker_archive("busybox-plus"), "busybox-plus")
        ref = "%s/bad/plus:v1" % proxy.host
        src.ok("push", "busybox-plus", ref)
        manifest = json.loads(harness.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                                           "docker://" + ref]).stdout)
        proxy.corrupt = {manifest["layers"][1]["digest"]}
        dst = self.daemon()
        self.import_image(dst, fx.layout("busybox"), "busybox")
        before = self.snapshot(dst)
        r = dst.strata("pull", ref)
        self.assertOneLineError(r)
        self.assertIn("mismatch", r.stderr)
        self.assertEqual(self.snapshot(dst), before)

    def test_a_pull_killed_at_any_moment_leaves_a_clean_store(self):
        """stratad SIGKILLed at several moments of a pull (download, object
        files, the background writeback, the commit's syncfs and batch): the
        store is fsck-clean after each, and the pull then completes with the
        same image (docs/store.md: durability without a wait at the end)."""
        import threading
        fx = self.fixtures()
        reg = self.registry()
        src = self.daemon()
        image = self.import_image(src, fx.docker_archive("busybox-plus"), "busybox-plus")
        ref = "%s/crash/plus:v1" % reg.host
        src.ok("push", "busybox-plus", ref)
        dst = self.daemon()
        for delay in (0.0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.4):
            puller = threading.Thread(target=dst.strata, args=("pull", ref))
            puller.start()
            time.sleep(delay)
            dst.kill()
            puller.join()
            r = harness.run([harness.STRATA, "fsck", "--root", dst.root, "--format", "json"])
            self.assertEqual(r.rc, 0, "fsck after a kill %.2f s into the pull: %r" % (delay, r))
            self.assertTrue(r.json()["clean"], r.stdout)
            dst = self.start_stratad(root=dst.root, socket_path=dst.socket,
                                     extra_args=NO_METRICS + ["--registry-certs-dir",
                                                              self.certs_dir])
            if dst.strata("image", "inspect", ref).rc == 0:
                # Killed after its commit: pulled again from scratch.
                dst.ok("image", "rm", ref)
                dst.ok("gc")
        dst.ok("pull", ref)
        self.assertEqual(self.image_id(dst, ref), image)
        self.assertEqual(self.mounted_tree(dst, ref), self.mounted_tree(src, "busybox-plus"))
        r = dst.ok("fsck", "--format", "json")
        self.assertTrue(r.json()["clean"], r.stdout)

    def test_one_line_errors(self):
        reg = self.registry()
        d = self.daemon()
        r = d.strata("pull", "%s/no/such:v1" % reg.host)
        self.assertOneLineError(r)
        self.assertIn("repository no/such not found", r.stderr)
        down = "127.0.0.1:%d" % registry_double.free_port()
        r = d.strata("pull", "%s/x/y:v1" % down)
        self.assertOneLineError(r)
        self.assertIn("cannot reach " + down, r.stderr)
        self.import_image(d, self.fixtures().layout("busybox"), "busybox")
        before = self.snapshot(d)
        r = d.strata("push", "busybox", "%s/x/y:v1" % down)
        self.assertOneLineError(r)
        self.assertIn("cannot reach " + down, r.stderr)
        self.assertEqual(self.snapshot(d), before)
        r = d.strata("pull", "Bad:Ref::")
        self.assertOneLineError(r)

    def test_tls(self):
        address = registry_double.host_address()
        self.assertIsNotNone(address, "this host has no non-loopback IPv4 address")
        fx = self.fixtures()
        reg = Registry(harness.temp_dir("strata-it-reg-"), address=address, tls=True).start()
        self.addCleanup(reg.stop)
        d = self.daemon()
        self.import_image(d, fx.layout("busybox"), "busybox")
        ref = "%s/tls/busybox:v1" % reg.host
        before = self.snapshot(d)
        r = d.strata("push", "busybox", ref)
        self.assertOneLineError(r)
        self.assertIn("TLS with %s failed" % reg.host, r.stderr)
        r = d.strata("pull", ref)
        self.assertOneLineError(r)
        self.assertIn("TLS with %s failed" % reg.host, r.stderr)
        self.assertEqual(self.snapshot(d), before)
        # --insecure-registry: TLS without verification.
        insecure = self.daemon("--insecure-registry", address)
        self.import_image(insecure, fx.layout("busybox"), "busybox")
        insecure.ok("push", "busybox", ref)
        insecure.ok("pull", ref)

    def trust(self, host, ca):
        """certs.d/HOST/ca.crt, as a docker user would install a CA."""
        d = os.path.join(self.certs_dir, host)
        os.makedirs(d, exist_ok=True)
        shutil.copy(ca.cert, os.path.join(d, "ca.crt"))

    def test_tls_with_certs_d_over_http2(self):
        # A registry on loopback with a certificate from the test's own CA.
        # Loopback registries are not verified by default; one with a
        # certs.d directory is, against the CAs there.
        fx = self.fixtures()
        pki = harness.temp_dir("strata-it-pki-")
        ca = registry_double.TestCa(pki)
        other_ca = registry_double.TestCa(harness.temp_dir("strata-it-pki-"), "strata-other-ca")
        reg = Registry(harness.temp_dir("strata-it-reg-"),
                       tls=ca.issue("registry", ["127.0.0.1"])).start()
        self.addCleanup(reg.stop)
        d = self.daemon("--debug")
        image = self.import_image(d, fx.layout("busybox"), "busybox")
        ref = "%s/tls/busybox:v1" % reg.host

        # Another CA in certs.d: the certificate is refused, nothing changes.
        self.trust(reg.host, other_ca)
        before = self.snapshot(d)
        for args in (("push", "busybox", ref), ("pull", ref)):
            r = d.strata(*args)
            self.assertOneLineError(r)
            self.assertIn("TLS with %s failed: SSL certificate problem" % reg.host, r.stderr)
        self.assertEqual(self.snapshot(d), before)

        # The registry's CA: push, then pull into another store, over HTTP/2.
        self.trust(reg.host, ca)
        d.ok("push", "busybox", ref)
        other = self.daemon("--debug")
        other.ok("pull", ref)
        self.assertEqual(self.image_id(other, ref), image)
        base = re.escape("https://%s/v2/tls/busybox/" % reg.host)
        for daemon, line in ((d, "PUT %smanifests/v1: HTTP/2 201" % base),
                             (other, "GET %smanifests/v1: HTTP/2 200" % base),
                             (other, "GET %sblobs/sha256:[0-9a-f]{64}: HTTP/2 200" % base)):
            self.assertRegex(daemon.log(), line)
        self.assertNotIn("HTTP/1.1", other.log())

    def test_client_certificate_from_certs_d(self):
        # A registry that asks for a client certificate signed by its CA:
        # refused without one, served with certs.d's client.cert/client.key.
        fx = self.fixtures()
        ca = registry_double.TestCa(harness.temp_dir("strata-it-pki-"))
        reg = Registry(harness.temp_dir("strata-it-reg-"), tls=ca.issue("registry", ["127.0.0.1"]),
                       client_ca=ca.cert).start()
        self.addCleanup(reg.stop)
        self.trust(reg.host, ca)
        d = self.daemon()
        self.import_image(d, fx.layout("busybox"), "busybox")
        ref = "%s/mtls/busybox:v1" % reg.host
        before = self.snapshot(d)
        r = d.strata("push", "busybox", ref)
        self.assertOneLineError(r)
        self.assertEqual(self.snapshot(d), before)
        cert, key = ca.issue("strata-client", client=True)
        shutil.copy(cert, os.path.join(self.certs_dir, reg.host, "client.cert"))
        r = d.strata("push", "busybox", ref)  # a .cert without its .key
        self.assertOneLineError(r)
        self.assertIn("client.cert: no client.key beside it", r.stderr)
        shutil.copy(key, os.path.join(self.certs_dir, reg.host, "client.key"))
        d.ok("push", "busybox", ref)
        other = self.daemon()
        other.ok("pull", ref)
        self.assertEqual(self.image_id(other, ref), harness.hex_id(fx.image_id("busybox")))

    def test_plain_http_only_when_named(self):
        # A plain-HTTP registry on the host's non-loopback address: refused
        # (https is all strata speaks to it) unless --insecure-registry
        # names it; then HTTP/1.1.
        address = registry_double.host_address()
        self.assertIsNotNone(address, "this host has no non-loopback IPv4 address")
        fx = self.fixtures()
        reg = Registry(harness.temp_dir("strata-it-reg-"), address=address).start()
        self.addCleanup(reg.stop)
        d = self.daemon()
        self.import_image(d, fx.layout("busybox"), "busybox")
        ref = "%s/plain/busybox:v1" % reg.host
        before = self.snapshot(d)
        for args in (("push", "busybox", ref), ("pull", ref)):
            r = d.strata(*args)
            self.assertOneLineError(r)
            self.assertIn("TLS with %s failed: the server does not speak TLS (plain HTTP needs "
                          "stratad --insecure-registry)" % reg.host, r.stderr)
        self.assertEqual(self.snapshot(d), before)
        insecure = self.daemon("--insecure-registry", reg.host, "--debug")
        self.import_image(insecure, fx.layout("busybox"), "busybox")
        insecure.ok("push", "busybox", ref)
        insecure.ok("pull", ref)
        self.assertIn("GET http://%s/v2/plain/busybox/manifests/v1: HTTP/1.1 200" % reg.host,
                      insecure.log())


if __name__ == "__main__":
    try:
        harness.require_tools("docker-registry", "htpasswd", "openssl")
    except harness.SkipModule as e:
        print("SKIP: %s" % e)
        sys.exit(harness.SKIP)
    harness.main()
