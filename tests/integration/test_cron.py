#!/usr/bin/env python3
"""Scheduled jobs (strata cron): exec jobs into a running container, run
jobs from an image, their counts, overlap, timeouts, failures, history and
output, label-defined jobs, and jobs surviving a restart of stratad.

Every container is removed and every stratad stopped when a test ends,
passed or not."""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from test_containers import LOOP, delete_leftovers, wait_until  # noqa: E402


class CronTestCase(harness.StrataTestCase):
    def setUp(self):
        self.fx = self.fixtures()
        self.d = self.start_daemon()
        self.import_image(self.d, self.fx.layout("busybox"), "busybox")

    def start_daemon(self, **kw):
        d = harness.Stratad(**kw)
        self.addCleanup(d.kill)
        self.addCleanup(delete_leftovers, d.root)
        self.addCleanup(self.stop_daemon, d)
        return d

    def stop_daemon(self, d):
        if d.alive():
            for job in d.ok("cron", "ls", "-q").stdout.split():
                d.strata("cron", "rm", job)
            for c in d.ok("ps", "-a", "--format", "json").json():
                d.strata("rm", "-f", c["id"])
            d.stop(signal.SIGTERM, timeout=60)

    def start_loop(self, name, *options):
        self.d.ok("run", "-d", "--name", name, *options, "busybox", "sh", "-c", LOOP)
        wait_until(lambda: "ready" in self.d.ok("logs", name).stdout, what=name + " ready")

    def history(self, job):
        return self.d.ok("cron", "history", job, "--format", "json").json()

    def results(self, job):
        return [r["result"] for r in self.history(job)]

    def volume_file(self, volume, name):
        return os.path.join(self.d.root, "volumes", volume, "data", name)

    def lines_of(self, path):
        try:
            with open(path) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


class ExecJobs(CronTestCase):
    def test_every_second_runs_on_time_with_history_and_log(self):
        self.start_loop("app", "-v", "ticks:/data")
        added = time.monotonic()
        r = self.d.ok("cron", "add", "tick", "--schedule", "@every 1s", "--container", "app",
                      "--", "sh", "-c", "echo x >> /data/ticks; echo tick-out; echo tick-err >&2")
        self.assertTrue(r.stdout.startswith("tick (next run "), r)
        time.sleep(5.5)
        listing = self.d.ok("cron", "ls", "--format", "json").json()
        self.assertEqual([j["name"] for j in listing], ["tick"])
        self.assertEqual(listing[0]["kind"], "exec")
        self.assertEqual(listing[0]["container"], "app")
        self.d.ok("cron", "rm", "tick")
        elapsed = time.monotonic() - added
        time.sleep(1.2)  # a run started just before rm may still append
        runs = len(self.lines_of(self.volume_file("ticks", "ticks")))
        # One run per whole second between add and rm, give or take one for
        # where the first second started.
        self.assertLessEqual(abs(runs - int(elapsed)), 1,
                             "%d runs in %.1f s" % (runs, elapsed))
        # Removed: no more runs.
        time.sleep(1.5)
        self.assertEqual(len(self.lines_of(self.volume_file("ticks", "ticks"))), runs)
        self.assertEqual(self.d.ok("cron", "ls", "-q").stdout, "")
        r = self.d.strata("cron", "history", "tick")
        self.assertOneLineError(r)
        self.assertIn("no such cron job: tick", r.stderr)
        # The output went to the container's log, marked as the job's.
        logs = self.d.ok("logs", "app")
        self.assertIn("[cron tick] tick-out\n", logs.stdout)
        self.assertIn("[cron tick] tick-err\n", logs.stderr)

    def test_history_output_and_bounded(self):
        self.start_loop("app")
        self.d.ok("cron", "add", "talk", "--schedule", "@every 1s", "--container", "app",
                  "--", "sh", "-c", "echo said-$$; exit 3")
        wait_until(lambda: len(self.history("talk")) >= 2, timeout=10, what="two runs")
        runs = self.history("talk")
        for run in runs:
            self.assertEqual(run["result"], "failed")
            self.assertEqual(run["exit_code"], 3)
            self.assertEqual(run["message"], "exited with code 3")
            self.assertRegex(run["output"], r"^said-\d+\n$")
            self.assertGreater(run["started"], 0)
            self.assertGreaterEqual(run["duration"], 0)
        self.assertEqual([r["seq"] for r in runs], list(range(1, len(runs) + 1)))
        text = self.d.ok("cron", "history", "talk").stdout
        self.assertRegex(text, r"#1  \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ  failed  [\d.]+s  exit 3  "
                               r"\(exited with code 3\)\n    said-\d+\n")
        # 64 KiB of output at most, the last bytes.
        self.d.ok("cron", "add", "loud", "--schedule", "@every 1s", "--container", "app",
                  "--", "sh", "-c", "yes 0123456789abcdef | head -c 200000; echo END")
        wait_until(lambda: self.history("loud"), timeout=10, what="a loud run")
        run = self.history("loud")[0]
        self.assertEqual(run["result"], "succeeded", run["message"])
        self.assertEqual(len(run["output"]), 64 * 1024)
        self.assertTrue(run["output"].endswith("END\n"))
        self.assertTrue(run["output_truncated"])

    def test_overlap_skipped_and_timeout_kills(self):
        self.start_loop("app")
        self.d.ok("cron", "add", "slow", "--schedule", "@every 1s", "--container", "app",
                  "--", "sleep", "2.5")
        self.d.ok("cron", "add", "hang", "--schedule", "@every 1s", "--timeout", "1",
                  "--container", "app", "--", "sh", "-c", "echo started; sleep 30; echo never")
        wait_until(lambda: "succeeded" in self.results("slow") and
                   "skipped" in self.results("slow"), timeout=12, what="a skipped run")
        skipped = [r for r in self.history("slow") if r["result"] == "skipped"]
        self.assertIn("still running", skipped[0]["message"])
        wait_until(lambda: "timed_out" in self.results("hang"), timeout=10, what="a timeout")
        run = [r for r in self.history("hang") if r["result"] == "timed_out"][0]
        self.assertEqual(run["message"], "timed out after 1 s: killed")
        self.assertEqual(run["output"], "started\n")
        self.assertLess(run["duration"], 5)
        self.d.ok("cron", "rm", "hang", "slow")
        # Nothing the timed-out runs started is left in the container. A run
        # that started just before the rm goes on to its 1 s timeout (rm
        # leaves runs in flight alone), so this waits longer than that, and
        # much less than the 30 s a surviving sleep would stay.
        wait_until(lambda: "sleep 30" not in self.d.ok("exec", "app", "ps", "-o", "args").stdout,
                   timeout=5, what="the timed-out runs' processes gone")
        # A run job's timeout kills its container, which then goes (--rm).
        self.d.ok("cron", "add", "hang-img", "--schedule", "@every 1s", "--timeout", "1",
                  "--image", "busybox", "--", "sh", "-c", "echo started; sleep 30")
        wait_until(lambda: "timed_out" in self.results("hang-img"), timeout=15,
                   what="a run job's timeout")
        run = [r for r in self.history("hang-img") if r["result"] == "timed_out"][0]
        self.assertEqual(run["message"], "timed out after 1 s: killed")
        self.assertEqual(run["output"], "started\n")
        self.assertLess(run["duration"], 6)
        self.d.ok("cron", "rm", "hang-img")
        wait_until(lambda: [c["name"] for c in self.d.ok("ps", "-a", "--format", "json").json()]
                   == ["app"], timeout=15, what="the run job's container removed")

    def test_stopped_container_recorded_as_failed(self):
        self.d.ok("create", "--name", "idle", "busybox", "true")
        self.d.ok("cron", "add", "down", "--schedule", "@every 1s", "--container", "idle",
                  "--", "true")
        self.d.ok("cron", "add", "ghost", "--schedule", "@every 1s", "--container", "nobody",
                  "--", "true")
        wait_until(lambda: self.history("down") and self.history("ghost"), timeout=10,
                   what="failed runs")
        run = self.history("down")[0]
        self.assertEqual(run["result"], "failed")
        self.assertEqual(run["message"], "container idle is not running")
        self.assertEqual(run["exit_code"], -1)
        self.assertEqual(self.history("ghost")[0]["message"], "no such container: nobody")
        listing = {j["name"]: j for j in self.d.ok("cron", "ls", "--format", "json").json()}
        self.assertEqual(listing["down"]["last_run"]["result"], "failed")
        self.assertIn("failed", self.d.ok("cron", "ls").stdout)


class Refusals(CronTestCase):
    def test_invalid_jobs_refused_with_the_reason(self):
        cases = [
            (["--schedule", "61 * * * *"], "minute: 61 is out of range 0-59"),
            (["--schedule", "* * *"], "expected 5 fields"),
            (["--schedule", "0 0 30 feb *"], "never occur"),
            (["--schedule", "@every 0s"], "must be at least 1s"),
            (["--schedule", "@sometimes"], "unknown macro"),
            (["--schedule", "@daily", "--tz", "Nowhere/Land"], "unknown time zone"),
        ]
        for args, reason in cases:
            r = self.d.strata("cron", "add", "bad", *args, "--container", "x", "--", "true")
            self.assertOneLineError(r)
            self.assertIn("cron add bad: ", r.stderr)
            self.assertIn(reason, r.stderr)
        r = self.d.strata("cron", "add", "bad", "--schedule", "@daily", "--", "true")
        self.assertEqual(r.rc, 2, r)  # neither --container nor --image: usage
        r = self.d.strata("cron", "add", "bad name", "--schedule", "@daily", "--container", "x",
                          "--", "true")
        self.assertOneLineError(r)
        self.assertIn("invalid job name", r.stderr)
        self.d.ok("cron", "add", "twice", "--schedule", "@daily", "--tz", "Europe/Paris",
                  "--container", "x", "--", "true")
        r = self.d.strata("cron", "add", "twice", "--schedule", "@daily", "--container", "x",
                          "--", "true")
        self.assertOneLineError(r)
        self.assertIn("already exists", r.stderr)
        self.assertEqual(self.d.ok("cron", "ls", "-q").stdout, "twice\n")
        r = self.d.strata("cron", "rm", "nothing")
        self.assertOneLineError(r)


class Labels(CronTestCase):
    def test_label_jobs_live_and_die_with_the_container(self):
        self.start_loop("lab", "--label", "strata.cron.hello.schedule=@every 1s",
                        "--label", "strata.cron.hello.command=echo hi from $HOSTNAME")
        self.assertEqual(self.d.ok("cron", "ls", "-q").stdout, "lab.hello\n")
        wait_until(lambda: self.history("lab.hello"), timeout=10, what="a label run")
        run = self.history("lab.hello")[0]
        self.assertEqual(run["result"], "succeeded", run["message"])
        self.assertRegex(run["output"], r"^hi from \w+\n$")
        self.d.ok("rm", "-f", "lab")
        self.assertEqual(self.d.ok("cron", "ls", "-q").stdout, "")
        # An invalid label job refuses the container.
        r = self.d.strata("run", "-d", "--name", "badlab",
                          "--label", "strata.cron.x.schedule=every day",
                          "--label", "strata.cron.x.command=true", "busybox", "true")
        self.assertOneLineError(r)
        self.assertIn("strata.cron.x.schedule", r.stderr)
        self.assertEqual(self.d.ok("ps", "-a", "-q").stdout, "")
        # A --rm container's jobs go when it does.
        self.d.ok("run", "--rm", "--name", "brief", "--label", "strata.cron.b.schedule=@daily",
                  "--label", "strata.cron.b.command=true", "busybox", "true")
        wait_until(lambda: self.d.ok("cron", "ls", "-q").stdout == "", timeout=10,
                   what="the --rm container's job gone")


class Service(CronTestCase):
    def test_jobs_survive_a_restart_and_run_jobs(self):
        self.start_loop("app", "-v", "ticks:/data", "--restart", "always")
        self.d.ok("cron", "add", "keep", "--schedule", "@every 1s", "--container", "app",
                  "--", "sh", "-c", "echo x >> /data/ticks")
        self.d.ok("cron", "add", "fresh", "--schedule", "@every 1s", "--image", "busybox",
                  "--", "sh", "-c", "echo from-image; hostname")
        wait_until(lambda: self.history("fresh") and len(self.history("keep")) >= 2,
                   timeout=15, what="runs before the restart")
        run = self.history("fresh")[0]
        self.assertEqual(run["result"], "succeeded", run["message"])
        self.assertTrue(run["output"].startswith("from-image\n"), run)
        seqs = [r["seq"] for r in self.history("keep")]
        self.assertEqual(self.d.stop(), 0, self.d.log())
        before = len(self.lines_of(self.volume_file("ticks", "ticks")))
        self.d = self.start_daemon(root=self.d.root, socket_path=self.d.socket)
        wait_until(lambda: harness._one(self.d.ok("inspect", "app", "--format", "json").json())
                   ["state"]["status"] == "running", what="app back")
        self.assertEqual(sorted(self.d.ok("cron", "ls", "-q").stdout.split()), ["fresh", "keep"])
        wait_until(lambda: len(self.lines_of(self.volume_file("ticks", "ticks"))) >= before + 2,
                   timeout=10, what="runs after the restart")
        later = [r["seq"] for r in self.history("keep")]
        self.assertEqual(later[:len(seqs)], seqs)  # the history was kept
        self.assertGreater(later[-1], seqs[-1])
        # Runs due while app was being restarted waited for it.
        after = [r for r in self.history("keep") if r["seq"] > seqs[-1]]
        self.assertEqual({r["result"] for r in after}, {"succeeded"}, after)
        # Run jobs leave no container behind.
        self.d.ok("cron", "rm", "fresh", "keep")
        wait_until(lambda: [c["name"] for c in self.d.ok("ps", "-a", "--format", "json").json()]
                   == ["app"], timeout=15, what="run jobs' containers removed")

    def test_catch_up_runs_once_at_start(self):
        for name, extra in (("eager", ["--catch-up"]), ("lazy", [])):
            self.d.ok("cron", "add", name, "--schedule", "@every 2s", *extra, "--image", "busybox",
                      "--", "true")
        wait_until(lambda: self.history("eager") and self.history("lazy"), timeout=15,
                   what="a run of each")
        self.assertEqual(self.d.stop(), 0, self.d.log())
        stopped = time.time()
        time.sleep(3)  # a run of each is missed
        self.d = self.start_daemon(root=self.d.root, socket_path=self.d.socket)
        restarted = time.time()

        def job(name):
            return harness._one(self.d.ok("cron", "inspect", name, "--format", "json").json())

        # The catch-up job acts on the missed run at once; the other waits
        # for its next due time, a period after the start.
        wait_until(lambda: job("eager")["last_scheduled"] >= int(restarted) - 1, timeout=1.5,
                   what="the catch-up run")
        lazy = job("lazy")
        self.assertLess(lazy["last_scheduled"], stopped)
        self.assertGreaterEqual(lazy["next_run"], int(restarted) + 1)
        wait_until(lambda: len(self.history("eager")) >= 2, timeout=10, what="the run recorded")
        self.assertEqual(self.history("eager")[-1]["result"], "succeeded")


if __name__ == "__main__":
    harness.main()
