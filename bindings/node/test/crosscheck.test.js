// Random requests signed by this package and by @smithy/signature-v4 (the JS SDK's signer)
// at the same pinned time: the signatures must be identical.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

import { Signer, fixedClock } from '../src/index.js';

/** A small seeded PRNG (mulberry32), so a failure can be replayed from its seed. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const pick = (r, s) => s[Math.floor(r() * s.length)];
const word = (r, chars, min, max) => {
  const n = min + Math.floor(r() * (max - min + 1));
  let out = '';
  for (let i = 0; i < n; i++) out += pick(r, chars);
  return out;
};
/** RFC 3986 unreserved-only encoding (what both signers expect on the wire). */
const rfc3986 = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const when = new Date('2026-11-23T10:11:12Z');
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

function randomRequest(r) {
  const method = pick(r, ['GET', 'POST', 'PUT', 'DELETE', 'HEAD']);
  const path = `/${Array.from({ length: Math.floor(r() * 4) }, () => word(r, `${ALNUM}-_~`, 1, 8)).join('/')}`;
  const query = {};
  for (let i = Math.floor(r() * 4); i > 0; i--) query[word(r, `${ALNUM}-_`, 1, 6)] = word(r, `${ALNUM} /+=&?:@-_.~`, 0, 10);
  const headers = { host: 'example.amazonaws.com' };
  for (let i = Math.floor(r() * 4); i > 0; i--) {
    headers[`x-test-${word(r, 'abcdefghij0123456789', 1, 6)}`] = word(r, `${ALNUM} :;,.=/-`, 1, 20).trim() || 'v';
  }
  const body = r() < 0.5 ? '' : word(r, `${ALNUM} {}":,`, 1, 200);
  return { method, path, query, headers, body };
}

test('500 random requests: identical signatures to @smithy/signature-v4', async () => {
  const smithy = new SignatureV4({ credentials, region: 'eu-west-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });
  const ours = new Signer({ clock: fixedClock(when) });
  for (let seed = 1; seed <= 500; seed++) {
    const r = rng(seed);
    const q = randomRequest(r);
    const signed = await smithy.sign(
      new HttpRequest({ method: q.method, protocol: 'https:', hostname: 'example.amazonaws.com', path: q.path, query: q.query, headers: { ...q.headers }, body: q.body || undefined }),
      { signingDate: when },
    );
    const theirs = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization)[1];
    const qs = Object.entries(q.query).map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).join('&');
    const out = ours.sign(
      {
        method: q.method,
        url: `https://example.amazonaws.com${q.path}${qs ? `?${qs}` : ''}`,
        headers: q.headers,
        body: q.body,
        region: 'eu-west-1',
        service: 'execute-api',
        signingOptions: { contentSha256Header: 'x-amz-content-sha256' in signed.headers },
      },
      credentials,
    );
    assert.equal(out.signature, theirs, `seed ${seed}: ${JSON.stringify(q)}`);
  }
});
