"""The Signer: the realsig component run by wasmtime-py, with a clock supplying `real-now`.

Reuse strategy: the component is compiled once per Signer; each thread gets its own Store and
instance (a wasmtime Store is not thread-safe) and keeps it across calls. An instance whose
call trapped is thrown away and the next call builds a new one. Measured in bench.py: a fresh
Store + instance per call costs about 0.6 ms more than reuse (1.5 ms against 0.9 ms).
"""

import dataclasses
import datetime as _dt
import hashlib
import threading
from importlib import resources
from typing import Mapping, Optional, Sequence, Tuple, Union

import wasmtime
from wasmtime import component as wc

from . import clocks as _clocks
from .errors import BY_CODE, ClockError, ComponentFailure, InvalidCredentials, SignError

TIME_INTERFACE = "realsig:sigv4/real-time"
SIGNER_INTERFACE = "realsig:sigv4/signer"
MAX_EXPIRES = 604_800


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
            "realsig.wasm is missing from the package: build it with "
            "`cargo run -p realsig -- component --out bindings/python/src/realsig/realsig.wasm`"
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
        signer = self._component.get_export_index(SIGNER_INTERFACE)
        self._sign_index = self._component.get_export_index("sign", signer) if signer else None
        if self._sign_index is None:
            raise RuntimeError(f"the component does not export {SIGNER_INTERFACE}#sign")
        self._local = threading.local()

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
    def _instance(self):
        local = self._local
        if getattr(local, "sign", None) is None:
            store = wasmtime.Store(self._engine)
            instance = self._linker.instantiate(store, self._component)
            local.store, local.sign = store, instance.get_func(store, self._sign_index)
        return local.store, local.sign

    def _call(self, request, credentials):
        store, sign = self._instance()
        self._local.reading = self._read_clock()
        try:
            out = sign(store, request, credentials)
            sign.post_return(store)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
            self._local.sign = None  # never reuse an instance that failed
            raise ComponentFailure(f"the component failed: {str(e).splitlines()[0]}") from None
        except BaseException:
            # An exception raised by a host function (wasmtime-py traps the guest, then re-raises
            # it here) or an interrupt: the instance stopped mid-call, so drop it too.
            self._local.sign = None
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
        double_uri_encode: bool = True,
        normalize_path: bool = True,
        content_sha256_header: bool = False,
        omit_session_token: bool = False,
        debug: bool = False,
        expires_in: Optional[int] = None,
    ) -> Signed:
        """Signs a request. `body` is hashed here with hashlib, never copied into the
        component; or pass `body_sha256` (hex, or "UNSIGNED-PAYLOAD"). S3 wants
        `double_uri_encode=False, normalize_path=False, content_sha256_header=True`.
        With `expires_in` (seconds) the signature goes into the URL (a presigned URL)."""
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
        pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
        wit_headers = [
            _record(
                name=_text(n, "a header name", BY_CODE["invalid-header-name"]),
                value=_text(v, f"header {n!r}", BY_CODE["invalid-header-value"]),
            )
            for n, v in pairs
        ]
        creds = Credentials.of(credentials)
        request = _record(
            method=_text(method, "method", BY_CODE["invalid-method"]),
            url=_text(url, "url", BY_CODE["invalid-url"]),
            headers=wit_headers,
            payload=payload,
            region=_text(region, "region", BY_CODE["invalid-option"]),
            service=_text(service, "service", BY_CODE["invalid-option"]),
            options=_record(
                placement=placement,
                double_uri_encode=bool(double_uri_encode),
                normalize_path=bool(normalize_path),
                content_sha256_header=bool(content_sha256_header),
                omit_session_token=bool(omit_session_token),
                debug=bool(debug),
            ),
        )
        wit_creds = _record(
            access_key_id=_text(creds.access_key_id, "the access key id", InvalidCredentials),
            secret_access_key=_text(creds.secret_access_key, "the secret", InvalidCredentials),
            session_token=None if creds.session_token is None else _text(creds.session_token, "the session token", InvalidCredentials),
        )
        out = self._call(request, wit_creds)
        added = getattr(out, "headers")
        t = getattr(out, "signing-time")
        return Signed(
            headers={h.name: h.value for h in added},
            url=out.url,
            signature=out.signature,
            signing_time=_dt.datetime.fromtimestamp(t.seconds, _dt.timezone.utc).replace(microsecond=t.nanoseconds // 1000),
            canonical_request=getattr(out, "canonical-request"),
            string_to_sign=getattr(out, "string-to-sign"),
            sensitive_headers=frozenset(h.name for h in added if h.sensitive),
        )

    def presign(self, *, expires_in: int = 900, **request) -> str:
        """A presigned URL (default 15 minutes). Takes sign's keywords."""
        return self.sign(expires_in=expires_in, **request).url


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
