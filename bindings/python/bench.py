"""Per-call cost of signing a get-vanilla-like GET with realsig (the native extension: the
reference host running the component) and with botocore's SigV4Auth.add_auth, in one run, and
what the botocore/AWS CLI plug-in costs at interpreter start.

    CARGO_TARGET_DIR=../../target MATURIN_PEP517_ARGS="--profile release" \
        .venv/bin/pip install --no-deps --force-reinstall .   # the extension in release (test.sh builds dev)
    .venv/bin/python bench.py                                 # needs botocore (requirements-test.txt)
"""

import datetime as dt
import os
import statistics
import subprocess
import sys
import time

import botocore.auth
import botocore.credentials
from botocore.awsrequest import AWSRequest

import realsig

WHEN = dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.timezone.utc)
CREDS = realsig.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
URL = "https://example.amazonaws.com/"


def interleaved_us(fns, rounds=9):
    """µs per call of each `(fn, n)`, measured in alternating rounds (each round times every fn
    over its n calls), so a slow spell of this shared machine slows both signers alike. Returns
    each fn's median per call and the median over rounds of the first's over the second's."""
    for fn, n in fns:  # warm
        for _ in range(n // 10):
            fn()
    per_round = [[] for _ in fns]
    for _ in range(rounds):
        for times, (fn, n) in zip(per_round, fns):
            start = time.perf_counter()
            for _ in range(n):
                fn()
            times.append((time.perf_counter() - start) / n * 1e6)
    ratios = [a / b for a, b in zip(per_round[0], per_round[1])]
    return [statistics.median(t) for t in per_round], statistics.median(ratios), (min(ratios), max(ratios))


def start_costs_ms(runs, base, **variants):
    """What each variant `(code, env)` adds to a fresh interpreter's wall time over `base`, in
    ms: the median over `runs` rounds, each round starting base and every variant once, so
    each difference is taken between neighbouring runs. Also returns base's median."""
    added = {name: [] for name in variants}
    bases = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", base[0]], env=base[1], check=True)
        bare = time.perf_counter() - start
        bases.append(bare)
        for name, (code, env) in variants.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, check=True)
            added[name].append((time.perf_counter() - start - bare) * 1e3)
    return {name: statistics.median(v) for name, v in added.items()}, statistics.median(bases) * 1e3


def main():
    signer = realsig.Signer(realsig.fixed(WHEN))
    realsig_sign = lambda: signer.sign(url=URL, credentials=CREDS, region="us-east-1", service="service")  # noqa: E731
    assert realsig_sign().signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

    botocore.auth.get_current_datetime = lambda remove_tzinfo=True: WHEN.replace(tzinfo=None)
    boto_creds = botocore.credentials.Credentials(CREDS.access_key_id, CREDS.secret_access_key)

    def boto():
        botocore.auth.SigV4Auth(boto_creds, "service", "us-east-1").add_auth(AWSRequest(method="GET", url=URL))

    start = time.perf_counter()
    realsig.Signer(realsig.fixed(WHEN))
    startup_ms = (time.perf_counter() - start) * 1e3
    (ours, theirs), ratio, (low, high) = interleaved_us([(realsig_sign, 20000), (boto, 2000)])
    print(f"Signer() start-up (component from the disk cache): {startup_ms:.1f} ms")
    print(f"{'realsig Signer.sign':32} {ours:9.2f} µs/call (median of 9 rounds)")
    print(f"{'botocore SigV4Auth.add_auth':32} {theirs:9.2f} µs/call")
    print(f"ratio realsig / botocore = {ratio:.3f} (the median of the rounds' ratios; {low:.3f} to {high:.3f})")

    env = {k: v for k, v in os.environ.items() if k not in ("REALSIG_BOTOCORE", "REALSIG_CLOCK")}
    hooked = {**env, "REALSIG_BOTOCORE": "1"}
    (plain, bare) = start_costs_ms(41, ("pass", env), hook=("pass", hooked), native=("import realsig._native", env))
    print(f"interpreter start {bare:.1f} ms, added: REALSIG_BOTOCORE=1 (the .pth hook; imports no botocore, "
          f"loads no extension) +{plain['hook']:.1f} ms; import realsig._native +{plain['native']:.1f} ms")
    # botocore's own import takes ~150 ms here and varies by more than the hook costs from one
    # interpreter to the next, so this is timed inside each child, around the import alone.
    timed = "import time; s = time.perf_counter(); import botocore.session, botocore.auth; " \
            "print((time.perf_counter() - s) * 1e3)"
    without, added = [], []
    for _ in range(25):
        runs = [float(subprocess.run([sys.executable, "-c", timed], env=e, check=True, capture_output=True,
                                     text=True).stdout) for e in (env, hooked)]
        without.append(runs[0])
        added.append(runs[1] - runs[0])
    print(f"import botocore.session, botocore.auth ({statistics.median(without):.0f} ms): REALSIG_BOTOCORE=1 "
          f"(patches them as they load) +{statistics.median(added):.1f} ms")

if __name__ == "__main__":
    main()
