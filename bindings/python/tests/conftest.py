"""Shared by the tests: the team's vectors, the suites' request.txt format, and real servers on
127.0.0.1 that the tests start and stop themselves (s3s-fs, chronyd, a libfaketimefs-style
realtime file)."""

import datetime as dt
import json
import os
import random
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

import realsig

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
AKID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def vectors_dir() -> Path:
    d = Path(os.environ.get("REALSIG_VECTORS", REPO.parent / "shared" / "vectors"))
    if not (d / "aws-signing-test-suite").is_dir():
        raise RuntimeError(f"the shared vectors are missing at {d} (set REALSIG_VECTORS)")
    return d


def parse_request(raw: bytes):
    """request.txt as cli/src/http_text.rs reads it: the target may contain spaces; folded
    header lines are unfolded with one space; the body is everything after the first blank line."""
    text = raw.decode("latin-1")
    for sep in ("\r\n\r\n", "\n\n"):
        i = text.find(sep)
        if i >= 0:
            head, body = text[:i], raw[len(text[: i + len(sep)].encode("latin-1")):]
            break
    else:
        head, body = text.rstrip("\r\n"), b""
    lines = [l.rstrip("\r") for l in head.encode("latin-1").decode("utf-8").split("\n")]
    first = lines.pop(0)
    method, target = first[: first.index(" ")], first[first.index(" ") + 1 : first.rindex(" ")]
    headers = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            headers[-1][1] += " " + line.strip(" \t")
            continue
        name, _, value = line.partition(":")
        headers.append([name, value.strip(" \t")])
    return method, target, [tuple(h) for h in headers], body


def libfaketime() -> str:
    for p in (
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
    ):
        if os.path.exists(p):
            return p
    raise RuntimeError("libfaketime is not installed (apt-get install libfaketime; .ci/run does)")


def free_port(kind=socket.SOCK_STREAM) -> int:
    """A free port below the kernel's ephemeral range (so no client socket can be given it)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(200):
        port = random.randrange(10_000, low)
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def installed(program: str, home_dir: str, hint: str) -> str:
    """A tool scripts/setup.sh installs: on PATH or in ~/<home_dir>/bin."""
    found = shutil.which(program) or str(Path.home() / home_dir / "bin" / program)
    if not os.path.exists(found):
        raise RuntimeError(f"{program} is not installed: {hint} (scripts/setup.sh does)")
    return found


class S3Server:
    """A loopback S3 server that verifies signatures, serving a fresh directory on 127.0.0.1
    with the example credentials: "s3s-fs" (0.14.1) or "versitygw" (1.8.0, posix backend)."""

    def __init__(self, root: Path, kind: str = "s3s-fs"):
        self.kind = kind
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        if kind == "versitygw":
            argv = [installed("versitygw", "go", "GOFLAGS=-mod=mod go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"),
                    "--port", f"127.0.0.1:{self.port}", "posix", str(root)]
            env.update(ROOT_ACCESS_KEY=AKID, ROOT_SECRET_KEY=SECRET)
        else:
            argv = [installed("s3s-fs", ".cargo", "cargo install s3s-fs@0.14.1 --locked --features binary"),
                    "--host", "127.0.0.1", "--port", str(self.port), "--access-key", AKID, "--secret-key", SECRET, str(root)]
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{kind} exited: {self.proc.stderr.read().decode(errors='replace')}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{kind} did not listen within 10 s")
                time.sleep(0.05)

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stderr.close()


@pytest.fixture
def s3s_fs(tmp_path):
    root = tmp_path / "s3"
    root.mkdir()
    server = S3Server(root)
    yield server
    server.stop()


@pytest.fixture(params=["s3s-fs", "versitygw"])
def s3_server(request, tmp_path):
    """Each verifying S3 server in turn."""
    root = tmp_path / "s3"
    root.mkdir()
    server = S3Server(root, request.param)
    yield server
    server.stop()


class Chrony:
    """chronyd serving NTP on 127.0.0.1 (the config checked in the notes); `local`: serve its
    own clock at stratum 8, else it answers unsynchronised."""

    def __init__(self, tmp: Path, local=True):
        chronyd = next((p for p in ("/usr/sbin/chronyd", "/sbin/chronyd") if os.path.exists(p)), None)
        if chronyd is None:
            raise RuntimeError("chronyd is not installed (apt-get install chrony; .ci/run does)")
        self.port = free_port(socket.SOCK_DGRAM)
        self.addr = f"127.0.0.1:{self.port}"
        conf = tmp / "chrony.conf"
        conf.write_text(
            f"port {self.port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\ncmdport 0\nbindcmdaddress /\n"
            f"pidfile {tmp / 'chronyd.pid'}\n" + ("local stratum 8\n" if local else "")
        )
        args = [chronyd, "-d", "-x", "-f", str(conf)] + ([] if os.geteuid() == 0 else ["-U"])
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:  # a fresh clock each time: one asks a server at most once per 16 s
                realsig.ntp(self.addr, timeout=0.2)()
                return
            except realsig.ClockError as e:
                if not any(early in str(e) for early in ("mode 3", "no reply", "Connection refused")):
                    return  # it answers (unsynchronised, say)
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chronyd did not answer within 10 s")
            time.sleep(0.02)  # a refused query returns at once

    def stop(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def chrony(tmp_path):
    server = Chrony(tmp_path)
    yield server
    server.stop()


class RealtimeFifo:
    """A libfaketimefs-style realtime file that, like the FUSE file, computes its value when
    read: a FIFO per read (the writer waits for a reader, renames a fresh FIFO over the path
    for the next one, then writes real time + offset and closes). Readers take turns."""

    def __init__(self, path: Path, offset_ns=0):
        self.path, self.offset_ns = path, offset_ns
        self._stop = False
        os.mkfifo(path)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        nxt = str(self.path) + ".next"
        while True:
            os.mkfifo(nxt)
            fd = os.open(self.path, os.O_WRONLY)  # blocks until a reader opens it
            try:
                if self._stop:
                    return
                os.rename(nxt, self.path)
                now = time.time_ns() + self.offset_ns
                try:
                    os.write(fd, f"{now // 10**9}.{now % 10**9:09d}".encode())
                except BrokenPipeError:
                    pass
            finally:
                os.close(fd)

    def stop(self):
        self._stop = True
        while self._thread.is_alive():
            try:
                os.close(os.open(self.path, os.O_RDONLY | os.O_NONBLOCK))
            except OSError:
                pass
            self._thread.join(0.001)


@pytest.fixture
def realtime_fifo(tmp_path):
    fifo = RealtimeFifo(tmp_path / "realtime")
    yield fifo
    fifo.stop()


def load_context(case_dir: Path):
    return json.loads((case_dir / "context.json").read_text())


def sign_case(case: Path, form: str, **extra):
    """Signs a suite case (its request.txt, at its context.json's time and credentials) in
    `form` ("header" or "query") with debug output; `extra` goes to Signer.sign."""
    ctx = load_context(case)
    method, target, headers, body = parse_request((case / "request.txt").read_bytes())
    host = next(v for n, v in headers if n.lower() == "host")
    signer = realsig.Signer(realsig.fixed(dt.datetime.fromisoformat(ctx["timestamp"].replace("Z", "+00:00"))))
    creds = ctx["credentials"]
    return signer.sign(
        method=method,
        url=f"https://{host}{target}",
        headers=headers,
        body=body,
        credentials=realsig.Credentials(creds["access_key_id"], creds["secret_access_key"], creds.get("token")),
        region=ctx["region"],
        service=ctx["service"],
        normalize_path=ctx.get("normalize", True),
        content_sha256_header=ctx.get("sign_body", False),
        omit_session_token=ctx.get("omit_session_token", False),
        expires_in=ctx["expiration_in_seconds"] if form == "query" else None,
        debug=True,
        **extra,
    )


class EcsEndpoint:
    """A container credentials endpoint (the ECS agent's /creds) on 127.0.0.1. `expiries` are the
    lifetimes, in real seconds from each request, of the credentials it hands out in turn (the
    last repeats); `hits` counts the requests. Point a chain at it with
    AWS_CONTAINER_CREDENTIALS_FULL_URI=self.url (never the _RELATIVE_URI form: 169.254.170.2)."""

    def __init__(self, expiries=(3600,)):
        import http.server

        self.expiries, self.hits, self.served = list(expiries), 0, []
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with endpoint._lock:
                    n = endpoint.hits
                    endpoint.hits += 1
                    life = endpoint.expiries[min(n, len(endpoint.expiries) - 1)]
                    expiry = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(seconds=life)
                    body = {"AccessKeyId": AKID, "SecretAccessKey": SECRET, "Token": f"token-{n}",
                            "Expiration": expiry.strftime("%Y-%m-%dT%H:%M:%SZ")}
                    endpoint.served.append(body)
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/creds"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


def aws_env(**extra):
    """The environment for a child that runs an AWS tool: no AWS_* from the caller, no reach for
    the instance metadata service (169.254.169.254), no config or credentials files unless given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REALSIG_"))}
    env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    env.update(extra)
    return env


def faked(env, offset="-3d"):
    """`env` with libfaketime preloaded in the child only (the preload, not the `faketime` wrapper:
    the wrapper refuses to start over a /dev/shm semaphore a killed process left for its PID)."""
    return {**env, "LD_PRELOAD": libfaketime(), "FAKETIME": offset}
