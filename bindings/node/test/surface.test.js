// The signing surface beyond SigV4 through the package: SigV4a against the official v4a suite
// (signatures verified with each case's public key), aws-chunked uploads against AWS's worked
// examples, POST policies checked by an independent HMAC, and event-stream messages against
// @smithy/signature-v4's signMessage.
import assert from 'node:assert/strict';
import { createHash, createHmac, createPublicKey, verify } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

import { ChunkedUpload, SignError, Signer, fixedClock, framedLength } from '../src/index.js';
import { readTrimmed, suiteCase, vectorsDir } from './support.js';

const suite = join(vectorsDir(), 'aws-signing-test-suite', 'v4a');
const cases = readdirSync(suite, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

test('the v4a suite has cases', () => assert.ok(cases.length >= 30, `only ${cases.length}`));

const b64url = (hex) => Buffer.from(hex, 'hex').toString('base64url');

for (const name of cases) {
  for (const form of ['header', 'query']) {
    const dir = join(suite, name);
    // Upstream has no query files for some cases (those that cannot be presigned).
    if (!existsSync(join(dir, `${form}-canonical-request.txt`))) continue;
    test(`v4a/${name}/${form}`, () => {
      const { ctx, req, creds } = suiteCase(dir);
      const signer = new Signer({ clock: fixedClock(new Date(ctx.timestamp)) });
      let canonicalRequest, stringToSign, signature;
      if (form === 'header') {
        ({ canonicalRequest, stringToSign, signature } = signer.sign(req, creds, { debug: true, sigv4a: true }));
      } else {
        let url;
        ({ url, canonicalRequest, stringToSign } = signer.presign(req, creds, {
          expiresIn: ctx.expiration_in_seconds,
          debug: true,
          sigv4a: true,
        }));
        signature = new URL(url).searchParams.get('X-Amz-Signature');
      }
      assert.equal(canonicalRequest, readTrimmed(join(dir, `${form}-canonical-request.txt`)));
      assert.equal(stringToSign, readTrimmed(join(dir, `${form}-string-to-sign.txt`)));
      // ECDSA signatures are not the suite's bytes: they must verify with the case's key.
      const { X, Y } = JSON.parse(readFileSync(join(dir, 'public-key.json'), 'utf8'));
      const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64url(X), y: b64url(Y) }, format: 'jwk' });
      assert.ok(verify('sha256', Buffer.from(stringToSign), { key, dsaEncoding: 'der' }, Buffer.from(signature, 'hex')));
      // A control: the same signature does not verify another string.
      assert.ok(!verify('sha256', Buffer.from(`${stringToSign}x`), { key, dsaEncoding: 'der' }, Buffer.from(signature, 'hex')));
    });
  }
}

test('sigv4a takes the region set from regionSet, as a list too', () => {
  const signer = new Signer({ clock: fixedClock(new Date('2015-08-30T12:36:00Z')) });
  const req = { url: 'https://example.amazonaws.com/', regionSet: ['us-east-1', 'us-west-2'], service: 'service' };
  const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  const out = signer.sign(req, creds, { sigv4a: true });
  assert.equal(out.headers['x-amz-region-set'], 'us-east-1,us-west-2');
  assert.match(out.headers.authorization, /^AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE\/20150830\/service\/aws4_request, /);
});

// AWS S3 documentation: "Signature Calculations for the Authorization Header: Transferring
// Payload in Multiple Chunks" (and "... Including Trailing Headers").
const docCredentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const docSigner = () => new Signer({ clock: fixedClock(new Date('2013-05-24T00:00:00Z')) });
const docData = Buffer.alloc(65536 + 1024, 'a');
const docRequest = (headers) => ({
  method: 'PUT',
  url: 'https://s3.amazonaws.com/examplebucket/chunkObject.txt',
  headers: { 'x-amz-storage-class': 'REDUCED_REDUNDANCY', ...headers },
  region: 'us-east-1',
});

/** The framing lines (chunk headers and trailer lines) of a framed body. */
function frameLines(body) {
  const lines = [];
  let at = 0;
  for (;;) {
    const end = body.indexOf('\r\n', at);
    if (end < 0) return lines;
    const line = body.subarray(at, end).toString();
    at = end + 2;
    const size = parseInt(line.split(';')[0], 16);
    if (size > 0 && line.includes('chunk-signature')) at += size + 2;
    if (line) lines.push(line);
  }
}

test('a chunked upload frames the documented example', () => {
  const length = framedLength(docData.length);
  assert.equal(length, 66824, "the example's Content-Length");
  const upload = docSigner().startChunked(docRequest({ 'content-length': String(length) }), docCredentials, {
    decodedContentLength: docData.length,
  });
  assert.ok(upload instanceof ChunkedUpload);
  assert.equal(upload.signature, '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9');
  assert.equal(upload.headers['content-encoding'], 'aws-chunked');
  assert.equal(upload.headers['x-amz-content-sha256'], 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
  assert.equal(upload.headers['x-amz-decoded-content-length'], '66560');
  const body = Buffer.concat([upload.frame(docData.subarray(0, 65536)), upload.frame(docData.subarray(65536)), upload.end()]);
  upload.close();
  assert.equal(body.length, length);
  assert.deepEqual(frameLines(body), [
    '10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
    '400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
    '0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
  ]);
  assert.ok(body.subarray(-4).equals(Buffer.from('\r\n\r\n')));
});

test('a chunked upload with a trailer signs the documented example', () => {
  const upload = docSigner().startChunked(docRequest(), docCredentials, {
    decodedContentLength: docData.length,
    mode: 'signed-with-trailer',
    trailer: 'x-amz-checksum-crc32c',
  });
  assert.equal(upload.signature, '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e');
  assert.equal(upload.signChunk(docData.subarray(0, 65536)), 'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2');
  // A precomputed hash is taken as well.
  const rest = createHash('sha256').update(docData.subarray(65536)).digest('hex');
  assert.equal(upload.signChunk({ sha256: rest }), '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7');
  // The documented CRC32C of the data; Node has no CRC32C to compute it with.
  const trailer = { 'x-amz-checksum-crc32c': 'sOO8/Q==' };
  const end = upload.end(trailer).toString();
  assert.equal(
    end,
    '0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n' +
      'x-amz-checksum-crc32c:sOO8/Q==\r\n' +
      'x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n',
  );
  // The chain has ended: another chunk is a clear refusal.
  assert.throws(() => upload.signChunk(docData), (e) => e instanceof SignError && e.code === 'invalid-option');
  upload.close();
  assert.throws(() => upload.signChunk(docData), /closed/);
});

test('an unsigned-trailer upload frames without signatures', () => {
  const upload = docSigner().startChunked(docRequest(), docCredentials, {
    decodedContentLength: 3,
    mode: 'unsigned-with-trailer',
    trailer: 'x-amz-checksum-crc32',
  });
  assert.equal(upload.headers['x-amz-content-sha256'], 'STREAMING-UNSIGNED-PAYLOAD-TRAILER');
  assert.equal(upload.headers['x-amz-trailer'], 'x-amz-checksum-crc32');
  const body = Buffer.concat([upload.frame('abc'), upload.end({ 'x-amz-checksum-crc32': 'NSRBwg==' })]).toString();
  assert.equal(body, '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n');
  assert.equal(body.length, framedLength(3, { mode: 'unsigned-with-trailer', trailer: { 'x-amz-checksum-crc32': 'NSRBwg==' } }));
  upload.close();
});

test('a chunked upload refuses a body and a trailer in signed mode', () => {
  const signer = docSigner();
  assert.throws(
    () => signer.startChunked({ ...docRequest(), body: 'x' }, docCredentials, { decodedContentLength: 1 }),
    (e) => e instanceof SignError && e.code === 'invalid-option',
  );
  assert.throws(
    () => signer.startChunked(docRequest(), docCredentials, { decodedContentLength: 1, trailer: 'x-amz-checksum-crc32' }),
    (e) => e instanceof SignError && e.code === 'invalid-option',
  );
  assert.throws(
    () => signer.startChunked(docRequest(), docCredentials, { decodedContentLength: 1, mode: 'nonsense' }),
    (e) => e instanceof SignError && e.code === 'invalid-option',
  );
});

/** SigV4's signing key, computed here with node:crypto (the test's own oracle). */
function signingKey(secret, date, region, service) {
  let key = `AWS4${secret}`;
  for (const part of [date, region, service, 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return key;
}

test('a POST policy is the document it says, signed with the SigV4 key', () => {
  const signer = new Signer({ clock: fixedClock(new Date('2015-12-29T00:00:00Z')) });
  const creds = { ...docCredentials, sessionToken: 'TOKEN-EXAMPLE' };
  const form = signer.signPostPolicy(
    {
      expiresIn: 3600,
      region: 'us-east-1',
      conditions: [{ bucket: 'sigv4examplebucket' }, ['starts-with', '$key', 'user/user1/'], ['content-length-range', 1, 1048576]],
    },
    creds,
  );
  assert.deepEqual(Object.keys(form.fields), [
    'policy', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-security-token', 'x-amz-signature',
  ]);
  assert.equal(form.fields['x-amz-credential'], 'AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request');
  assert.equal(Buffer.from(form.fields.policy, 'base64').toString(), form.policyDocument);
  const doc = JSON.parse(form.policyDocument);
  assert.equal(doc.expiration, '2015-12-29T01:00:00Z');
  assert.deepEqual(doc.conditions.slice(0, 3), [
    ['eq', '$bucket', 'sigv4examplebucket'],
    ['starts-with', '$key', 'user/user1/'],
    ['content-length-range', 1, 1048576],
  ]);
  assert.ok(doc.conditions.some((c) => c['x-amz-security-token'] === 'TOKEN-EXAMPLE'), 'the policy names the token');
  const expected = createHmac('sha256', signingKey(creds.secretAccessKey, '20151229', 'us-east-1', 's3'))
    .update(form.fields.policy)
    .digest('hex');
  assert.equal(form.fields['x-amz-signature'], expected);
  assert.equal(form.signature, expected);
  assert.throws(
    () => signer.signPostPolicy({ region: 'us-east-1', conditions: [['nope', '$a', 'b']] }, creds),
    (e) => e instanceof SignError && e.code === 'invalid-option',
  );
});

test('event-stream messages equal @smithy/signature-v4 signMessage, chained', async () => {
  let now = Date.parse('2026-11-22T23:59:58Z');
  const signer = new Signer({ clock: () => ({ seconds: BigInt(Math.floor(now / 1000)), nanoseconds: (now % 1000) * 1e6 }) });
  const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  const smithy = new SignatureV4({ credentials: creds, region: 'us-west-2', service: 'transcribe', sha256: Hash.bind(null, 'sha256') });
  let prior = 'e1d8e8c8815e60969f2a34765c9a15945ffc0badbaa4b7e3b163ea19131e949b';
  const messages = signer.eventStream(prior, { region: 'us-west-2', service: 'transcribe' });
  // Three messages and the closing empty frame, across midnight (the key changes date).
  for (const body of [Buffer.from('first audio frame'), Buffer.alloc(4096, 7), Buffer.from('last'), Buffer.alloc(0)]) {
    const ours = messages.signMessage(body, creds);
    assert.equal(ours.date.getTime() % 1000, 0, 'the :date header is whole seconds');
    const theirs = await smithy.signMessage(
      { message: { headers: { ':date': { type: 'timestamp', value: ours.date } }, body }, priorSignature: prior },
      { signingDate: ours.date },
    );
    assert.equal(Buffer.from(ours.signature).toString('hex'), theirs.signature);
    prior = theirs.signature;
    now += 1500;
  }
  messages.close();
  assert.throws(() => messages.signMessage(Buffer.alloc(0), creds), /closed/);
});
