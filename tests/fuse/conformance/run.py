#!/usr/bin/env python3
"""Conformance of strata's union filesystem: the same cases on several
providers of a union root built from the same layers, outcomes compared with
kernel overlayfs (the reference).

  python3 tests/fuse/conformance/run.py [options]

    -k TEXT            only cases whose name contains TEXT (repeatable)
    --providers A,B    only these providers (the reference always runs)
    --long             long modes (also STRATA_TEST_LONG=1): 100,000 entries,
                       4 GiB written for real, and the whole suite once more
                       while `echo 3 > /proc/sys/vm/drop_caches` loops
    --drop-caches      add the drop_caches pass without the other long modes
    --no-kill          skip the killed-mid-copy-up case
    --json FILE        write every observation and verdict to FILE
    -v                 print each difference as it is found

Exit status: 0 when every gating provider (strata-core, strata) matches the
reference on every case except documented differences (DIFFERENCES.md),
1 otherwise, 77 when not root or /dev/fuse or kernel overlayfs is missing.
overlay-plain and fuse-overlayfs are informational: their differences are
shown, never fail the run.

Every case runs in a forked child with a timeout, on a fresh writable root
of each provider; mounts and processes are cleaned up in finally blocks and
again at exit (lazy unmounts, SIGKILL of process groups), also on SIGTERM.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cases as cases_mod  # noqa: E402
import ctx as ctx_mod  # noqa: E402
import image  # noqa: E402
import providers  # noqa: E402

SKIP = 77

# Differences from the reference that are accepted, each documented in
# DIFFERENCES.md under its id. Fields: providers (names), case, key (regex
# on the observation's key), optional when(ref, got) -> bool.
STRATA = ("strata-core", "strata")

ACCEPTED = [
    {"id": "D1", "providers": STRATA, "case": "tree", "key": r"^dirnlink ",
     "when": lambda ref, got: ref == "1 (unknown)" and got == "2+subdirs"},
    {"id": "D2", "providers": STRATA, "case": "xattrs",
     "key": r"^set trusted\.overlay\.(foo|opaque)$",
     "when": lambda ref, got: ref == "ok" and got == "EPERM"},
    {"id": "D2", "providers": STRATA, "case": "xattrs", "key": r"^xattrs d/exec$",
     "when": lambda ref, got: isinstance(ref, dict) and got == {
         k: v for k, v in ref.items() if not k.startswith("trusted.overlay.")}},
    {"id": "D3", "providers": STRATA, "case": "open_unlinked",
     "key": r"^lower: fstat nlink after unlink$", "when": lambda ref, got: got == 0},
    {"id": "D4", "providers": ("strata",), "case": "statfs", "key": r"^mount flags$",
     "when": lambda ref, got: ref == [] and sorted(got) == ["nodev", "nosuid"]},
    {"id": "D4", "providers": ("strata",), "case": "*",
     "key": r"char device .*(for writing|1,3)$|^write to new char device",
     "when": lambda ref, got: got == "EACCES"},
    {"id": "D4", "providers": ("strata",), "case": "exec_and_mmap",
     "key": r"^setuid-root binary runs with euid 0",
     "when": lambda ref, got: ref is True and got is False},
]


def accepted(provider, case, key, ref, got):
    for a in ACCEPTED:
        if provider not in a["providers"]:
            continue
        if a["case"] not in ("*", case):
            continue
        if not re.search(a["key"], key):
            continue
        if "when" in a and not a["when"](ref, got):
            continue
        return a["id"]
    return None


# --- running one case on one provider ------------------------------------------

def run_case(provider, fn, long_mode, timeout, drop_pass=False):
    """(status, obs, info, error): status is "ok", "error" or "timeout"."""
    try:
        m = provider.mount()
    except Exception as e:  # noqa: BLE001
        return "error", {}, {}, "mount failed: %s" % e
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            c = ctx_mod.Ctx(m, long_mode, drop_pass)
            try:
                fn(c)
                payload = {"obs": c.obs, "info": c.info}
            except BaseException:
                payload = {"obs": c.obs, "info": c.info, "error": traceback.format_exc()}
            data = json.dumps(payload).encode()
            while data:
                n = os.write(w, data)
                data = data[n:]
        finally:
            os._exit(0)
    os.close(w)
    chunks = []
    deadline = time.monotonic() + timeout
    status = "ok"
    import select
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            status = "timeout"
            break
        ready, _, _ = select.select([r], [], [], min(left, 1.0))
        if ready:
            b = os.read(r, 1 << 16)
            if not b:
                break
            chunks.append(b)
    if status == "timeout":
        # Detach the mount first: a child stuck in the filesystem gets errors.
        os.kill(pid, signal.SIGKILL)
        try:
            m.unmount()
        except Exception:  # noqa: BLE001
            pass
        for mp in providers.mounts_below(m.root):
            providers.run(["umount", "-l", mp])
    os.waitpid(pid, 0)
    os.close(r)
    try:
        m.unmount()
    except Exception as e:  # noqa: BLE001
        print("  (unmount of %s on %s failed: %s)" % (fn.__name__, provider.name, e))
    if status == "timeout":
        return "timeout", {}, {}, "no answer within %ds" % timeout
    try:
        payload = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        return "error", {}, {}, "the case's process died without a result"
    if "error" in payload:
        return "error", payload.get("obs", {}), payload.get("info", {}), payload["error"]
    if "obs" not in payload:
        return "error", {}, {}, "the case's process died without a result"
    return "ok", payload["obs"], payload.get("info", {}), None


def compare(provider, case, ref, got):
    """[(key, ref value, got value, accepted id or None)]."""
    out = []
    for k in sorted(set(ref) | set(got)):
        a, b = ref.get(k, "<not recorded>"), got.get(k, "<not recorded>")
        if a != b:
            out.append((k, a, b, accepted(provider, case, k, a, b)))
    return out


# --- stratad (or the helper) killed mid-copy-up --------------------------------------

APPEND = ("import os, sys\n"
          "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)\n"
          "os.write(fd, b'!')\n"
          "os.close(fd)\n")


def _scan_files(dirs, skip=()):
    out = []
    for top in dirs:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skip]
            for n in filenames:
                p = os.path.join(dirpath, n)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if st.st_mode & 0o170000 == 0o100000:
                    out.append((p, st.st_size))
    return out


def killed_mid_copy_up(provider):
    """Appends one byte to a 1 GiB lower file; SIGKILLs the provider's
    process while the copy-up is staged; restarts it; the upper must hold no
    copy or a complete one, and the file must read whole."""
    obs = {}
    lower_sha = image.pattern_sha256(image.HUGE_SIZE, "huge")
    appended_sha = image.pattern_sha256(image.HUGE_SIZE, "huge", b"!")
    m = provider.mount("huge")
    try:
        if m.upper is None:
            raise RuntimeError("the provider does not say where its upper is")
        scan, skip = [m.upper, m.work], ()
        path = os.path.join(m.root, "huge")
        os.stat(path)
        appender = subprocess.Popen([sys.executable, "-c", APPEND, path],
                                    stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    start_new_session=True)
        providers._procs.append(appender)
        # Kill once the staged copy is a quarter done (or at the first sight
        # of it, if it then stops growing visibly).
        caught = None
        seen = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and appender.poll() is None:
            partial = [(p, s) for p, s in _scan_files(scan, skip) if 0 < s < image.HUGE_SIZE
                       and os.path.basename(p) != "small"]
            if partial:
                seen = seen or time.monotonic()
                if partial[0][1] >= image.HUGE_SIZE // 4 or time.monotonic() - seen > 2:
                    caught = partial[0]
                    break
            time.sleep(0.002)
        if caught is None:
            obs["caught mid-copy"] = "no (the append finished first)"
        else:
            m.kill()
            obs["caught mid-copy"] = "yes, at %d MiB" % (caught[1] >> 20)
        try:
            appender.wait(30)
        except subprocess.TimeoutExpired:
            providers.kill_proc(appender)
        obs["appender exit"] = appender.returncode
        obs["appender stderr"] = (appender.stderr.read().decode(errors="replace").strip()
                                  .splitlines() or [""])[-1]
        # What the upper holds now (the daemon is dead, nothing moves).
        found = [(p, s) for p, s in _scan_files(scan, skip) if os.path.basename(p) == "huge"]
        if m.upper is not None:
            found = [(p, s) for p, s in found if p.startswith(m.upper + "/")]
        verdicts = []
        for p, s in found:
            h = ctx_mod.file_sha(p).split(":")[1]
            if h == lower_sha[:16]:
                verdicts.append("complete copy (before the append)")
            elif h == appended_sha[:16]:
                verdicts.append("complete copy (with the append)")
            else:
                verdicts.append("PARTIAL: %d bytes at %s" % (s, p))
        obs["upper after kill"] = verdicts or ["no copy"]
        staged = [(p, s) for p, s in _scan_files(scan, skip) if os.path.basename(p) != "huge"
                  and os.path.basename(p) != "small"]
        obs["staged files left after kill"] = len(staged)
        # Restart and read through the mount.
        if caught is not None:
            m.restart()
            if hasattr(m, "scratch_after_restart"):
                obs["scratch layer kept by the restart"] = m.scratch_after_restart
            obs["staged files left after restart"] = len(
                [p for p, _s in _scan_files(scan, skip)
                 if os.path.basename(p) not in ("huge", "small")])
        try:
            sha = ctx_mod.file_sha(path).split(":")[1]
            obs["read after restart"] = ("lower content" if sha == lower_sha[:16] else
                                         "content with the append" if sha == appended_sha[:16]
                                         else "WRONG CONTENT")
        except OSError as e:
            obs["read after restart"] = ctx_mod.err(e)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            os.write(fd, b"!")
            os.close(fd)
            obs["append after restart"] = "ok, size %d" % os.stat(path).st_size
        except OSError as e:
            obs["append after restart"] = ctx_mod.err(e)
    finally:
        try:
            m.unmount()
        except Exception:  # noqa: BLE001
            pass
    good = (all(not v.startswith("PARTIAL") for v in obs["upper after kill"]) and
            obs.get("read after restart") in ("lower content", "content with the append") and
            str(obs.get("append after restart", "")).startswith("ok"))
    return good, obs


# --- main ---------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[])
    ap.add_argument("--providers")
    ap.add_argument("--long", action="store_true")
    ap.add_argument("--drop-caches", action="store_true")
    ap.add_argument("--no-kill", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    long_mode = args.long or os.environ.get("STRATA_TEST_LONG") == "1"

    if os.geteuid() != 0:
        print("SKIP: needs root (mounts, device nodes, other uids)")
        return SKIP
    if not os.path.exists("/dev/fuse"):
        print("SKIP: /dev/fuse is missing")
        return SKIP
    for tool in ("umoci",):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            print("SKIP: %s is not installed (run tools/setup)" % tool)
            return SKIP

    def on_term(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    os.umask(0)

    cache = os.environ.get("STRATA_CONFORMANCE_CACHE") or os.path.join(
        providers.harness.BUILD_DIR, "fuse-conformance")
    t0 = time.monotonic()
    images = image.build(cache)
    print("images ready in %s (%.1fs)" % (cache, time.monotonic() - t0))

    wanted = set(args.providers.split(",")) if args.providers else None
    active, skipped = [], {}
    try:
        for cls in providers.ALL:
            if wanted is not None and not cls.reference and cls.name not in wanted:
                continue
            p = cls()
            t = time.monotonic()
            try:
                p.start(images)
                active.append(p)
                print("provider %-15s ready (%.1fs)" % (p.name, time.monotonic() - t))
            except providers.Unavailable as e:
                if cls.reference:
                    print("SKIP: the reference is unavailable: %s" % e)
                    return SKIP
                skipped[p.name] = str(e)
                print("provider %-15s skipped: %s" % (p.name, e))
            except Exception as e:  # noqa: BLE001
                if cls.reference:
                    raise
                skipped[p.name] = "FAILED TO START: %s" % e
                print("provider %-15s FAILED TO START: %s" % (p.name, e))
        return run_all(args, long_mode, active, skipped)
    finally:
        for p in active:
            try:
                p.stop()
            except Exception:  # noqa: BLE001
                pass
        providers.cleanup()


def run_all(args, long_mode, active, skipped):
    selected = [c for c in cases_mod.CASES
                if not args.k or any(k in c.__name__ for k in args.k)]
    passes = [("", False)]
    if long_mode or args.drop_caches:
        passes.append((" [drop_caches loop]", True))
    timeout = 1800 if long_mode else 240
    verdicts = {}   # (pass, case, provider) -> (status, diffs, error)
    report = {"providers": [p.name for p in active], "skipped": skipped, "cases": {}}
    gating_failures = 0
    ref = active[0]
    assert ref.reference
    for pass_name, drop in passes:
        loop = None
        if drop:
            loop = subprocess.Popen(
                ["sh", "-c", "while :; do echo 3 > /proc/sys/vm/drop_caches; sleep 0.05; done"],
                start_new_session=True)
            providers._procs.append(loop)
        try:
            for fn in selected:
                if drop and not fn.rerun:
                    continue
                name = fn.__name__ + pass_name
                results = {}
                for p in active:
                    t = time.monotonic()
                    results[p.name] = run_case(p, fn, long_mode, timeout, drop) + (
                        time.monotonic() - t,)
                ref_status, ref_obs, _, ref_err, _ = results[ref.name]
                line = []
                entry = report["cases"][name] = {}
                for p in active:
                    status, obs, info, error, secs = results[p.name]
                    entry[p.name] = {"status": status, "obs": obs, "info": info, "error": error,
                                     "seconds": round(secs, 2)}
                    if p is ref:
                        v = ("ok" if status == "ok" else "CASE BROKEN")
                        if status != "ok":
                            gating_failures += 1
                        verdicts[(pass_name, name, p.name)] = (v, [], error)
                        line.append("%s:%s" % (p.name, v))
                        continue
                    diffs = compare(p.name, fn.__name__, ref_obs, obs)
                    hard = [d for d in diffs if d[3] is None]
                    if fn.informational:
                        v = "recorded"
                    elif status != "ok":
                        v = status.upper()
                    elif hard:
                        v = "FAIL(%d)" % len(hard)
                    elif diffs:
                        v = "ok*"
                    else:
                        v = "ok"
                    gating = not p.informational and not fn.informational
                    if gating and v not in ("ok", "ok*"):
                        gating_failures += 1
                    if not gating and v.startswith(("FAIL", "ERROR", "TIMEOUT")):
                        v = v.lower()
                    verdicts[(pass_name, name, p.name)] = (v, diffs, error)
                    entry[p.name]["verdict"] = v
                    entry[p.name]["diffs"] = diffs
                    line.append("%s:%s" % (p.name, v))
                    if args.v and (hard or error):
                        _print_details(p.name, name, diffs, error)
                print("%-34s %s   (%s)" % (name, "  ".join(line), " ".join(
                    "%.1f" % results[p.name][4] for p in active)), flush=True)
        finally:
            if loop is not None:
                providers.kill_proc(loop)

    # The killed-mid-copy-up case.
    kill_results = {}
    if not args.no_kill and (not args.k or any(k in "killed_mid_copy_up" for k in args.k)):
        for p in active:
            if not p.killable:
                continue
            try:
                good, obs = killed_mid_copy_up(p)
            except Exception:  # noqa: BLE001
                good, obs = False, {"error": traceback.format_exc()}
            kill_results[p.name] = (good, obs)
            if not good and not p.informational:
                gating_failures += 1
            print("killed_mid_copy_up %-15s %s  %s" % (p.name, "ok" if good else "FAIL",
                                                       json.dumps(obs)), flush=True)
        report["killed_mid_copy_up"] = {k: {"ok": g, "obs": o} for k, (g, o) in
                                        kill_results.items()}

    # Details.
    print("\n=== details")
    for (pass_name, name, pname), (v, diffs, error) in verdicts.items():
        if error:
            _print_details(pname, name, diffs, error, v)
        elif any(d[3] is None for d in diffs) or v == "recorded":
            _print_details(pname, name, diffs, None, v)
    for name in report["cases"]:
        if name.startswith("unmount_while_open"):
            print("\n-- unmount_while_open, as each provider does it:")
            for pname, e in report["cases"][name].items():
                print("   %-15s %s" % (pname, json.dumps(e["obs"])))
    print("\n=== summary")
    for p in active[1:]:
        vs = [v for (pn, _n, prov), (v, _d, _e) in verdicts.items() if prov == p.name]
        counts = {}
        for v in vs:
            key = re.sub(r"\(\d+\)", "", v)
            counts[key] = counts.get(key, 0) + 1
        print("%-15s %s%s" % (p.name, ", ".join("%s %d" % kv for kv in sorted(counts.items())),
                              "  (informational)" if p.informational else ""))
    for name, (good, _obs) in kill_results.items():
        print("%-15s killed_mid_copy_up %s" % (name, "ok" if good else "FAIL"))
    for name, reason in skipped.items():
        print("%-15s skipped: %s" % (name, reason))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=str)
    print("\n%s" % ("FAIL: %d gating failures" % gating_failures if gating_failures else "PASS"))
    return 1 if gating_failures else 0


def _print_details(pname, name, diffs, error, verdict=""):
    print("\n-- %s on %s %s" % (name, pname, verdict))
    for k, a, b, acc in diffs:
        print("   %s %s\n       reference: %s\n       %-9s: %s" % (
            "[%s]" % acc if acc else "[!]", k, json.dumps(a)[:300], pname[:9],
            json.dumps(b)[:300]))
    if error:
        print("   raised:\n      " + "\n      ".join(error.strip().splitlines()[-6:]))


if __name__ == "__main__":
    sys.exit(main())
