#!/usr/bin/env python3
"""The monitor: stratad's /metrics checked by promtool and scraped by a real
Prometheus (a PromQL query returns a running container's volume series with
the right labels and values), low-space crossings on a small tmpfs, a hung
FUSE mount that must not hold up a scrape, and what a container sees of its
volumes' free space (/run/strata/volumes, df).

Needs root, busybox fixtures, promtool and prometheus (Debian's
`prometheus`); exits 77 without them."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

EXAMPLES = os.path.join(harness.SOURCE_DIR, "docs", "monitoring")
HUNG_FUSE = os.path.join(harness.BUILD_DIR, "tests", "monitor", "hung_fuse")
MIB = 1 << 20
LOOP = 'trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done'


def wait_until(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text format -> [(name, {label: value}, float)]."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise AssertionError("unparsable metrics line: %r" % line)
        labels = {k: v.replace('\\"', '"').replace("\\\\", "\\")
                  for k, v in _LABEL.findall(m.group(3) or "")}
        samples.append((m.group(1), labels, float(m.group(4))))
    return samples


def find(samples, name, **labels):
    return [(l, v) for n, l, v in samples
            if n == name and all(l.get(k) == want for k, want in labels.items())]


def one(samples, name, **labels):
    found = find(samples, name, **labels)
    if len(found) != 1:
        raise AssertionError("expected one %s%r, found %r" % (name, labels, found))
    return found[0][1]


class Tmpfs:
    """A small tmpfs mounted under a temporary directory."""

    def __init__(self, test, size_mib):
        self.path = os.path.join(harness.temp_dir("strata-it-tmpfs-"), "fs")
        os.mkdir(self.path)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mib, "tmpfs", self.path],
                       check=True)
        test.addCleanup(subprocess.run, ["umount", "-l", self.path])


class MonitorTestCase(harness.StrataTestCase):
    def setUp(self):
        self.fx = self.fixtures()

    def start_daemon(self, *extra):
        d = harness.Stratad(extra_args=["--metrics-addr", "127.0.0.1:0"] + list(extra))
        self.addCleanup(d.kill)
        self.addCleanup(self.stop_daemon, d)
        m = wait_until(lambda: re.search(r"serving metrics on 127\.0\.0\.1:(\d+)/metrics", d.log()),
                       what="the metrics line in stratad's log")
        d.metrics_port = int(m.group(1))
        return d

    def stop_daemon(self, d):
        if d.alive():
            r = d.strata("ps", "-a", "--format", "json")
            for c in (r.json() if r.rc == 0 else []):
                d.strata("rm", "-f", c["id"])
            d.stop(signal.SIGTERM, timeout=60)

    def scrape_text(self, d, timeout=30):
        url = "http://127.0.0.1:%d/metrics" % d.metrics_port
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read().decode()

    def scrape(self, d):
        return parse_metrics(self.scrape_text(d))

    def start_loop(self, d, name, *options):
        d.ok("run", "-d", "--name", name, *options, "busybox", "sh", "-c", LOOP)
        wait_until(lambda: "ready" in d.ok("logs", name).stdout, what=name + " ready")


class Metrics(MonitorTestCase):
    def test_promtool_accepts_a_real_scrape(self):
        promtool = shutil.which("promtool")
        d = self.start_daemon()
        self.import_image(d, self.fx.layout("busybox"), "busybox")
        bind = harness.temp_dir("strata-it-bind-")
        self.start_loop(d, "web", "-v", bind + ":/data", "-v", "cache:/cache", "--tmpfs", "/scratch")
        # Work through FUSE: a copy-up and a write.
        d.ok("exec", "web", "sh", "-c", "echo changed >> /etc/motd; echo x > /new; ls / > /dev/null")
        text = self.scrape_text(d)
        r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, "promtool check metrics:\n%s%s" % (r.stdout, r.stderr))
        s = parse_metrics(text)
        # Every kind of volume, each up.
        for kind, volume, mountpoint in [("upper", "upper", "/"), ("bind", bind, "/data"),
                                         ("named", "cache", "/cache"),
                                         ("tmpfs", "/scratch", "/scratch")]:
            with self.subTest(kind=kind):
                self.assertEqual(one(s, "strata_volume_up", container="web", kind=kind,
                                     volume=volume, mountpoint=mountpoint), 1.0)
        self.assertEqual(one(s, "strata_volume_up", kind="store", host_path=d.root), 1.0)
        tmpfs = find(s, "strata_volume_size_bytes", kind="tmpfs", container="web")
        self.assertEqual(tmpfs[0][0]["fstype"], "tmpfs")
        # Store, containers, FUSE.
        self.assertEqual(one(s, "strata_store_images"), 1.0)
        self.assertEqual(one(s, "strata_store_imports_total", result="succeeded"), 1.0)
        self.assertGreater(one(s, "strata_store_objects"), 0)
        self.assertEqual(one(s, "strata_container_state", container="web", state="running"), 1.0)
        self.assertEqual(one(s, "strata_container_state", container="web", state="exited"), 0.0)
        self.assertGreater(one(s, "strata_container_start_time_seconds", container="web"),
                           time.time() - 600)
        self.assertGreaterEqual(one(s, "strata_container_pids", container="web"), 1)
        self.assertGreater(one(s, "strata_container_memory_usage_bytes", container="web"), 0)
        self.assertGreater(one(s, "strata_fuse_operations_total", op="lookup"), 0)
        self.assertGreaterEqual(one(s, "strata_fuse_copy_ups_total"), 1)
        # Kernels with FUSE over io_uring (its module parameter) carry the
        # session's requests on the rings.
        if os.path.exists("/sys/module/fuse/parameters/enable_uring"):
            self.assertGreater(one(s, "strata_fuse_io_uring_requests_total"), 0)
        else:
            self.assertEqual(one(s, "strata_fuse_io_uring_requests_total"), 0)
        self.assertGreater(one(s, "strata_fuse_written_bytes_total"), 0)
        count = one(s, "strata_fuse_operation_duration_seconds_count", op="lookup")
        self.assertEqual(count, one(s, "strata_fuse_operation_duration_seconds_bucket",
                                    op="lookup", le="+Inf"))
        # The upper's disk usage is measured off the scrape: it shows soon.
        wait_until(lambda: find(self.scrape(d), "strata_container_upper_bytes", container="web"),
                   what="strata_container_upper_bytes")
        # A run that ended: its exit code and state.
        r = d.strata("run", "--name", "three", "busybox", "sh", "-c", "exit 3")
        self.assertEqual(r.rc, 3, r)
        s = self.scrape(d)
        self.assertEqual(one(s, "strata_container_last_exit_code", container="three"), 3.0)
        self.assertEqual(one(s, "strata_container_state", container="three", state="exited"), 1.0)
        # An export is counted with its bytes.
        out = os.path.join(harness.temp_dir(), "bb.tar")
        d.ok("image", "export", "busybox", out)
        s = self.scrape(d)
        self.assertEqual(one(s, "strata_store_exports_total", result="succeeded"), 1.0)
        self.assertEqual(one(s, "strata_store_export_bytes_total"), os.path.getsize(out))

    def test_create_reads_the_entrypoint_ahead(self):
        # A new root's first exec would read the binary through FUSE; create
        # has stratad read it ahead (runtime/root_warmup.h).
        d = self.start_daemon()
        self.import_image(d, self.fx.layout("busybox"), "busybox")
        before = one(self.scrape(d), "strata_fuse_read_bytes_total")
        d.ok("create", "--name", "pre", "busybox", "true")
        wait_until(lambda: one(self.scrape(d), "strata_fuse_read_bytes_total") - before >= MIB,
                   timeout=10, what="the entrypoint (busybox, 2 MB) read ahead")
        # A command the image lacks: nothing to read, and create still works.
        d.ok("create", "--name", "missing", "busybox", "no-such-command")
        # And the mount points it lacks are made before the start.
        hosts = os.path.join(d.root, "containers", d.ok("inspect", "pre").json()[0]["id"],
                             "upper", "etc", "hosts")
        wait_until(lambda: os.path.exists(hosts), timeout=10, what="/etc/hosts made in the upper")
        d.ok("start", "pre")
        self.assertEqual(d.ok("wait", "pre").stdout.strip(), "0")

    def test_gc_and_cron_runs_are_counted(self):
        d = self.start_daemon()
        self.import_image(d, self.fx.layout("busybox"), "busybox")
        self.start_loop(d, "web")
        d.ok("cron", "add", "tick", "--schedule", "@every 1s", "--container", "web", "--", "true")
        d.ok("gc")
        s = self.scrape(d)
        self.assertEqual(one(s, "strata_gc_runs_total", result="succeeded"), 1.0)
        self.assertEqual(one(s, "strata_gc_runs_total", result="failed"), 0.0)
        self.assertGreater(one(s, "strata_gc_last_run_timestamp_seconds"), time.time() - 600)
        self.assertGreaterEqual(one(s, "strata_gc_last_duration_seconds"), 0)
        wait_until(lambda: one(self.scrape(d), "strata_cron_runs_total", cron_job="tick",
                               result="succeeded") >= 1, what="a cron run")
        s = self.scrape(d)
        self.assertEqual(one(s, "strata_cron_runs_total", cron_job="tick", result="failed"), 0.0)
        self.assertGreater(one(s, "strata_cron_last_run_timestamp_seconds", cron_job="tick"),
                           time.time() - 600)

    def test_low_space_flips_and_logs_once_each_way(self):
        fs = Tmpfs(self, 8)
        d = self.start_daemon("--low-space", "50")
        self.import_image(d, self.fx.layout("busybox"), "busybox")
        self.start_loop(d, "filler", "-v", fs.path + ":/data")

        def low():
            return one(self.scrape(d), "strata_volume_low", container="filler", kind="bind")

        self.assertEqual(low(), 0.0)
        self.assertEqual(one(self.scrape(d), "strata_volume_low_space_threshold_ratio",
                             container="filler", kind="bind"), 0.5)
        # Fill it from inside the container: 5 of 8 MiB, below 50% available.
        d.ok("exec", "filler", "dd", "if=/dev/zero", "of=/data/big", "bs=1M", "count=5")
        wait_until(lambda: low() == 1.0, what="strata_volume_low 1")
        for _ in range(3):  # more scrapes: still low, no new line
            self.assertEqual(low(), 1.0)
        d.ok("exec", "filler", "rm", "/data/big")
        wait_until(lambda: low() == 0.0, what="strata_volume_low 0")
        self.assertEqual(low(), 0.0)
        log = d.log()
        went = [l for l in log.splitlines() if "is low on space" in l and fs.path in l]
        back = [l for l in log.splitlines() if "has space again" in l and fs.path in l]
        self.assertEqual(len(went), 1, log)
        self.assertEqual(len(back), 1, log)
        self.assertIn("container filler", went[0])

    def test_named_volume_threshold_overrides(self):
        d = self.start_daemon("--low-space", "0")
        d.ok("volume", "create", "--label", "strata.low-space=100", "full")
        d.ok("volume", "create", "--low-space", "0", "never")
        r = d.strata("volume", "create", "--low-space", "101", "bad")
        self.assertEqual(r.rc, 2, r)
        s = self.scrape(d)
        # 100%: any filesystem with less than all of it available is low.
        self.assertEqual(one(s, "strata_volume_low_space_threshold_ratio", volume="full",
                             kind="named"), 1.0)
        self.assertEqual(one(s, "strata_volume_low", volume="full", kind="named"), 1.0)
        self.assertEqual(one(s, "strata_volume_low", kind="store"), 0.0)
        self.assertEqual(one(s, "strata_volume_low_space_threshold_ratio", volume="never",
                             kind="named"), 0.0)
        self.assertEqual(one(s, "strata_volume_low", volume="never", kind="named"), 0.0)

    def test_hung_mount_does_not_hold_up_a_scrape(self):
        self.assertTrue(os.access(HUNG_FUSE, os.X_OK), HUNG_FUSE + " was not built")
        mnt = os.path.join(harness.temp_dir("strata-it-hung-"), "mnt")
        os.mkdir(mnt)
        hung = subprocess.Popen([HUNG_FUSE, mnt], stderr=subprocess.PIPE)

        def unhang():
            hung.kill()
            hung.wait()
            subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)

        self.addCleanup(unhang)
        wait_until(lambda: os.path.ismount(mnt), what="the hung FUSE mount")
        d = self.start_daemon("--statfs-timeout", "1")
        self.import_image(d, self.fx.layout("busybox"), "busybox")
        # Created, not started: its volume is listed without being touched.
        d.ok("create", "--name", "stuck", "-v", mnt + ":/data", "busybox")
        for attempt in range(3):
            t0 = time.monotonic()
            s = self.scrape(d)
            took = time.monotonic() - t0
            with self.subTest(scrape=attempt):
                self.assertLess(took, 2.5, "scrape %d took %.2fs" % (attempt, took))
                self.assertEqual(one(s, "strata_volume_up", container="stuck", kind="bind"), 0.0)
                self.assertEqual(find(s, "strata_volume_size_bytes", container="stuck",
                                      kind="bind"), [])
                self.assertEqual(one(s, "strata_volume_up", container="stuck", kind="upper"), 1.0)
                self.assertEqual(one(s, "strata_volume_up", kind="store"), 1.0)
                self.assertEqual(one(s, "strata_volume_hung_probes"), 1.0)
        # Once it answers again (the server gone), the probe comes back.
        unhang()
        wait_until(lambda: one(self.scrape(d), "strata_volume_hung_probes") == 0.0,
                   what="the stuck statfs to return")
        self.assertTrue(d.alive())


class Examples(harness.StrataTestCase):
    """docs/monitoring: the alert rules and the scrape config pass promtool,
    and every query of the Grafana dashboard is valid PromQL."""

    def promtool(self, *args):
        r = subprocess.run(["promtool", "check", *args], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, "promtool check %s:\n%s%s" % (args, r.stdout, r.stderr))
        return r.stdout

    def test_rules_config_and_dashboard(self):
        self.assertIn("SUCCESS: 10 rules found",
                      self.promtool("rules", os.path.join(EXAMPLES, "strata-alerts.yml")))
        self.promtool("config", os.path.join(EXAMPLES, "prometheus.yml"))
        with open(os.path.join(EXAMPLES, "grafana-dashboard.json")) as f:
            dash = json.load(f)
        exprs = [t["expr"].replace("$container", ".*")
                 for p in dash["panels"] for t in p["targets"]]
        self.assertGreaterEqual(len(exprs), 10)
        rules = os.path.join(harness.temp_dir(), "dashboard-rules.yml")
        with open(rules, "w") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n")
            for i, e in enumerate(exprs):
                f.write("      - record: dashboard:q%d\n        expr: %s\n" % (i, json.dumps(e)))
        self.promtool("rules", rules)


class InsideContainer(MonitorTestCase):
    def assertClose(self, a, b, what, within=MIB):
        self.assertLessEqual(abs(a - b), within, "%s: %d vs %d" % (what, a, b))

    def assertBetween(self, a, before, after, what, within=MIB):
        """a within `within` of the host's figure, taken before and after
        the container's: other tests write to the same filesystems."""
        lo, hi = min(before, after) - within, max(before, after) + within
        self.assertTrue(lo <= a <= hi, "%s: %d vs host %d .. %d" % (what, a, before, after))

    def test_run_strata_volumes_and_df_match_the_host(self):
        fs = Tmpfs(self, 16)
        d = self.start_daemon()
        self.import_image(d, self.fx.layout("busybox"), "busybox")
        self.start_loop(d, "web", "-v", fs.path + ":/data", "-v", "cache:/cache",
                        "--tmpfs", "/scratch")
        info = harness._one(d.ok("inspect", "web", "--format", "json").json())
        cid, pid = info["id"], info["state"]["pid"]
        host = {"/": os.path.join(d.root, "containers", cid, "upper"), "/data": fs.path,
                "/cache": os.path.join(d.root, "volumes", "cache", "data"),
                "/scratch": "/proc/%d/root/scratch" % pid}

        def lines():
            text = d.ok("exec", "web", "cat", "/run/strata/volumes").stdout
            rows = [l.split() for l in text.splitlines() if not l.startswith("#")]
            return {r[0]: r for r in rows}

        before = {mp: os.statvfs(path) for mp, path in host.items()}
        rows = lines()
        after = {mp: os.statvfs(path) for mp, path in host.items()}
        self.assertEqual(sorted(rows), sorted(host))
        kinds = {"/": "upper", "/data": "bind", "/cache": "named", "/scratch": "tmpfs"}
        for mp in host:
            with self.subTest(mountpoint=mp):
                b, a = before[mp], after[mp]
                row = rows[mp]
                self.assertEqual(row[1], kinds[mp])
                self.assertBetween(int(row[2]), b.f_blocks * b.f_frsize, a.f_blocks * a.f_frsize,
                                   "size")
                self.assertBetween(int(row[3]), b.f_bfree * b.f_frsize, a.f_bfree * a.f_frsize,
                                   "free")
                self.assertBetween(int(row[4]), b.f_bavail * b.f_frsize, a.f_bavail * a.f_frsize,
                                   "avail")
                self.assertBetween(int(row[5]), b.f_files, a.f_files, "files", within=64)
                self.assertBetween(int(row[6]), b.f_ffree, a.f_ffree, "files_free", within=64)
        # JSON, the same figures.
        js = json.loads(d.ok("exec", "web", "cat", "/run/strata/volumes.json").stdout)
        by_mp = {v["mountpoint"]: v for v in js}
        st = os.statvfs(fs.path)
        self.assertEqual(by_mp["/data"]["kind"], "bind")
        self.assertTrue(by_mp["/data"]["up"])
        self.assertEqual(by_mp["/data"]["size_bytes"], st.f_blocks * st.f_frsize)
        self.assertClose(by_mp["/data"]["avail_bytes"], st.f_bavail * st.f_frsize, "json avail")
        # Live: each read is fresh.
        before = int(lines()["/data"][4])
        d.ok("exec", "web", "dd", "if=/dev/zero", "of=/data/f", "bs=1M", "count=4")
        after = int(lines()["/data"][4])
        self.assertClose(before - after, 4 * MIB, "avail after writing 4 MiB", within=MIB // 4)
        # Read-only.
        r = d.strata("exec", "web", "sh", "-c", "echo x > /run/strata/volumes")
        self.assertNotEqual(r.rc, 0, r)
        r = d.strata("exec", "web", "touch", "/run/strata/new")
        self.assertNotEqual(r.rc, 0, r)
        # df in the container: / shows the host filesystem behind the upper,
        # a volume its own.
        for mp in ("/", "/data"):
            with self.subTest(df=mp):
                b = os.statvfs(host[mp])
                out = d.ok("exec", "web", "df", "-P", mp).stdout.splitlines()
                a = os.statvfs(host[mp])
                fields = out[-1].split()
                self.assertBetween(int(fields[1]) * 1024, b.f_blocks * b.f_frsize,
                                   a.f_blocks * a.f_frsize, "df size")
                self.assertBetween(int(fields[3]) * 1024, b.f_bavail * b.f_frsize,
                                   a.f_bavail * a.f_frsize, "df avail")
        # The host sees every container's directory under mnt/status.
        self.assertEqual(os.listdir(os.path.join(d.root, "mnt", "status")), [cid])

    def test_a_tmpfs_volume_is_measured_inside_the_container_root(self):
        # An image whose /x is a symlink to a host directory holding a host
        # filesystem (a 16 MiB tmpfs at <dir>/fs): the runtime mounts
        # --tmpfs /x/fs inside the root; what stratad measures must be that
        # tmpfs too, not the host's <dir>/fs the symlink names on the host.
        host_fs = Tmpfs(self, 16)
        host_dir = os.path.dirname(host_fs.path)
        d = self.start_daemon()
        self.import_image(d, self.fx.layout("busybox"), "busybox")
        d.ok("run", "--name", "mk", "busybox", "ln", "-s", host_dir, "/x")
        d.ok("commit", "mk", "evil")
        self.start_loop(d, "web", "--tmpfs", "/x/fs", "evil")
        text = d.ok("exec", "web", "cat", "/run/strata/volumes").stdout
        rows = {r[0]: r for r in (l.split() for l in text.splitlines()
                                   if not l.startswith("#"))}
        self.assertIn("/x/fs", rows)
        df = d.ok("exec", "web", "df", "-P", "/x/fs").stdout.splitlines()[-1].split()
        self.assertNotEqual(int(rows["/x/fs"][2]), 16 * MIB, "the host's tmpfs was measured")
        self.assertClose(int(rows["/x/fs"][2]), int(df[1]) * 1024, "size of the container's tmpfs")
        metrics = self.scrape(d)
        size = find(metrics, "strata_volume_size_bytes", kind="tmpfs", container="web")
        self.assertClose(int(size[0][1]), int(df[1]) * 1024, "strata_volume_size_bytes")


class Prometheus(MonitorTestCase):
    def test_promql_returns_a_running_containers_volumes(self):
        prom = shutil.which("prometheus")
        fs = Tmpfs(self, 16)
        with open(os.path.join(fs.path, "ballast"), "wb") as f:
            f.write(b"\0" * (3 * MIB))
        d = self.start_daemon()
        self.import_image(d, self.fx.layout("busybox"), "busybox")
        self.start_loop(d, "web", "-v", fs.path + ":/data:ro")

        work = harness.temp_dir("strata-it-prom-")
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: strata\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % d.metrics_port)
        port = free_port()
        log = open(os.path.join(work, "prometheus.log"), "wb")
        p = subprocess.Popen([prom, "--config.file=" + config,
                              "--storage.tsdb.path=" + os.path.join(work, "data"),
                              "--web.listen-address=127.0.0.1:%d" % port],
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

        def stop():
            p.terminate()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

        self.addCleanup(stop)
        api = "http://127.0.0.1:%d/api/v1/query?query=" % port

        def query(q):
            try:
                with urllib.request.urlopen(api + urllib.parse.quote(q), timeout=10) as r:
                    body = json.load(r)
            except OSError:
                return None
            self.assertEqual(body["status"], "success", body)
            return body["data"]["result"]

        q = 'strata_volume_avail_bytes{container="web",kind="bind"}'
        result = wait_until(lambda: query(q), timeout=60, what="Prometheus to have " + q)
        self.assertEqual(len(result), 1, result)
        labels = result[0]["metric"]
        for k, v in {"job": "strata", "volume": fs.path, "kind": "bind", "container": "web",
                     "host_path": fs.path, "mountpoint": "/data", "device": "tmpfs",
                     "fstype": "tmpfs"}.items():
            self.assertEqual(labels.get(k), v, labels)
        st = os.statvfs(fs.path)
        self.assertEqual(float(result[0]["value"][1]), st.f_bavail * st.f_frsize)
        size = query('strata_volume_size_bytes{container="web",kind="bind"}')
        self.assertEqual(float(size[0]["value"][1]), st.f_blocks * st.f_frsize)
        ro = query('strata_volume_readonly{container="web",kind="bind"}')
        self.assertEqual(float(ro[0]["value"][1]), 1.0)
        files_free = query('strata_volume_files_free{container="web",kind="bind"}')
        self.assertEqual(float(files_free[0]["value"][1]), st.f_ffree)
        up = query('strata_volume_up{container="web"}')
        self.assertEqual(sorted(r["metric"]["kind"] for r in up), ["bind", "upper"])
        self.assertTrue(all(r["value"][1] == "1" for r in up), up)


if __name__ == "__main__":
    try:
        harness.require_tools("promtool", "prometheus")  # Debian's prometheus
    except harness.SkipModule as e:
        print("SKIP: %s" % e)
        sys.exit(harness.SKIP)
    harness.main()
