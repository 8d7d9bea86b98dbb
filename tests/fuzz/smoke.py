#!/usr/bin/env python3
"""A fuzz target's smoke run (meson test, suite 'fuzz'): every seed of its
corpus, then fuzzing for a few seconds. New inputs go to a scratch directory
(the checked-in corpus is never written); a crashing input is kept under
ARTIFACT_DIR and printed (base64) so a CI log alone reproduces it.

usage: smoke.py FUZZER CORPUS_DIR SECONDS ARTIFACT_DIR
Exit status: 0 if the fuzzer found nothing, else 1 (never 77, which
meson counts as a skip and libFuzzer uses for a crash)."""
import base64
import os
import subprocess
import sys
import tempfile


def main():
    fuzzer, corpus, seconds, artifacts = sys.argv[1:5]
    if not os.path.isdir(corpus) or not os.listdir(corpus):
        print("smoke: no seed corpus in %s" % corpus, file=sys.stderr)
        return 1
    os.makedirs(artifacts, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="strata-fuzz-") as scratch:
        # -seed=1: the same mutations on every run, so a CI failure repeats.
        cmd = [fuzzer, "-max_total_time=" + seconds, "-seed=1", "-timeout=10", "-rss_limit_mb=2048",
               "-print_final_stats=1", "-artifact_prefix=" + artifacts + "/", scratch, corpus]
        print(" ".join(cmd), flush=True)
        rc = subprocess.run(cmd).returncode
    if rc != 0:
        for name in sorted(os.listdir(artifacts)):
            path = os.path.join(artifacts, name)
            with open(path, "rb") as f:
                data = f.read(65536)
            print("smoke: %s (%d bytes, base64): %s" % (path, len(data), base64.b64encode(data).decode()))
    # libFuzzer exits 77 on a crash, which meson would count as a skip.
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
