// realsig for Node: AWS SigV4 through the realsig component (jco, no WASI shim). This file
// only supplies `real-now` and the shapes Node users know; the component does the signing.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { instantiate } from '../generated/realsig.js';
import { defaultClock } from './clocks.js';
import { ClockError, SignError } from './errors.js';

export { SignError, ClockError } from './errors.js';
export { systemClock, fixedClock, userClock, realtimeFile, chain, defaultClock, parseRealtime } from './clocks.js';
export { ntpClock } from './ntp.js';

/** Core modules compiled once per process, shared by every Signer. */
const compiled = new Map();
function coreModule(path) {
  let m = compiled.get(path);
  if (!m) {
    m = new WebAssembly.Module(readFileSync(new URL(`../generated/${path}`, import.meta.url)));
    compiled.set(path, m);
  }
  return m;
}

function urlOf(req) {
  if (req.url !== undefined) return String(req.url);
  const protocol = (req.protocol ?? 'https:').replace(/:?$/, ':');
  const host = req.hostname ?? req.host;
  if (!host) throw new SignError('invalid-url', 'give url, or hostname (and path)');
  const port = req.port ? `:${req.port}` : '';
  let path = req.path ?? '/';
  if (req.query && Object.keys(req.query).length) {
    const q = new URLSearchParams(req.query).toString();
    path += (path.includes('?') ? '&' : '?') + q;
  }
  return `${protocol}//${host}${port}${path}`;
}

function payloadOf(req) {
  if (req.bodySha256 === 'UNSIGNED-PAYLOAD') return { tag: 'unsigned' };
  if (req.bodySha256 !== undefined) return { tag: 'sha256-hex', val: String(req.bodySha256) };
  const body = req.body;
  if (body === undefined || body === null || body.length === 0) return { tag: 'empty' };
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new SignError('invalid-payload-hash', 'body must be a string or Uint8Array (or give bodySha256)');
  }
  // Hashed here with node:crypto, never copied into the component.
  return { tag: 'sha256-hex', val: createHash('sha256').update(body).digest('hex') };
}

function headersOf(headers) {
  if (!headers) return [];
  const entries = headers instanceof Map || typeof headers.entries === 'function' && !Array.isArray(headers)
    ? [...headers.entries()]
    : Array.isArray(headers) ? headers : Object.entries(headers);
  const out = [];
  for (const [name, value] of entries) {
    for (const v of Array.isArray(value) ? value : [value]) out.push({ name: String(name), value: String(v) });
  }
  return out;
}

/** Signs with one component instance (JS is single-threaded: one is enough) and one clock. */
export class Signer {
  /** `clock`: a provider from clocks.js (default: defaultClock()). */
  constructor({ clock = defaultClock() } = {}) {
    this.clock = clock;
    this.reading = null;
    const realNow = () => {
      // The reading taken for this call (see sign); a second call in one sign reads again.
      const r = this.reading ?? this.clock();
      this.reading = null;
      return r;
    };
    const component = instantiate(coreModule, {
      'realsig:sigv4/real-time': {
        realNow() {
          try {
            const r = realNow();
            return { seconds: r.seconds, nanoseconds: r.nanoseconds };
          } catch (e) {
            return { tag: 'err', val: { message: e.message } };
          }
        },
      },
    });
    this.signer = component.signer;
  }

  #call(req, credentials, placement, debug) {
    const s3 = req.service === 's3';
    const o = req.signingOptions ?? {};
    const request = {
      method: req.method ?? 'GET',
      url: urlOf(req),
      headers: headersOf(req.headers),
      payload: payloadOf(req),
      region: req.region,
      service: req.service,
      options: {
        placement,
        doubleUriEncode: o.doubleUriEncode ?? !s3,
        normalizePath: o.normalizePath ?? !s3,
        contentSha256Header: o.contentSha256Header ?? (s3 && placement.tag === 'headers'),
        omitSessionToken: o.omitSessionToken ?? false,
        debug: Boolean(debug),
      },
    };
    const creds = {
      accessKeyId: credentials?.accessKeyId,
      secretAccessKey: credentials?.secretAccessKey,
      sessionToken: credentials?.sessionToken || undefined,
    };
    if (typeof creds.accessKeyId !== 'string' || typeof creds.secretAccessKey !== 'string') {
      throw new SignError('invalid-credentials', 'credentials need accessKeyId and secretAccessKey strings');
    }
    if (typeof request.region !== 'string' || typeof request.service !== 'string') {
      throw new SignError('invalid-option', 'region and service are required strings');
    }
    try {
      this.reading = this.clock();
    } catch (e) {
      this.reading = null;
      throw e instanceof ClockError ? e : new ClockError(e.message);
    }
    try {
      return this.signer.sign(request, creds);
    } catch (e) {
      const p = e?.payload;
      if (p && typeof p.tag === 'string') {
        throw p.tag === 'clock-unavailable' ? new ClockError(p.val) : new SignError(p.tag, p.val);
      }
      throw e;
    } finally {
      this.reading = null;
    }
  }

  /**
   * Signs `req` ({ method, url | hostname+path[+query], headers, body | bodySha256, region,
   * service, signingOptions }) and returns { headers, url, signature, signingTime } where
   * `headers` are the ones to add (lowercase names). `{ debug: true }` adds canonicalRequest
   * and stringToSign.
   */
  sign(req, credentials, { debug = false } = {}) {
    const s = this.#call(req, credentials, { tag: 'headers' }, debug);
    const headers = {};
    for (const h of s.headers) headers[h.name] = h.value;
    const out = {
      headers,
      url: s.url,
      signature: s.signature,
      signingTime: new Date(Number(s.signingTime.seconds) * 1000),
    };
    if (debug) Object.assign(out, { canonicalRequest: s.canonicalRequest, stringToSign: s.stringToSign });
    return out;
  }

  /** A presigned URL valid for `expiresIn` seconds (default 900, at most 604800). */
  presign(req, credentials, { expiresIn = 900, debug = false } = {}) {
    const s = this.#call({ bodySha256: req.service === 's3' ? 'UNSIGNED-PAYLOAD' : undefined, ...req }, credentials, { tag: 'query', val: expiresIn }, debug);
    if (debug) return { url: s.url, canonicalRequest: s.canonicalRequest, stringToSign: s.stringToSign };
    return s.url;
  }
}

let shared = null;
/** Signs with a shared default Signer (default clock). */
export function sign(req, credentials, options) {
  shared ??= new Signer();
  return shared.sign(req, credentials, options);
}

/** Presigns with a shared default Signer (default clock). */
export function presign(req, credentials, options) {
  shared ??= new Signer();
  return shared.presign(req, credentials, options);
}
