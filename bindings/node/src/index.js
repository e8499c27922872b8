// realsig for Node: AWS SigV4 through the realsig component (jco, no WASI shim). This file
// only supplies `real-now` and the shapes Node users know; the component does the signing.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { instantiate } from '../generated/realsig.js';
import { defaultClock } from './clocks.js';
import { ClockError, SignError } from './errors.js';

export { SignError, ClockError } from './errors.js';
export { systemClock, fixedClock, userClock, realtimeFile, kernelClock, chain, defaultClock, parseRealtime } from './clocks.js';
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
/** A service-rule override: `undefined` (or `null`) leaves it to the component. */
const rule = (v) => (v === undefined || v === null ? undefined : Boolean(v));

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
    this.component = component;
    this.signer = component.signer;
  }

  /**
   * Runs one component call: reads the clock first when `readClock` (a source that takes its
   * time does not run inside the call; `real-now` hands this reading over), and turns the
   * WIT errors into SignError / ClockError.
   */
  #enter(fn, readClock = true) {
    if (readClock) {
      try {
        this.reading = this.clock();
      } catch (e) {
        this.reading = null;
        throw e instanceof ClockError ? e : new ClockError(e.message);
      }
    }
    try {
      return fn();
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

  #request(req, placement, debug, sigv4a) {
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
        // Left unset, the component applies the service's rules (S3's for 's3').
        doubleUriEncode: rule(o.doubleUriEncode),
        normalizePath: rule(o.normalizePath),
        contentSha256Header: rule(o.contentSha256Header),
        omitSessionToken: o.omitSessionToken ?? false,
        debug: Boolean(debug),
      },
    };
    if (sigv4a && req.regionSet !== undefined) {
      request.region = Array.isArray(req.regionSet) ? req.regionSet.join(',') : req.regionSet;
    }
    if (typeof request.region !== 'string' || typeof request.service !== 'string') {
      throw new SignError('invalid-option', sigv4a
        ? 'regionSet (or region) and service are required strings'
        : 'region and service are required strings');
    }
    return request;
  }

  #call(req, credentials, placement, debug, sigv4a) {
    const request = this.#request(req, placement, debug, sigv4a);
    const creds = credentialsOf(credentials);
    return this.#enter(() => (sigv4a ? this.signer.signSigv4a(request, creds) : this.signer.sign(request, creds)));
  }

  /**
   * Signs `req` ({ method, url | hostname+path[+query], headers, body | bodySha256, region,
   * service, signingOptions }) and returns { headers, url, signature, signingTime } where
   * `headers` are the ones to add (lowercase names). `{ debug: true }` adds canonicalRequest
   * and stringToSign. `{ sigv4a: true }` signs with SigV4a (AWS4-ECDSA-P256-SHA256) for
   * `req.regionSet` ('*', 'us-east-1,us-west-2' or an array; default `req.region`).
   */
  sign(req, credentials, { debug = false, sigv4a = false } = {}) {
    return signedOf(this.#call(req, credentials, { tag: 'headers' }, debug, sigv4a), debug);
  }

  /**
   * A presigned URL valid for `expiresIn` seconds (default 900, at most 604800); `sigv4a` as
   * for sign.
   */
  presign(req, credentials, { expiresIn = 900, debug = false, sigv4a = false } = {}) {
    const s = this.#call(req, credentials, { tag: 'query', val: expiresIn }, debug, sigv4a);
    if (debug) return { url: s.url, canonicalRequest: s.canonicalRequest, stringToSign: s.stringToSign };
    return s.url;
  }

  /**
   * Signs the request opening an S3 aws-chunked upload of `decodedContentLength` bytes and
   * returns a ChunkedUpload, which signs and frames the chunks in order. `mode`: 'signed'
   * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), 'signed-with-trailer' or 'unsigned-with-trailer';
   * `trailer`: the trailing checksum header's name in the trailer modes. Give the framed
   * content-length (framedLength) among `req.headers`. S3 rules apply unless
   * `req.signingOptions` says otherwise.
   */
  startChunked(req, credentials, { decodedContentLength, mode = 'signed', trailer } = {}) {
    if (req.body !== undefined || req.bodySha256 !== undefined) {
      throw new SignError('invalid-option', 'the data of a chunked upload goes through signChunk, not body');
    }
    if (!Number.isSafeInteger(decodedContentLength) && typeof decodedContentLength !== 'bigint') {
      throw new SignError('invalid-option', 'decodedContentLength must be an integer');
    }
    if (!CHUNKED_MODES.includes(mode)) {
      throw new SignError('invalid-option', `mode must be one of ${CHUNKED_MODES.join(', ')}, not ${JSON.stringify(mode)}`);
    }
    const request = this.#request({ service: 's3', ...req }, { tag: 'headers' }, false, false);
    const upload = { mode, decodedContentLength: BigInt(decodedContentLength), trailer };
    const creds = credentialsOf(credentials);
    const [signed, chunks] = this.#enter(() => this.component.chunked.start(request, creds, upload));
    return new ChunkedUpload((fn, readClock) => this.#enter(fn, readClock), signedOf(signed, false), chunks, mode);
  }

  /**
   * Builds and signs an S3 POST policy (browser uploads). `conditions`: objects
   * (`{ bucket: 'b' }`, each key an exact match) or arrays as in the policy JSON:
   * `['eq', '$key', 'v']`, `['starts-with', '$key', 'uploads/']`,
   * `['content-length-range', min, max]`. Returns { fields, policyDocument, signature,
   * signingTime }: `fields` in the order to put them in the form, before the file.
   */
  signPostPolicy({ conditions = [], expiresIn = 3600, region, service = 's3' } = {}, credentials) {
    const policy = { expiresIn, conditions: conditions.flatMap(conditionOf), region, service };
    if (typeof region !== 'string') throw new SignError('invalid-option', 'region is a required string');
    const creds = credentialsOf(credentials);
    const f = this.#enter(() => this.component.postPolicy.signPostPolicy(policy, creds));
    const fields = {};
    for (const field of f.fields) fields[field.name] = field.value;
    return {
      fields,
      policyDocument: f.policyDocument,
      signature: f.signature,
      signingTime: dateOf(f.signingTime),
    };
  }

  /**
   * A MessageSigner for the messages of an event stream whose request was signed with
   * `seedSignature` (the request's signature, hex).
   */
  eventStream(seedSignature, { region, service } = {}) {
    const messages = this.#enter(() => this.component.eventStream.open(String(seedSignature), region, service), false);
    return new MessageSigner((fn, readClock) => this.#enter(fn, readClock), messages);
  }
}

const CHUNKED_MODES = ['signed', 'signed-with-trailer', 'unsigned-with-trailer'];

function credentialsOf(credentials) {
  const creds = {
    accessKeyId: credentials?.accessKeyId,
    secretAccessKey: credentials?.secretAccessKey,
    sessionToken: credentials?.sessionToken || undefined,
  };
  if (typeof creds.accessKeyId !== 'string' || typeof creds.secretAccessKey !== 'string') {
    throw new SignError('invalid-credentials', 'credentials need accessKeyId and secretAccessKey strings');
  }
  return creds;
}

function dateOf(instant) {
  return new Date(Number(instant.seconds) * 1000 + Math.floor(instant.nanoseconds / 1e6));
}

function signedOf(s, debug) {
  const headers = {};
  for (const h of s.headers) headers[h.name] = h.value;
  const out = { headers, url: s.url, signature: s.signature, signingTime: new Date(Number(s.signingTime.seconds) * 1000) };
  if (debug) Object.assign(out, { canonicalRequest: s.canonicalRequest, stringToSign: s.stringToSign });
  return out;
}

/** The WIT conditions for one policy condition as written in the policy JSON. */
function conditionOf(c) {
  const match = (field, value, how) => {
    if (typeof field !== 'string' || typeof value !== 'string') {
      throw new SignError('invalid-option', `a ${how} condition needs a field and a string value`);
    }
    return { tag: how, val: { field: field.replace(/^\$/, ''), value } };
  };
  if (Array.isArray(c)) {
    const [op, a, b] = c;
    switch (String(op).toLowerCase()) {
      case 'eq': return [match(a, b, 'equals')];
      case 'starts-with': return [match(a, b, 'starts-with')];
      case 'content-length-range': {
        if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || a < 0 || b < a) {
          throw new SignError('invalid-option', 'content-length-range needs integers 0 <= min <= max');
        }
        return [{ tag: 'content-length-range', val: { min: BigInt(a), max: BigInt(b) } }];
      }
      default: throw new SignError('invalid-option', `unknown policy condition ${JSON.stringify(op)}`);
    }
  }
  if (c && typeof c === 'object') return Object.entries(c).map(([k, v]) => match(k, v, 'equals'));
  throw new SignError('invalid-option', 'a policy condition is an object or an array');
}

function sha256HexOf(data) {
  if (data?.sha256 !== undefined) return String(data.sha256);
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw new SignError('invalid-payload-hash', 'give the data as a Uint8Array or string, or { sha256: hex }');
  }
  return createHash('sha256').update(data).digest('hex');
}

const CRLF = Buffer.from('\r\n');

/**
 * One aws-chunked upload: `headers` to add to the request (with the framed content-length
 * you gave), then each chunk framed in order (`frame(data)`; every chunk but the last full
 * size), then `end(trailer)`. Holds the component's chunk signer: `close()` (or `using`)
 * when done; it is also released when garbage-collected.
 */
export class ChunkedUpload {
  #enter;
  #chunks;
  #mode;

  /** Made by Signer#startChunked; `enter` runs one call into the component. */
  constructor(enter, signed, chunks, mode) {
    this.#enter = enter;
    this.#chunks = chunks;
    this.#mode = mode;
    Object.assign(this, signed);
  }

  /** The signature of the next chunk (data hashed here with node:crypto, or { sha256 }). */
  signChunk(data) {
    const hex = sha256HexOf(data);
    return this.#enter(() => this.#live().signChunk(hex), false);
  }

  /** The trailer's signature, given the trailing headers ({ name: value } or pairs). */
  signTrailer(headers) {
    return this.#signTrailer(headersOf(headers));
  }

  /** One data chunk, framed (signed unless the mode is unsigned). */
  frame(data) {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) {
      throw new SignError('invalid-option', 'frame takes a non-empty chunk; end() writes the final one');
    }
    return Buffer.concat([this.#header(bytes), bytes, CRLF]);
  }

  /** The final empty chunk, the trailer ({ name: value }) in the trailer modes, and the end. */
  end(trailer) {
    const parts = [this.#header(new Uint8Array(0))];
    const list = headersOf(trailer);
    if (list.length) {
      parts.push(Buffer.from(list.map((h) => `${h.name}:${h.value}\r\n`).join('')));
      if (this.#mode === 'signed-with-trailer') {
        parts.push(Buffer.from(`x-amz-trailer-signature:${this.#signTrailer(list)}\r\n`));
      }
    }
    parts.push(CRLF);
    return Buffer.concat(parts);
  }

  /** Releases the component's chunk signer. */
  close() {
    this.#chunks?.[Symbol.dispose]?.();
    this.#chunks = null;
  }

  [Symbol.dispose]() {
    this.close();
  }

  #signTrailer(list) {
    return this.#enter(() => this.#live().signTrailer(list), false);
  }

  #header(bytes) {
    const size = bytes.length.toString(16);
    if (this.#mode === 'unsigned-with-trailer') return Buffer.from(`${size}\r\n`);
    return Buffer.from(`${size};chunk-signature=${this.signChunk(bytes)}\r\n`);
  }

  #live() {
    if (!this.#chunks) throw new SignError('invalid-option', 'this chunked upload was closed');
    return this.#chunks;
  }
}

/**
 * The content-length of an aws-chunked body: `decodedLength` bytes in chunks of `chunkSize`,
 * in `mode`, with a trailing `{ name: value }` header (its value's length is what counts).
 */
export function framedLength(decodedLength, { chunkSize = 65536, mode = 'signed', trailer } = {}) {
  const signed = mode !== 'unsigned-with-trailer';
  const chunk = (n) => n.toString(16).length + (signed ? 17 + 64 : 0) + 2 + (n > 0 ? n + 2 : 0);
  const full = Math.floor(decodedLength / chunkSize);
  const rest = decodedLength % chunkSize;
  let total = full * chunk(chunkSize) + (rest > 0 ? chunk(rest) : 0) + chunk(0);
  for (const h of headersOf(trailer)) {
    total += h.name.length + 1 + Buffer.byteLength(h.value) + 2;
    if (mode === 'signed-with-trailer') total += 'x-amz-trailer-signature:'.length + 64 + 2;
  }
  return total + 2;
}

/**
 * Signs the messages of one event stream in order (each at the real time it is signed).
 * `close()` (or `using`) when the stream ends; it is also released when garbage-collected.
 */
export class MessageSigner {
  #enter;
  #messages;

  /** Made by Signer#eventStream; `enter` runs one call into the component. */
  constructor(enter, messages) {
    this.#enter = enter;
    this.#messages = messages;
  }

  /**
   * Signs the next encoded message (a Uint8Array, or { sha256 }; an empty one closes the
   * stream). Returns { date, signature }: the `:date` and `:chunk-signature` headers of
   * the envelope to wrap it in.
   */
  signMessage(message, credentials) {
    const hex = sha256HexOf(message);
    const creds = credentialsOf(credentials);
    if (!this.#messages) throw new SignError('invalid-option', 'this event stream signer was closed');
    const s = this.#enter(() => this.#messages.signMessage(hex, creds));
    return { date: dateOf(s.date), signature: s.signature };
  }

  close() {
    this.#messages?.[Symbol.dispose]?.();
    this.#messages = null;
  }

  [Symbol.dispose]() {
    this.close();
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
