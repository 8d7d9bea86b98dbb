"""Test doubles around Debian's docker-registry, for test_registry.py and
tools/bench/pull (python3 standard library only).

Registry   a docker-registry on 127.0.0.1:PORT with a temporary config and
           filesystem storage; optional htpasswd (bcrypt) basic auth and TLS
           (a self-signed certificate, or one of make_ca's).
Proxy      an HTTP proxy in front of it that records every request and can
           throttle blob downloads, corrupt a blob, drop every connection
           (stop, then start again on the same port), and demand bearer
           tokens from its own token endpoint (/token), the test double of a
           token server.
"""

import base64
import hashlib
import http.client
import http.server
import itertools
import json
import os
import secrets
import socket
import subprocess
import threading
import time
import urllib.request


def host_address():
    """A non-loopback IPv4 address of this host (where plain HTTP is not the
    default), or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # no packet is sent
        address = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if address.startswith("127.") else address


def serve(port, handler):
    """A threaded HTTP server for handler on 127.0.0.1:port, serving in the
    background until close()."""
    class Server(http.server.ThreadingHTTPServer):
        allow_reuse_address = True
        daemon_threads = True

    server = Server(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def close(server):
    """Stops serve()'s server (if any) and closes its listener."""
    if server:
        server.shutdown()
        server.server_close()


class TestCa:
    """A throwaway certificate authority made by openssl in DIR (ca.crt), and
    server certificates it signs."""

    def __init__(self, workdir, name="strata-test-ca"):
        self.dir = workdir
        self.cert = os.path.join(workdir, "ca.crt")
        self.key = os.path.join(workdir, "ca.key")
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-days", "1", "-subj", "/CN=" + name, "-keyout", self.key,
                      "-out", self.cert)

    def _openssl(self, *args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True)

    def issue(self, name, addresses=(), client=False):
        """A server certificate and key for IP ADDRESSES, or a client one:
        (cert, key) paths."""
        cert = os.path.join(self.dir, name + ".crt")
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=%s\n"
                    % ("clientAuth" if client else "serverAuth"))
            if addresses:
                f.write("subjectAltName=%s\n" % ",".join("IP:" + a for a in addresses))
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-subj", "/CN=" + name, "-keyout", key, "-out", csr)
        self._openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
                      "-CAcreateserial", "-days", "1", "-extfile", ext, "-out", cert)
        return cert, key


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Registry:
    def __init__(self, workdir, port=None, htpasswd=None, address="127.0.0.1", tls=False,
                 client_ca=None):
        self.dir = workdir
        self.address = address
        self.tls = tls
        self.port = port or free_port()
        self.proc = None
        self.log_path = os.path.join(workdir, "registry.log")
        config = [
            "version: 0.1",
            "log:",
            "  level: info",
            "storage:",
            "  filesystem:",
            "    rootdirectory: %s" % os.path.join(workdir, "data"),
            "http:",
            "  addr: %s:%d" % (address, self.port),
        ]
        if tls is True:
            # A self-signed certificate: verification must fail.
            cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                            "1", "-subj", "/CN=strata-test", "-keyout", key, "-out", cert],
                           check=True, capture_output=True)
            config += ["  tls:", "    certificate: %s" % cert, "    key: %s" % key]
        elif tls:
            cert, key = tls  # (certificate, key) files, e.g. from TestCa.issue
            config += ["  tls:", "    certificate: %s" % cert, "    key: %s" % key]
            if client_ca:
                # Clients must present a certificate this CA signed.
                config += ["    clientcas:", "      - %s" % client_ca]
        if htpasswd:
            user, password = htpasswd
            path = os.path.join(workdir, "htpasswd")
            out = subprocess.run(["htpasswd", "-Bbn", user, password], check=True,
                                 capture_output=True, text=True).stdout
            with open(path, "w") as f:
                f.write(out)
            config += ["auth:", "  htpasswd:", "    realm: strata-test", "    path: %s" % path]
        self.config = os.path.join(workdir, "config.yml")
        with open(self.config, "w") as f:
            f.write("\n".join(config) + "\n")

    @property
    def host(self):
        return "%s:%d" % (self.address, self.port)

    def start(self, timeout=20):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["docker-registry", "serve", self.config], stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.tls:
                    socket.create_connection((self.address, self.port), timeout=1).close()
                    return self
                urllib.request.urlopen("http://%s/v2/" % self.host, timeout=1)
                return self
            except urllib.error.HTTPError:
                return self  # 401: up, with auth
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError("docker-registry exited: %s" % self.log())
                time.sleep(0.05)
        raise AssertionError("docker-registry did not start: %s" % self.log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-3000:].decode(errors="replace")
        except OSError:
            return ""


class Proxy:
    """Forwards to UPSTREAM (host:port); records (method, path, headers)."""

    def __init__(self, upstream, port=None):
        self.upstream = upstream
        self.port = port or free_port()
        self.requests = []
        self.lock = threading.Lock()
        self.throttle = None       # bytes per second for blob GETs
        self.corrupt = set()       # blob digests whose content is altered
        self.stream_progress = 0   # blob bytes sent by throttled responses
        self.tokens = None         # when a set: bearer tokens required
        self.credentials = None    # (user, password) the token endpoint wants
        self.token_requests = []
        self.token_lifetime = 300  # expires_in of the tokens handed out
        self.server = None
        self.generation = 0

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    def require_tokens(self, credentials=None):
        self.tokens = set()
        self.credentials = credentials

    def start(self):
        proxy = self
        generation = self.generation

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _token(self):
                with proxy.lock:
                    proxy.token_requests.append(self.path)
                if proxy.credentials:
                    want = "Basic " + base64.b64encode(
                        ("%s:%s" % proxy.credentials).encode()).decode()
                    if self.headers.get("Authorization") != want:
                        return self._reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                token = secrets.token_hex(16)
                with proxy.lock:
                    proxy.tokens.add(token)
                self._reply(200, json.dumps({"token": token,
                                             "expires_in": proxy.token_lifetime}).encode())

            def _reply(self, status, body, headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _forward(self):
                if self.path.startswith("/token"):
                    return self._token()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy.lock:
                    proxy.requests.append((self.command, self.path, dict(self.headers)))
                if proxy.tokens is not None:
                    auth = self.headers.get("Authorization", "")
                    if not (auth.startswith("Bearer ") and auth[7:] in proxy.tokens):
                        parts = self.path.split("/")
                        name = "/".join(parts[2:-2]) if len(parts) > 4 else ""
                        challenge = ('Bearer realm="http://%s/token",service="strata-test"'
                                     % proxy.host)
                        if name:
                            challenge += ',scope="repository:%s:pull"' % name
                        return self._reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                                           [("WWW-Authenticate", challenge)])
                headers = {}
                for k, v in self.headers.items():
                    if k.lower() in ("authorization", "connection"):
                        continue
                    headers[k] = headers[k] + ", " + v if k in headers else v
                conn = http.client.HTTPConnection(proxy.upstream, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                except OSError:
                    return self._reply(502, b'{"errors":[{"code":"UNAVAILABLE"}]}')
                data = resp.read() if self.command != "HEAD" else b""
                digest = self.path.rsplit("/", 1)[-1]
                is_blob = "/blobs/sha256:" in self.path and self.command == "GET"
                if is_blob and digest in proxy.corrupt and data:
                    mid = len(data) // 2
                    data = data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:]
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(k, v)
                length = resp.getheader("Content-Length") if self.command == "HEAD" else len(data)
                self.send_header("Content-Length", str(length or 0))
                self.end_headers()
                conn.close()
                if self.command == "HEAD":
                    return
                if is_blob and proxy.throttle:
                    step = max(1, proxy.throttle // 20)
                    for i in range(0, len(data), step):
                        if proxy.generation != generation:
                            self.close_connection = True
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                        self.wfile.write(data[i:i + step])
                        with proxy.lock:
                            proxy.stream_progress += len(data[i:i + step])
                        time.sleep(0.05)
                else:
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward

        self.server = serve(self.port, Handler)
        return self

    def stop(self):
        """Closes the listener and cuts every response in flight."""
        self.generation += 1
        close(self.server)
        self.server = None

    def count(self, predicate):
        with self.lock:
            return sum(1 for m, p, h in self.requests if predicate(m, p, h))

    def reset(self):
        with self.lock:
            self.requests = []
            self.token_requests = []


def is_layer_upload(method, path, headers):
    """A request that sends blob content (PATCH, or a PUT of an upload)."""
    return "/blobs/uploads/" in path and method in ("PATCH", "PUT")


class HostileRegistry:
    """A registry of its own (no docker-registry behind it) serving one
    made-up image, repository "hostile/app", tag "v1", and misbehaving on
    request: for test_registry_hostile.py. Records (method, path, headers).

      image(layers)    the image: a list of (name, content) per layer, or
                       of ready gzip blobs (bytes) with their diffID given
                       as (blob, diff_id); returns the manifest's digest
      extra[digest]    bytes sent after a blob's content (-1: endlessly)
      trickle          "manifest", "token" or a blob's digest: headers, then
                       one byte every 0.5 s (a blob's content, then spaces),
                       endlessly
      redirect_blobs   "http://HOST:PORT": blob GETs are redirected there
      basic            (user, password) required (Basic) on every request
      bearer           a token from /token required on every request
    """

    def __init__(self):
        self.port = free_port()
        self.requests = []
        self.lock = threading.Lock()
        self.manifests = {}
        self.blobs = {}
        self.extra = {}
        self.trickle = None
        self.redirect_blobs = None
        self.basic = None
        self.bearer = False
        self.stopped = threading.Event()
        self.server = None

    @property
    def host(self):
        return "127.0.0.1:%d" % self.port

    @staticmethod
    def layer(files):
        """A gzip layer blob holding FILES ({name: bytes}): (blob, diff_id)."""
        import gzip
        import io
        import tarfile
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name, content in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(content)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(content))
        raw = buf.getvalue()
        return gzip.compress(raw, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest()

    def add_blob(self, data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        return digest

    def image(self, layers, diff_ids=None):
        """LAYERS: [(blob, diff_id)]. The config lists DIFF_IDS if given."""
        config = json.dumps({
            "architecture": "amd64", "os": "linux", "config": {},
            "rootfs": {"type": "layers",
                       "diff_ids": diff_ids if diff_ids is not None else [d for _, d in layers]},
        }).encode()
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": self.add_blob(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": self.add_blob(blob), "size": len(blob)}
                       for blob, _ in layers],
        }).encode()
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        self.manifests["v1"] = self.manifests[digest] = manifest
        return digest

    def start(self):
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body, headers=(), content_type="application/json"):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _trickle(self, content_type, data=b""):
                # No length: the body ends when the connection does (never):
                # DATA a byte at a time, then spaces.
                self.close_connection = True
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Connection", "close")
                self.end_headers()
                for i in itertools.count():
                    if registry.stopped.wait(0.5):
                        return
                    self.wfile.write(data[i:i + 1] or b" ")
                    self.wfile.flush()

            def do_GET(self):
                with registry.lock:
                    registry.requests.append((self.command, self.path, dict(self.headers)))
                try:
                    self._serve()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_HEAD = do_GET

            def _serve(self):
                if self.path.startswith("/token"):
                    if registry.trickle == "token":
                        return self._trickle("application/json")
                    return self._reply(200, b'{"token": "t"}')
                if registry.basic:
                    want = "Basic " + base64.b64encode(
                        ("%s:%s" % registry.basic).encode()).decode()
                    if self.headers.get("Authorization") != want:
                        return self._reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                                           [("WWW-Authenticate", 'Basic realm="hostile"')])
                if registry.bearer and self.headers.get("Authorization") != "Bearer t":
                    challenge = 'Bearer realm="http://%s/token",service="hostile"' % registry.host
                    return self._reply(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                                       [("WWW-Authenticate", challenge)])
                if self.path == "/v2/":
                    return self._reply(200, b"{}")
                parts = self.path.split("/")
                if len(parts) < 6 or "/".join(parts[2:4]) != "hostile/app":
                    return self._reply(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')
                kind, ref = parts[4], parts[5]
                if kind == "manifests" and ref in registry.manifests:
                    if registry.trickle == "manifest":
                        return self._trickle("application/vnd.oci.image.manifest.v1+json")
                    return self._reply(200, registry.manifests[ref], content_type=(
                        "application/vnd.oci.image.manifest.v1+json"))
                if kind == "blobs" and ref in registry.blobs:
                    if registry.redirect_blobs:
                        return self._reply(307, b"", [
                            ("Location", registry.redirect_blobs + self.path)])
                    if registry.trickle == ref:
                        return self._trickle("application/octet-stream",
                                             registry.blobs[ref])
                    return self._blob(registry.blobs[ref], registry.extra.get(ref, 0))
                return self._reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')

            def _blob(self, data, extra):
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if extra < 0:
                    self.close_connection = True
                    self.send_header("Connection", "close")
                else:
                    self.send_header("Content-Length", str(len(data) + extra))
                self.end_headers()
                if self.command == "HEAD":
                    return
                self.wfile.write(data)
                sent, chunk = 0, b"\0" * 65536
                while (extra < 0 or sent < extra) and not registry.stopped.is_set():
                    n = len(chunk) if extra < 0 else min(len(chunk), extra - sent)
                    self.wfile.write(chunk[:n])
                    sent += n

        self.server = serve(self.port, Handler)
        return self

    def stop(self):
        self.stopped.set()
        close(self.server)
        self.server = None

    count = Proxy.count
