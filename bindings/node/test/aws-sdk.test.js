// realsig/aws-sdk and the default clock, with the real AWS SDK for JavaScript v3
// (@aws-sdk/client-s3, lib-storage, s3-request-presigner) in a child whose clock libfaketime
// sets 3 days back, against s3s-fs on 127.0.0.1 (which refuses a request 15 minutes off).
// The same requests without the adapter must be refused, so a pass cannot come from a clock
// nobody faked.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { startS3Server } from './support.js';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const AKID = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const libfaketime = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
].find(existsSync);

const startS3sFs = (t) => startS3Server(t, 's3s-fs', AKID, SECRET);

// The child: every step's outcome (or error name) in one JSON line.
const CHILD = `
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl as sdkGetSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
import { awsSdkConfig, getSignedUrl } from 'realsig/aws-sdk';
const [endpoint, mode] = process.argv.slice(1);
const Bucket = 'sdk-' + mode;
const extra = mode === 'realsig' ? awsSdkConfig() : {};
const s3 = new S3Client({ ...extra, region: 'us-east-1', endpoint, forcePathStyle: true, maxAttempts: 1,
  credentials: { accessKeyId: '${AKID}', secretAccessKey: '${SECRET}' } });
const out = { fake: Date.now() };
const step = async (name, fn) => {
  try { out[name] = await fn(); } catch (e) { out[name] = { error: e.name ?? e.Code ?? String(e) }; }
};
await step('create', async () => (await s3.send(new CreateBucketCommand({ Bucket }))).$metadata.httpStatusCode);
await step('put', async () => (await s3.send(new PutObjectCommand({ Bucket, Key: 'k.txt', Body: 'from 3 days ago' }))).$metadata.httpStatusCode);
await step('get', async () => (await s3.send(new GetObjectCommand({ Bucket, Key: 'k.txt' }))).Body.transformToString());
// 12 MiB from a stream of unknown length, in 5 MiB parts: lib-storage's multipart path.
await step('multipart', async () => {
  const chunks = Array.from({ length: 12 }, (_, i) => Buffer.alloc(1024 * 1024, i));
  const upload = new Upload({ client: s3, params: { Bucket, Key: 'big.bin', Body: Readable.from(chunks) }, partSize: 5 * 1024 * 1024 });
  await upload.done();
  const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'big.bin' }));
  return { etag: head.ETag, length: head.ContentLength };
});
const fetchUrl = async (url) => { const r = await fetch(url); return r.ok ? await r.text() : { error: 'HTTP ' + r.status }; };
const cmd = new GetObjectCommand({ Bucket, Key: 'k.txt' });
if (mode === 'realsig') await step('presigned', async () => fetchUrl(await getSignedUrl(s3, cmd, { expiresIn: 300 })));
await step('sdkPresigned', async () => fetchUrl(await sdkGetSignedUrl(s3, cmd, { expiresIn: 300 })));
console.log(JSON.stringify(out));
`;

function runChild(endpoint, mode, env = {}) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, endpoint, mode], {
    cwd: pkg,
    encoding: 'utf8',
    timeout: 120_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, AWS_EC2_METADATA_DISABLED: 'true', LD_PRELOAD: libfaketime, FAKETIME: '-3d', ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

test('@aws-sdk/client-s3 under a clock 3 days behind: refused without the adapter, every call works with it', async (t) => {
  assert.ok(libfaketime, 'libfaketime is not installed (scripts/setup.sh installs it)');
  const endpoint = await startS3sFs(t);

  const plain = runChild(endpoint, 'plain');
  assert.ok(Math.abs(Date.now() - plain.fake - 3 * 86_400_000) < 60_000, `the child's clock was not faked: ${plain.fake}`);
  // The first request is refused. The SDK then learns the offset from the refusal (its reactive
  // skew correction, aws-sdk-js-v3#459), so later requests pass; presigned URLs never do.
  assert.equal(plain.create?.error, 'RequestTimeTooSkewed', JSON.stringify(plain));
  assert.equal(plain.sdkPresigned?.error, 'HTTP 403', JSON.stringify(plain));

  const got = runChild(endpoint, 'realsig');
  assert.equal(got.create, 200, 'the first attempt (maxAttempts: 1) is signed with the real time');
  assert.equal(got.put, 200);
  assert.equal(got.get, 'from 3 days ago');
  assert.equal(got.multipart.length, 12 * 1024 * 1024, JSON.stringify(got.multipart));
  assert.match(got.multipart.etag, /-3"$/, 'a 3-part multipart upload');
  assert.equal(got.presigned, 'from 3 days ago');
  // The SDK's own getSignedUrl dates its URL new Date(): 3 days old, refused.
  assert.equal(got.sdkPresigned.error, 'HTTP 403');
});

test('the default clock under libfaketime is the real time, never the faked one', () => {
  assert.ok(libfaketime, 'libfaketime is not installed (scripts/setup.sh installs it)');
  const script = `
    import { Signer, defaultClock } from 'realsig';
    const r = defaultClock()();
    const signed = new Signer().sign({ method: 'GET', url: 'https://example.amazonaws.com/', region: 'us-east-1', service: 'service' },
      { accessKeyId: 'AK', secretAccessKey: 'SK' });
    console.log(JSON.stringify({ fake: Date.now(), clock: Number(r.seconds) * 1000, source: r.source, date: signed.headers['x-amz-date'] }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: pkg,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, LD_PRELOAD: libfaketime, FAKETIME: '-3d' },
  });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  assert.ok(Math.abs(Date.now() - got.fake - 3 * 86_400_000) < 60_000, `the child's clock was not faked: ${r.stdout}`);
  assert.ok(Math.abs(Date.now() - got.clock) < 60_000, `the default clock is not the real time: ${r.stdout}`);
  assert.equal(got.source, 'kernel-mtime');
  const expected = new Date(got.clock).toISOString().slice(0, 10).replaceAll('-', '');
  assert.ok(got.date.startsWith(expected), `signed with ${got.date}, not the real date ${expected}`);
});

test('the kernel clock (the default\'s source) fails closed when it has nowhere to stamp, rather than use Date.now()', async () => {
  const { Signer, kernelClock, ClockError } = await import('realsig');
  const signer = new Signer({ clock: kernelClock({ dir: '/nonexistent/realsig' }) });
  assert.throws(
    () => signer.sign({ method: 'GET', url: 'https://example.amazonaws.com/', region: 'us-east-1', service: 's' }, { accessKeyId: 'AK', secretAccessKey: 'SK' }),
    (e) => e instanceof ClockError && e.code === 'clock-unavailable' && /cannot create a private file/.test(e.message),
  );
});

test('awsSdkConfig({ clock }) is the time of every signature and presigned URL, not the SDK\'s', async () => {
  const { S3Client, GetObjectCommand, ListBucketsCommand } = await import('@aws-sdk/client-s3');
  const { awsSdkConfig, getSignedUrl } = await import('realsig/aws-sdk');
  const { fixedClock } = await import('realsig');
  const when = new Date('2015-08-30T12:36:00Z'); // a time neither clock of this machine shows
  const s3 = new S3Client({
    ...awsSdkConfig({ clock: fixedClock(when) }),
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
  });
  // After signing, before sending: the request as it would go out.
  let signed = null;
  s3.middlewareStack.add(
    () => async (args) => {
      signed = args.request.headers;
      throw new Error('captured');
    },
    { step: 'deserialize', name: 'capture' },
  );
  await assert.rejects(s3.send(new ListBucketsCommand({})), /captured/);
  assert.equal(signed['x-amz-date'], '20150830T123600Z');
  assert.match(signed.authorization, /Credential=AKIDEXAMPLE\/20150830\/us-east-1\/s3\/aws4_request/);
  const url = new URL(await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'b', Key: 'k' }), { expiresIn: 60 }));
  assert.equal(url.searchParams.get('X-Amz-Date'), '20150830T123600Z');
  assert.equal(url.searchParams.get('X-Amz-Expires'), '60');
});

test('one stamp file serves every kernel clock', async () => {
  const { kernelClock } = await import('realsig');
  const before = readdirSync('/proc/self/fd').length;
  const readings = Array.from({ length: 50 }, () => kernelClock()).map((clock) => clock());
  assert.ok(readdirSync('/proc/self/fd').length - before <= 1, 'each clock opened a file of its own');
  for (const r of readings) assert.ok(Math.abs(Number(r.seconds) * 1000 - Date.now()) < 60_000, `${r.seconds}`);
});
