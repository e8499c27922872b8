"""The Signer: the realsig component run by wasmtime-py, with a clock supplying `real-now`.

Reuse strategy: the component is compiled once per Signer; each thread gets its own Store and
instance (a wasmtime Store is not thread-safe) and keeps it across calls. An instance whose
call trapped is thrown away and the next call builds a new one. Measured in bench.py: a fresh
Store + instance per call costs about 0.6 ms more than reuse (1.5 ms against 0.9 ms).
"""

import base64
import dataclasses
import datetime as _dt
import hashlib
import threading
import zlib
from importlib import resources
from typing import Mapping, Optional, Sequence, Tuple, Union

import wasmtime
from wasmtime import component as wc

from . import clocks as _clocks
from .errors import BY_CODE, ClockError, ComponentFailure, InvalidCredentials, SignError

TIME_INTERFACE = "realsig:sigv4/real-time"
SIGNER_INTERFACE = "realsig:sigv4/signer"
CHUNKED_INTERFACE = "realsig:sigv4/chunked"
POST_POLICY_INTERFACE = "realsig:sigv4/post-policy"
EVENT_STREAM_INTERFACE = "realsig:sigv4/event-stream"
MAX_EXPIRES = 604_800
CHUNKED_MODES = ("signed", "signed-with-trailer", "unsigned-with-trailer")


@dataclasses.dataclass(frozen=True)
class Credentials:
    """AWS credentials. The secret and the session token never appear in repr or errors."""

    access_key_id: str
    secret_access_key: str = dataclasses.field(repr=False)
    session_token: Optional[str] = dataclasses.field(default=None, repr=False)

    @classmethod
    def of(cls, value) -> "Credentials":
        """Accepts Credentials, a mapping (access_key_id/secret_access_key/session_token, or
        AWS's AccessKeyId/SecretAccessKey/Token), or botocore's credentials objects."""
        if isinstance(value, Credentials):
            return value
        if isinstance(value, Mapping):
            pick = lambda *keys: next((value[k] for k in keys if value.get(k) is not None), None)  # noqa: E731
            return cls(
                pick("access_key_id", "AccessKeyId") or "",
                pick("secret_access_key", "SecretAccessKey") or "",
                pick("session_token", "Token", "SessionToken"),
            )
        if callable(getattr(value, "get_frozen_credentials", None)):  # botocore's: one consistent copy
            value = value.get_frozen_credentials()
        if hasattr(value, "access_key") and hasattr(value, "secret_key"):  # botocore
            return cls(value.access_key or "", value.secret_key or "", getattr(value, "token", None))
        raise InvalidCredentials(f"expected Credentials, a mapping or botocore credentials, not {type(value).__name__}")


@dataclasses.dataclass(frozen=True)
class Signed:
    """What to send: add `headers` (lowercase names, replacing any of the same name) and use `url`."""

    headers: dict
    url: str
    signature: str
    signing_time: _dt.datetime
    canonical_request: Optional[str] = None
    string_to_sign: Optional[str] = None
    sensitive_headers: frozenset = frozenset()


HeadersLike = Union[Mapping[str, str], Sequence[Tuple[str, str]], None]


def _record(**fields):
    r = wc.Record()
    for k, v in fields.items():
        setattr(r, k.replace("_", "-"), v)
    return r


def _rule(value: Optional[bool]) -> Optional[bool]:
    """A service-rule override: None leaves it to the component."""
    return None if value is None else bool(value)


def _text(value, what: str, error) -> str:
    """`value` as a str the component can take (UTF-8 without lone surrogates)."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise error(f"{what} is not valid Unicode (a lone surrogate)") from None
    return value


def _component_bytes() -> bytes:
    try:
        return resources.files(__package__).joinpath("realsig.wasm").read_bytes()
    except FileNotFoundError:
        raise RuntimeError(
            "realsig.wasm is missing from the package (it is committed at "
            "bindings/python/src/realsig/realsig.wasm; regenerate it with scripts/derive.sh)"
        ) from None


class Signer:
    """Signs requests with the realsig component and `clock` (default: clocks.default_clock()).

    Safe to share between threads.
    """

    def __init__(self, clock=None, *, component: Optional[bytes] = None):
        self.clock = clock if clock is not None else _clocks.default_clock()
        self._engine = wasmtime.Engine()
        self._component = wc.Component(self._engine, component if component is not None else _component_bytes())
        self._linker = wc.Linker(self._engine)
        with self._linker.root() as root:
            with root.add_instance(TIME_INTERFACE) as rt:
                rt.add_func("real-now", self._real_now)
        self._sign_index = self._export(SIGNER_INTERFACE, "sign")
        self._sign_sigv4a_index = self._export(SIGNER_INTERFACE, "sign-sigv4a")
        self._chunked = {
            name: self._export(CHUNKED_INTERFACE, name)
            for name in ("start", "[method]chunk-signer.sign-chunk", "[method]chunk-signer.sign-trailer")
        }
        self._post_policy_index = self._export(POST_POLICY_INTERFACE, "sign-post-policy")
        self._event_stream = {
            name: self._export(EVENT_STREAM_INTERFACE, name)
            for name in ("open", "[method]message-signer.sign-message")
        }
        self._local = threading.local()

    def _export(self, interface: str, name: str):
        """The index of `interface#name` in the component, or a RuntimeError naming it."""
        found = self._component.get_export_index(interface)
        index = self._component.get_export_index(name, found) if found else None
        if index is None:
            raise RuntimeError(f"the component does not export {interface}#{name}")
        return index

    # -- real-now -------------------------------------------------------------------------
    def _real_now(self, _store):
        # The time was read before entering the guest (a slow source must not run inside the
        # call); hand it over, or the reason there is none.
        reading = self._local.reading
        if isinstance(reading, str):
            return wc.Variant("err", _record(message=reading))
        return wc.Variant("ok", _record(seconds=reading // 1_000_000_000, nanoseconds=reading % 1_000_000_000))

    def _read_clock(self):
        try:
            ns = _clocks.to_ns(self.clock())
        except ClockError as e:
            return str(e)
        except Exception as e:  # a user clock that broke: fail closed, say how
            return f"the clock raised {type(e).__name__}: {e}"
        if ns < 0:
            return "the clock returned a time before 1970"
        return ns

    # -- calls --------------------------------------------------------------------------
    def _instance(self) -> "_Instance":
        inst = getattr(self._local, "instance", None)
        if inst is None or inst.broken:
            inst = self._local.instance = _Instance(self._engine, self._linker, self._component)
        return inst

    def _call(self, index, *args, read_clock: bool = True, instance: Optional["_Instance"] = None):
        """Calls the export at `index` on this thread's instance (or `instance`, one held for
        a resource), with the clock read first when `read_clock`."""
        inst = instance or self._instance()
        if inst.broken:
            raise ComponentFailure("an earlier call on this instance failed; start again")
        func = inst.funcs.get(index)
        if func is None:
            func = inst.funcs[index] = inst.instance.get_func(inst.store, index)
        self._local.reading = self._read_clock() if read_clock else "the clock was not read for this call"
        try:
            out = func(inst.store, *args)
            func.post_return(inst.store)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
            inst.broken = True  # never reuse an instance that failed
            raise ComponentFailure(f"the component failed: {str(e).splitlines()[0]}") from None
        except BaseException:
            # An exception raised by a host function (wasmtime-py traps the guest, then re-raises
            # it here) or an interrupt: the instance stopped mid-call, so drop it too.
            inst.broken = True
            raise
        finally:
            self._local.reading = None
        if isinstance(out, wc.Variant):
            raise BY_CODE.get(out.tag, SignError)(out.payload)
        return out

    def sign(
        self,
        *,
        method: str = "GET",
        url: str,
        headers: HeadersLike = None,
        body: Union[bytes, bytearray, memoryview, str, None] = None,
        body_sha256: Optional[str] = None,
        credentials,
        region: str,
        service: str,
        double_uri_encode: Optional[bool] = None,
        normalize_path: Optional[bool] = None,
        content_sha256_header: Optional[bool] = None,
        omit_session_token: bool = False,
        debug: bool = False,
        expires_in: Optional[int] = None,
        sigv4a: bool = False,
    ) -> Signed:
        """Signs a request. `body` is hashed here with hashlib, never copied into the
        component; or pass `body_sha256` (hex, or "UNSIGNED-PAYLOAD"). The component
        applies the service's rules (for "s3": the path is the object key, sent and signed
        encoded once, so send `Signed.url`; no path normalisation; an x-amz-content-sha256
        header; presigned URLs sign UNSIGNED-PAYLOAD): `double_uri_encode`, `normalize_path`
        and `content_sha256_header` only override them.
        With `expires_in` (seconds) the signature goes into the URL (a presigned URL).
        With `sigv4a=True` it is signed with SigV4a (AWS4-ECDSA-P256-SHA256) and `region` is
        the region set: "*", "us-east-1,us-west-2" or a list of regions."""
        if body is not None and body_sha256 is not None:
            raise ValueError("give body or body_sha256, not both")
        if body_sha256 == "UNSIGNED-PAYLOAD":
            payload = wc.Variant("unsigned")
        elif body_sha256 is not None:
            payload = wc.Variant("sha256-hex", _text(body_sha256, "body_sha256", BY_CODE["invalid-payload-hash"]))
        elif body is None or len(body) == 0:
            payload = wc.Variant("empty")
        else:
            data = body.encode("utf-8") if isinstance(body, str) else body
            payload = wc.Variant("sha256-hex", hashlib.sha256(data).hexdigest())
        if expires_in is None:
            placement = None
        elif isinstance(expires_in, bool) or not isinstance(expires_in, int) or not 1 <= expires_in <= MAX_EXPIRES:
            raise BY_CODE["invalid-option"](f"expires_in must be an int in 1..={MAX_EXPIRES}, not {expires_in!r}")
        else:
            placement = expires_in
        if sigv4a and not isinstance(region, str) and isinstance(region, Sequence):
            region = ",".join(region)  # a region set given as a list
        request = _record(
            method=_text(method, "method", BY_CODE["invalid-method"]),
            url=_text(url, "url", BY_CODE["invalid-url"]),
            headers=_wit_headers(headers),
            payload=payload,
            region=_text(region, "region", BY_CODE["invalid-option"]),
            service=_text(service, "service", BY_CODE["invalid-option"]),
            options=_record(
                placement=placement,
                double_uri_encode=_rule(double_uri_encode),
                normalize_path=_rule(normalize_path),
                content_sha256_header=_rule(content_sha256_header),
                omit_session_token=bool(omit_session_token),
                debug=bool(debug),
            ),
        )
        index = self._sign_sigv4a_index if sigv4a else self._sign_index
        return _signed(self._call(index, request, _wit_credentials(credentials)))

    def presign(self, *, expires_in: int = 900, **request) -> str:
        """A presigned URL (default 15 minutes). Takes sign's keywords."""
        return self.sign(expires_in=expires_in, **request).url

    def start_chunked(
        self,
        *,
        method: str = "PUT",
        url: str,
        headers: HeadersLike = None,
        decoded_content_length: int,
        credentials,
        region: str,
        service: str = "s3",
        mode: str = "signed",
        trailer: Optional[str] = None,
    ) -> "ChunkedUpload":
        """Signs the request opening an S3 aws-chunked upload of `decoded_content_length`
        bytes and returns the ChunkedUpload that signs and frames its chunks. `mode`:
        "signed", "signed-with-trailer" or "unsigned-with-trailer"; `trailer`: the trailing
        checksum header's name in the trailer modes (e.g. "x-amz-checksum-crc32"). Put the
        framed content-length (framed_length) among `headers`."""
        if isinstance(decoded_content_length, bool) or not isinstance(decoded_content_length, int) or decoded_content_length < 0:
            raise BY_CODE["invalid-option"](f"decoded_content_length must be an int >= 0, not {decoded_content_length!r}")
        request = _record(
            method=_text(method, "method", BY_CODE["invalid-method"]),
            url=_text(url, "url", BY_CODE["invalid-url"]),
            headers=_wit_headers(headers),
            payload=wc.Variant("empty"),
            region=_text(region, "region", BY_CODE["invalid-option"]),
            service=_text(service, "service", BY_CODE["invalid-option"]),
            options=_record(
                placement=None,
                double_uri_encode=None,
                normalize_path=None,
                content_sha256_header=None,
                omit_session_token=False,
                debug=False,
            ),
        )
        if mode not in CHUNKED_MODES:
            raise BY_CODE["invalid-option"](f"mode must be one of {', '.join(CHUNKED_MODES)}, not {mode!r}")
        upload = _record(
            mode=mode,
            decoded_content_length=decoded_content_length,
            trailer=None if trailer is None else _text(trailer, "trailer", BY_CODE["invalid-option"]),
        )
        held = _Instance(self._engine, self._linker, self._component)
        signed, chunks = self._call(self._chunked["start"], request, _wit_credentials(credentials), upload, instance=held)
        return ChunkedUpload(self, held, chunks, _signed(signed), mode)

    def sign_post_policy(
        self,
        *,
        conditions: Sequence = (),
        credentials,
        region: str,
        service: str = "s3",
        expires_in: int = 3600,
    ) -> "SignedForm":
        """Builds and signs an S3 POST policy (browser uploads). `conditions` as in the policy
        JSON: dicts of exact matches ({"bucket": "b"}), ["eq", "$key", "v"],
        ["starts-with", "$key", "uploads/"], ["content-length-range", min, max]."""
        if isinstance(expires_in, bool) or not isinstance(expires_in, int) or not 1 <= expires_in <= MAX_EXPIRES:
            raise BY_CODE["invalid-option"](f"expires_in must be an int in 1..={MAX_EXPIRES}, not {expires_in!r}")
        policy = _record(
            expires_in=expires_in,
            conditions=[w for c in conditions for w in _wit_conditions(c)],
            region=_text(region, "region", BY_CODE["invalid-option"]),
            service=_text(service, "service", BY_CODE["invalid-option"]),
        )
        out = self._call(self._post_policy_index, policy, _wit_credentials(credentials))
        return SignedForm(
            fields={f.name: f.value for f in out.fields},
            policy_document=getattr(out, "policy-document"),
            signature=out.signature,
            signing_time=_datetime(getattr(out, "signing-time")),
            sensitive_fields=frozenset(f.name for f in out.fields if f.sensitive),
        )

    def event_stream(self, seed_signature: str, *, region: str, service: str) -> "MessageSigner":
        """A MessageSigner for the messages of an event stream whose request was signed with
        `seed_signature` (hex)."""
        held = _Instance(self._engine, self._linker, self._component)
        messages = self._call(
            self._event_stream["open"],
            _text(seed_signature, "seed_signature", BY_CODE["invalid-option"]),
            _text(region, "region", BY_CODE["invalid-option"]),
            _text(service, "service", BY_CODE["invalid-option"]),
            read_clock=False,
            instance=held,
        )
        return MessageSigner(self, held, messages)


@dataclasses.dataclass(frozen=True)
class SignedForm:
    """A signed POST policy: put `fields` in the form, in order, before the file field.
    `policy_document` names the session token with temporary credentials: do not log it."""

    fields: dict = dataclasses.field(repr=False)
    policy_document: str = dataclasses.field(repr=False)
    signature: str
    signing_time: _dt.datetime
    sensitive_fields: frozenset = frozenset()


# The base64 length of each checksum a trailer may carry, for framed_length.
_CHECKSUM_LENGTHS = {
    "x-amz-checksum-crc32": 8,
    "x-amz-checksum-crc32c": 8,
    "x-amz-checksum-crc64nvme": 12,
    "x-amz-checksum-sha1": 28,
    "x-amz-checksum-sha256": 44,
}


def framed_length(decoded_length: int, *, chunk_size: int = 65536, mode: str = "signed", trailer: Optional[str] = None) -> int:
    """The content-length of `decoded_length` bytes framed as aws-chunked in chunks of
    `chunk_size`, in `mode`, with the trailing checksum header `trailer`."""
    signed = mode != "unsigned-with-trailer"

    def chunk(n: int) -> int:
        return len(f"{n:x}") + (17 + 64 if signed else 0) + 2 + (n + 2 if n else 0)

    full, rest = divmod(decoded_length, chunk_size)
    total = full * chunk(chunk_size) + (chunk(rest) if rest else 0) + chunk(0)
    if trailer is not None:
        if trailer not in _CHECKSUM_LENGTHS:
            raise BY_CODE["invalid-option"](f"unknown trailer {trailer!r}: one of {', '.join(_CHECKSUM_LENGTHS)}")
        total += len(trailer) + 1 + _CHECKSUM_LENGTHS[trailer] + 2
        if mode == "signed-with-trailer":
            total += len("x-amz-trailer-signature:") + 64 + 2
    return total + 2


class _Held:
    """A resource of the component and the instance it lives in, used by one holder."""

    def __init__(self, signer: Signer, instance: "_Instance", resource):
        self._signer = signer
        self._instance = instance
        self._resource = resource

    def _call(self, index, *args, read_clock: bool):
        if self._resource is None:
            raise BY_CODE["invalid-option"](f"this {type(self).__name__} was closed")
        return self._signer._call(index, self._resource, *args, read_clock=read_clock, instance=self._instance)

    def close(self) -> None:
        """Drops the component's resource (and with it the instance kept for it)."""
        resource, self._resource = self._resource, None
        if resource is not None and not self._instance.broken:
            resource.drop(self._instance.store)

    def __enter__(self):
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class ChunkedUpload(_Held):
    """One aws-chunked upload: add `signed.headers` to the request, send `frame(chunk)` for
    each chunk in order (all full size but the last), then `end(trailer)`; or iterate
    `body(file)`. Use as a context manager, or close() when done."""

    def __init__(self, signer: Signer, instance: "_Instance", resource, signed: Signed, mode: str):
        super().__init__(signer, instance, resource)
        self.signed = signed
        self.mode = mode

    def sign_chunk(self, data: Union[bytes, bytearray, memoryview, None] = None, *, sha256: Optional[str] = None) -> str:
        """The next chunk's signature; the data is hashed here with hashlib (or give `sha256`)."""
        if (data is None) == (sha256 is None):
            raise ValueError("give the chunk's data or its sha256, one of them")
        hex_digest = hashlib.sha256(data).hexdigest() if sha256 is None else _text(sha256, "sha256", BY_CODE["invalid-payload-hash"])
        return self._call(self._signer._chunked["[method]chunk-signer.sign-chunk"], hex_digest, read_clock=False)

    def sign_trailer(self, headers: HeadersLike) -> str:
        """The trailer's signature, given the trailing headers."""
        return self._call(self._signer._chunked["[method]chunk-signer.sign-trailer"], _wit_headers(headers), read_clock=False)

    def frame(self, data: Union[bytes, bytearray, memoryview]) -> bytes:
        """One non-empty chunk, framed (with its signature unless the mode is unsigned)."""
        if len(data) == 0:
            raise BY_CODE["invalid-option"]("frame takes a non-empty chunk; end() writes the final one")
        return self._header(data) + bytes(data) + b"\r\n"

    def end(self, trailer: Optional[Mapping[str, str]] = None) -> bytes:
        """The final empty chunk, the trailing headers (trailer modes) and the closing CRLF."""
        out = self._header(b"")
        if trailer:
            out += "".join(f"{n}:{v}\r\n" for n, v in trailer.items()).encode()
            if self.mode == "signed-with-trailer":
                out += f"x-amz-trailer-signature:{self.sign_trailer(trailer)}\r\n".encode()
        return out + b"\r\n"

    def body(self, file, *, chunk_size: int = 65536, checksum: Optional[str] = None):
        """Yields the framed body of `file` (a binary file object), read `chunk_size` bytes
        at a time, never whole. `checksum` ("crc32" or "sha256", computed here) is the
        trailer of the trailer modes; send it as the content-length framed_length gives."""
        running = _checksum(checksum)
        while True:
            data = _read_full(file, chunk_size)
            if not data:
                break
            if running:
                running.update(data)
            yield self.frame(data)
        yield self.end({f"x-amz-checksum-{checksum}": running.base64()} if running else None)

    def _header(self, data) -> bytes:
        if self.mode == "unsigned-with-trailer":
            return f"{len(data):x}\r\n".encode()
        return f"{len(data):x};chunk-signature={self.sign_chunk(data)}\r\n".encode()


class MessageSigner(_Held):
    """Signs the messages of one event stream, in order, each at the real time it is signed.
    Use as a context manager, or close() when the stream ends."""

    def sign_message(self, message: Union[bytes, bytearray, memoryview], credentials) -> Tuple[_dt.datetime, bytes]:
        """Signs the next encoded message (b"" for the closing frame). Returns the `:date`
        and `:chunk-signature` header values of the envelope to wrap it in."""
        out = self._call(
            self._signer._event_stream["[method]message-signer.sign-message"],
            hashlib.sha256(message).hexdigest(),
            _wit_credentials(credentials),
            read_clock=True,
        )
        return _datetime(out.date), bytes(out.signature)


class _Checksum:
    """A running CRC32 or SHA-256 (what the standard library has), base64 at the end."""

    def __init__(self, kind: str):
        self.kind = kind
        self.crc = 0
        self.sha = hashlib.sha256() if kind == "sha256" else None

    def update(self, data) -> None:
        if self.sha:
            self.sha.update(data)
        else:
            self.crc = zlib.crc32(data, self.crc)

    def base64(self) -> str:
        raw = self.sha.digest() if self.sha else self.crc.to_bytes(4, "big")
        return base64.b64encode(raw).decode()


def _checksum(kind: Optional[str]) -> Optional[_Checksum]:
    if kind is None:
        return None
    if kind not in ("crc32", "sha256"):
        raise BY_CODE["invalid-option"](f"checksum {kind!r}: crc32 or sha256 (the standard library has no crc32c)")
    return _Checksum(kind)


def _read_full(file, size: int) -> bytes:
    """`size` bytes from `file`, fewer only at its end (a raw file may return short reads)."""
    parts, got = [], 0
    while got < size:
        part = file.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _wit_headers(headers: HeadersLike) -> list:
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
    return [
        _record(
            name=_text(n, "a header name", BY_CODE["invalid-header-name"]),
            value=_text(v, f"header {n!r}", BY_CODE["invalid-header-value"]),
        )
        for n, v in pairs
    ]


def _wit_credentials(credentials):
    creds = Credentials.of(credentials)
    return _record(
        access_key_id=_text(creds.access_key_id, "the access key id", InvalidCredentials),
        secret_access_key=_text(creds.secret_access_key, "the secret", InvalidCredentials),
        session_token=None if creds.session_token is None else _text(creds.session_token, "the session token", InvalidCredentials),
    )


def _wit_conditions(condition) -> list:
    """The WIT conditions for one condition as written in the policy JSON."""
    def match(field, value, how):
        if not isinstance(field, str) or not isinstance(value, str):
            raise BY_CODE["invalid-option"](f"a {how} condition takes a field name and a str value")
        return wc.Variant(how, _record(field=field.removeprefix("$"), value=value))

    if isinstance(condition, Mapping):
        return [match(k, v, "equals") for k, v in condition.items()]
    if isinstance(condition, (list, tuple)) and len(condition) == 3:
        op, a, b = condition
        if op == "eq":
            return [match(a, b, "equals")]
        if op == "starts-with":
            return [match(a, b, "starts-with")]
        if op == "content-length-range":
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in (a, b)) or not 0 <= a <= b:
                raise BY_CODE["invalid-option"]("content-length-range takes ints 0 <= min <= max")
            return [wc.Variant("content-length-range", _record(min=a, max=b))]
    raise BY_CODE["invalid-option"](f"unknown policy condition {condition!r}")


def _datetime(instant) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(instant.seconds, _dt.timezone.utc).replace(microsecond=instant.nanoseconds // 1000)


def _signed(out) -> Signed:
    added = getattr(out, "headers")
    return Signed(
        headers={h.name: h.value for h in added},
        url=out.url,
        signature=out.signature,
        signing_time=_datetime(getattr(out, "signing-time")),
        canonical_request=getattr(out, "canonical-request"),
        string_to_sign=getattr(out, "string-to-sign"),
        sensitive_headers=frozenset(h.name for h in added if h.sensitive),
    )


class _Instance:
    """A store, the component's instance in it, and the functions looked up so far."""

    __slots__ = ("store", "instance", "funcs", "broken")

    def __init__(self, engine, linker, component):
        self.store = wasmtime.Store(engine)
        self.instance = linker.instantiate(self.store, component)
        self.funcs = {}
        self.broken = False


_default = None
_default_lock = threading.Lock()


def default_signer() -> Signer:
    """The module-level Signer (default clock), created on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Signer()
        return _default


def sign(**request) -> Signed:
    """Signs with the default Signer; see Signer.sign."""
    return default_signer().sign(**request)


def presign(**request) -> str:
    """A presigned URL from the default Signer; see Signer.presign."""
    return default_signer().presign(**request)
