"""Per-call cost of signing a get-vanilla-like GET: realsig (one Store per thread, reused),
realsig with a fresh Store + instance per call, and botocore's SigV4Auth, in one run.

    .venv/bin/python bench.py
"""

import datetime as dt
import statistics
import time

import botocore.auth
import botocore.credentials
from botocore.awsrequest import AWSRequest

import realsig

WHEN = dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.timezone.utc)
CREDS = realsig.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
URL = "https://example.amazonaws.com/"


def per_call_us(fn, n, rounds=5):
    fn()  # warm
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(times)


def main():
    signer = realsig.Signer(realsig.fixed(WHEN))
    reuse = lambda: signer.sign(url=URL, credentials=CREDS, region="us-east-1", service="service")  # noqa: E731

    def fresh():
        signer._local.sign = None  # the next call builds a new Store and instance
        reuse()

    botocore.auth.get_current_datetime = lambda remove_tzinfo=True: WHEN.replace(tzinfo=None)
    boto_creds = botocore.credentials.Credentials(CREDS.access_key_id, CREDS.secret_access_key)

    def boto():
        botocore.auth.SigV4Auth(boto_creds, "service", "us-east-1").add_auth(AWSRequest(method="GET", url=URL))

    start = time.perf_counter()
    realsig.Signer(realsig.fixed(WHEN))
    startup_ms = (time.perf_counter() - start) * 1e3
    rows = [("realsig, Store reused", per_call_us(reuse, 300)), ("realsig, fresh Store per call", per_call_us(fresh, 100)),
            ("botocore SigV4Auth", per_call_us(boto, 2000))]
    base = rows[-1][1]
    print(f"Signer() start-up (compiles the component): {startup_ms:.0f} ms")
    for name, us in rows:
        print(f"{name:32} {us:9.1f} µs/call  {us / base:6.1f}x botocore")


if __name__ == "__main__":
    main()
