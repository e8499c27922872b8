"""The Signer: the realsig component run by the reference host (realsig._native, the same Rust
library as the CLI and the gem), with a clock supplying `real-now`.

The host compiles the component once (cached on disk), keeps a pool of instances that threads
share, and releases the GIL while it reads the clock, fetches credentials and signs. Measured
in bench.py against botocore's SigV4Auth in the same run.
"""

import base64
import dataclasses
import datetime as _dt
import hashlib
import threading
import zlib
from typing import Mapping, Optional, Sequence, Tuple, Union

from . import _native
from . import clocks as _clocks
from .errors import BY_CODE, InvalidCredentials

MAX_EXPIRES = 604_800
CHUNKED_MODES = ("signed", "signed-with-trailer", "unsigned-with-trailer")
_EMPTY = ("empty", None)
_UNSIGNED = ("unsigned", None)
_NO_HEADERS = ()
_DEFAULT_OPTIONS = (None, None, None, None, False, False, False)


@dataclasses.dataclass(frozen=True)
class Credentials:
    """AWS credentials. The secret and the session token never appear in repr or errors.
    `expiration`: when temporary credentials from a provider stop working, else None."""

    access_key_id: str
    secret_access_key: str = dataclasses.field(repr=False)
    session_token: Optional[str] = dataclasses.field(default=None, repr=False)
    expiration: Optional[_dt.datetime] = None

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


class Signed:
    """What to send: add `headers` (lowercase names, replacing any of the same name) and use
    `url`. Read-only: `headers` (a new dict per signature, yours to merge), `url`, `signature`,
    `signing_time` (aware UTC datetime), `canonical_request` and `string_to_sign` (with
    `debug=True`, else None), `sensitive_headers` (the names whose values are secret, such as
    x-amz-security-token; repr shows them masked).

    A slotted class over the extension's result rather than a frozen dataclass: a frozen
    dataclass's __init__ plus the datetime cost 2.3 µs per signature against 0.1 µs for this
    (bench.py's request), a third of what Signer.sign cost in all."""

    __slots__ = ("_out",)

    def __init__(self, out):
        """`out`: the extension's (headers dict, sensitive header names, url, signature,
        seconds, nanoseconds, canonical request, string to sign)."""
        self._out = out

    headers = property(lambda self: self._out[0])
    url = property(lambda self: self._out[2])
    signature = property(lambda self: self._out[3])
    canonical_request = property(lambda self: self._out[6])
    string_to_sign = property(lambda self: self._out[7])

    @property
    def signing_time(self) -> _dt.datetime:
        return _datetime(self._out[4], self._out[5])

    @property
    def sensitive_headers(self) -> frozenset:
        return frozenset(self._out[1])

    def __eq__(self, other):
        return self._out == other._out if isinstance(other, Signed) else NotImplemented

    def __repr__(self):
        hidden = self._out[1]
        shown = {name: "<redacted>" if name in hidden else value for name, value in self._out[0].items()}
        return f"Signed(headers={shown!r}, url={self.url!r}, signature={self.signature!r})"


HeadersLike = Union[Mapping[str, str], Sequence[Tuple[str, str]], None]


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


class CredentialsProvider:
    """Where a Signer gets credentials when a call gives none: the reference host's providers,
    cached until five minutes before they expire, judged by the signer's REAL clock, refreshed
    single-flight, with back-off when the endpoint throttles while the cached ones still work
    (so a process that signs per request never hammers the ECS endpoint)."""

    __slots__ = ("kind", "argument", "authorization")

    def __init__(self, kind: str, argument: Optional[str] = None, authorization: Optional[str] = None):
        self.kind, self.argument, self.authorization = kind, argument, authorization

    @classmethod
    def default(cls, profile: Optional[str] = None) -> "CredentialsProvider":
        """The AWS CLI's order: environment, the shared files (`profile`, else $AWS_PROFILE:
        keys, assume-role, web identity, SSO, credential_process), the container endpoint, IMDS."""
        return cls("default", profile)

    @classmethod
    def ecs(cls, uri: Optional[str] = None, *, authorization: Optional[str] = None) -> "CredentialsProvider":
        """The ECS/EKS container endpoint: `uri`, else $AWS_CONTAINER_CREDENTIALS_FULL_URI or
        _RELATIVE_URI; `authorization`, else $AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)."""
        return cls("ecs", uri, authorization)

    def _spec(self):
        return (self.kind, self.argument, self.authorization)

    def __repr__(self):
        return f"<realsig.CredentialsProvider {self.kind}{' ' + self.argument if self.argument else ''}>"


def _check_request(method, url, headers, region, service) -> None:
    """Raises the typed error for the first argument the native layer could not take (only
    called after it refused one: the checks cost nothing on the way that succeeds)."""
    _text(method, "method", BY_CODE["invalid-method"])
    _text(url, "url", BY_CODE["invalid-url"])
    for n, v in headers:
        _text(n, "a header name", BY_CODE["invalid-header-name"])
        _text(v, f"header {n!r}", BY_CODE["invalid-header-value"])
    _text(region, "region", BY_CODE["invalid-option"])
    _text(service, "service", BY_CODE["invalid-option"])


class Signer:
    """Signs requests with the realsig component and `clock` (default: clocks.default_clock();
    any clock of realsig.clocks, or a callable returning an aware datetime or int nanoseconds).

    `credentials`: what calls that give none sign with: static Credentials (or a mapping, or
    botocore credentials), or a CredentialsProvider (default: CredentialsProvider.default(),
    the AWS CLI's chain, fetched on first use). `component`: other component bytes (tests).

    Safe to share between threads: calls run in parallel, outside the GIL.
    """

    def __init__(self, clock=None, *, credentials=None, component: Optional[bytes] = None):
        self.clock = _clocks.clock_of(clock) if clock is not None else _clocks.default_clock()
        if credentials is None or isinstance(credentials, CredentialsProvider):
            provider, self._credentials = credentials or CredentialsProvider.default(), None
        else:
            provider, self._credentials = CredentialsProvider.default(), _wit_credentials(credentials)
        self._native = _native.Signer(self.clock._native, provider._spec(), None if component is None else bytes(component))

    def _parts(self, credentials):
        """The credentials of one call as the native layer takes them; None: the provider's."""
        return self._credentials if credentials is None else _wit_credentials(credentials)

    def credentials(self) -> "Credentials":
        """The credentials calls without any use: the static ones, else the provider's
        (fetched when missing or about to expire by the real time). Raises CredentialsError."""
        if self._credentials is not None:
            return Credentials(*self._credentials)
        akid, secret, token, expiration_ns, _provider = self._native.credentials()
        return Credentials(akid, secret, token, None if expiration_ns is None else _datetime_ns(expiration_ns))

    def sign(
        self,
        *,
        method: str = "GET",
        url: str,
        headers: HeadersLike = None,
        body: Union[bytes, bytearray, memoryview, str, None] = None,
        body_sha256: Optional[str] = None,
        credentials=None,
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
        the region set: "*", "us-east-1,us-west-2" or a list of regions.
        Without `credentials`, the signer's (see Signer)."""
        if body_sha256 is not None:
            if body is not None:
                raise ValueError("give body or body_sha256, not both")
            if body_sha256 == "UNSIGNED-PAYLOAD":
                payload = _UNSIGNED
            else:
                payload = ("sha256-hex", _text(body_sha256, "body_sha256", BY_CODE["invalid-payload-hash"]))
        elif body is None or len(body) == 0:
            payload = _EMPTY
        else:
            data = body.encode("utf-8") if isinstance(body, str) else body
            payload = ("sha256-hex", hashlib.sha256(data).hexdigest())
        if expires_in is not None and (
            isinstance(expires_in, bool) or not isinstance(expires_in, int) or not 1 <= expires_in <= MAX_EXPIRES
        ):
            raise BY_CODE["invalid-option"](f"expires_in must be an int in 1..={MAX_EXPIRES}, not {expires_in!r}")
        if sigv4a and not isinstance(region, str) and isinstance(region, Sequence):
            region = ",".join(region)  # a region set given as a list
        pairs = _pairs(headers) if headers else _NO_HEADERS
        if (expires_in is None and double_uri_encode is None and normalize_path is None
                and content_sha256_header is None and not (omit_session_token or debug or sigv4a)):
            options = _DEFAULT_OPTIONS  # the common call: no tuple or bool() calls to build it
        else:
            options = (expires_in, _rule(double_uri_encode), _rule(normalize_path), _rule(content_sha256_header),
                       bool(omit_session_token), bool(debug), bool(sigv4a))
        if credentials is None:
            creds = self._credentials
        elif type(credentials) is Credentials:  # checked by the extension; see the except
            creds = (credentials.access_key_id, credentials.secret_access_key, credentials.session_token)
        else:
            creds = _wit_credentials(credentials)
        try:
            out = self._native.sign(method, url, pairs, payload, region, service, options, creds)
        except (TypeError, UnicodeEncodeError):
            _check_request(method, url, pairs, region, service)
            if credentials is not None:
                _wit_credentials(credentials)
            raise
        return Signed(out)

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
        credentials=None,
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
        if mode not in CHUNKED_MODES:
            raise BY_CODE["invalid-option"](f"mode must be one of {', '.join(CHUNKED_MODES)}, not {mode!r}")
        pairs = _pairs(headers)
        _check_request(method, url, pairs, region, service)
        upload = (mode, decoded_content_length,
                  None if trailer is None else _text(trailer, "trailer", BY_CODE["invalid-option"]))
        signed, chunks = self._native.start_chunked(method, url, pairs, region, service, upload, self._parts(credentials))
        return ChunkedUpload(chunks, Signed(signed), mode)

    def sign_post_policy(
        self,
        *,
        conditions: Sequence = (),
        credentials=None,
        region: str,
        service: str = "s3",
        expires_in: int = 3600,
    ) -> "SignedForm":
        """Builds and signs an S3 POST policy (browser uploads). `conditions` as in the policy
        JSON: dicts of exact matches ({"bucket": "b"}), ["eq", "$key", "v"],
        ["starts-with", "$key", "uploads/"], ["content-length-range", min, max]."""
        if isinstance(expires_in, bool) or not isinstance(expires_in, int) or not 1 <= expires_in <= MAX_EXPIRES:
            raise BY_CODE["invalid-option"](f"expires_in must be an int in 1..={MAX_EXPIRES}, not {expires_in!r}")
        triples = [t for c in conditions for t in _wit_conditions(c)]
        fields, document, signature, secs, nanos = self._native.post_policy(
            triples, expires_in, _text(region, "region", BY_CODE["invalid-option"]),
            _text(service, "service", BY_CODE["invalid-option"]), self._parts(credentials))
        return SignedForm(
            fields={name: value for name, value, _ in fields},
            policy_document=document,
            signature=signature,
            signing_time=_datetime(secs, nanos),
            sensitive_fields=frozenset(name for name, _, sensitive in fields if sensitive),
        )

    def event_stream(self, seed_signature: str, *, region: str, service: str) -> "MessageSigner":
        """A MessageSigner for the messages of an event stream whose request was signed with
        `seed_signature` (hex)."""
        messages = self._native.event_stream(
            _text(seed_signature, "seed_signature", BY_CODE["invalid-option"]),
            _text(region, "region", BY_CODE["invalid-option"]),
            _text(service, "service", BY_CODE["invalid-option"]),
        )
        return MessageSigner(messages)


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
    """A resource of the component (and the instance the host keeps for it), used by one
    holder."""

    def __init__(self, native):
        self._native = native

    def close(self) -> None:
        """Drops the component's resource (and with it the instance kept for it)."""
        self._native.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class ChunkedUpload(_Held):
    """One aws-chunked upload: add `signed.headers` to the request, send `frame(chunk)` for
    each chunk in order (all full size but the last), then `end(trailer)`; or iterate
    `body(file)`. Use as a context manager, or close() when done."""

    def __init__(self, native, signed: Signed, mode: str):
        super().__init__(native)
        self.signed = signed
        self.mode = mode

    def sign_chunk(self, data: Union[bytes, bytearray, memoryview, None] = None, *, sha256: Optional[str] = None) -> str:
        """The next chunk's signature; the data is hashed here with hashlib (or give `sha256`)."""
        if (data is None) == (sha256 is None):
            raise ValueError("give the chunk's data or its sha256, one of them")
        hex_digest = hashlib.sha256(data).hexdigest() if sha256 is None else _text(sha256, "sha256", BY_CODE["invalid-payload-hash"])
        return self._native.sign_chunk(hex_digest)

    def sign_trailer(self, headers: HeadersLike) -> str:
        """The trailer's signature, given the trailing headers."""
        pairs = _pairs(headers)
        for n, v in pairs:
            _text(n, "a header name", BY_CODE["invalid-header-name"])
            _text(v, f"header {n!r}", BY_CODE["invalid-header-value"])
        return self._native.sign_trailer(pairs)

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
        secs, signature = self._native.sign_message(hashlib.sha256(message).hexdigest(), _wit_credentials(credentials))
        return _datetime(secs, 0), bytes(signature)


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


def _pairs(headers: HeadersLike) -> list:
    """Headers as a list of (name, value) tuples."""
    if not headers:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return [(n, v) for n, v in headers]


def _wit_credentials(credentials) -> tuple:
    creds = credentials if type(credentials) is Credentials else Credentials.of(credentials)
    return (
        _text(creds.access_key_id, "the access key id", InvalidCredentials),
        _text(creds.secret_access_key, "the secret", InvalidCredentials),
        None if creds.session_token is None else _text(creds.session_token, "the session token", InvalidCredentials),
    )


def _wit_conditions(condition) -> list:
    """The native layer's triples for one condition as written in the policy JSON."""
    def match(field, value, how):
        if not isinstance(field, str) or not isinstance(value, str):
            raise BY_CODE["invalid-option"](f"a {how} condition takes a field name and a str value")
        return (how, _text(field, "a policy field", BY_CODE["invalid-option"]).removeprefix("$"),
                _text(value, "a policy value", BY_CODE["invalid-option"]))

    if isinstance(condition, Mapping):
        return [match(k, v, "eq") for k, v in condition.items()]
    if isinstance(condition, (list, tuple)) and len(condition) == 3:
        op, a, b = condition
        if op in ("eq", "starts-with"):
            return [match(a, b, op)]
        if op == "content-length-range":
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in (a, b)) or not 0 <= a <= b:
                raise BY_CODE["invalid-option"]("content-length-range takes ints 0 <= min <= max")
            return [("content-length-range", str(a), str(b))]
    raise BY_CODE["invalid-option"](f"unknown policy condition {condition!r}")


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def _datetime(secs: int, nanos: int) -> _dt.datetime:
    return _EPOCH + _dt.timedelta(seconds=secs, microseconds=nanos // 1000)


def _datetime_ns(ns: int) -> _dt.datetime:
    return _datetime(ns // 1_000_000_000, ns % 1_000_000_000)


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
