"""Synthetic OCI images for the maintenance tests, made fast in python
(tarfile, json, hashlib only): uncompressed layers, so a layer's digest is
its diffID, and every digest is known before the store sees the image.
"""

import hashlib
import io
import json
import os
import tarfile

LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def layer_tar(files, mtime=1700000000):
    """A tar of FILES: {path: bytes}; parent directories are added."""
    buf = io.BytesIO()
    dirs = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files):
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d in dirs:
                    continue
                dirs.add(d)
                info = tarfile.TarInfo(d)
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                info.mtime = mtime
                tar.addfile(info)
            data = files[path]
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = mtime
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_layout(dest, layers, tag="latest", created="2024-01-01T00:00:00Z"):
    """Writes an OCI layout of one image with LAYERS (tar bytes, bottom
    first) to DEST; returns {"id", "diff_ids", "config"} (hex digests)."""
    blobs = os.path.join(dest, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)

    def put(data):
        h = _sha(data)
        path = os.path.join(blobs, h)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
        return h

    diff_ids = [put(t) for t in layers]
    config = json.dumps({
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + d for d in diff_ids]},
        "history": [{"created": created, "created_by": "layer %d" % i}
                    for i in range(len(layers))],
    }, sort_keys=True).encode()
    config_id = put(config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + config_id, "size": len(config)},
        "layers": [{"mediaType": LAYER_TAR, "digest": "sha256:" + d, "size": len(t)}
                   for d, t in zip(diff_ids, layers)],
    }, sort_keys=True).encode()
    manifest_id = put(manifest)
    index = {
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": "sha256:" + manifest_id, "size": len(manifest),
                       "annotations": {"org.opencontainers.image.ref.name": tag}}],
    }
    with open(os.path.join(dest, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(dest, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    return {"id": config_id, "diff_ids": diff_ids, "config": config}


def layout_layers(layout):
    """(config bytes, [layer tar bytes decompressed]) of the one image in an
    OCI layout directory (as `strata image export --format oci` writes)."""
    import gzip
    blobs = os.path.join(layout, "blobs", "sha256")

    def blob(digest):
        with open(os.path.join(blobs, digest.split(":", 1)[1]), "rb") as f:
            return f.read()

    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    config = blob(manifest["config"]["digest"])
    tars = []
    for layer in manifest["layers"]:
        data = blob(layer["digest"])
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        elif data[:4] == b"\x28\xb5\x2f\xfd":
            raise AssertionError("zstd layers are not read here")
        tars.append(data)
    return config, tars
