// realsig/credentials: the SDK's default chain (here its container provider, pointed at a
// loopback ECS-style endpoint) cached by the realsig clock, signing uploads that s3s-fs
// verifies: one fetch for many uploads, a refresh when only the REAL time nears expiry, the
// cached credentials kept while the endpoint throttles, and credentials expired by the real
// time refused. (This file runs in its own process: it sets the AWS variables.)
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { Signer, systemClock } from '../src/index.js';
import { CredentialsExpiredError, defaultCredentials } from '../src/credentials.js';
import { startS3Server } from './support.js';

const AKID = 'AKIDS3SEXAMPLE';
const SECRET = 's3sSecretKeyEXAMPLE/0123456789abcdefgh';

test('defaultCredentials are the SDK chain cached by the real time', async (t) => {
  let hits = 0;
  let throttle = false;
  const ecs = createServer((req, res) => {
    hits += 1;
    if (throttle) return res.writeHead(429).end();
    const expiration = new Date(Date.now() + 3600_000).toISOString();
    res.end(JSON.stringify({ AccessKeyId: AKID, SecretAccessKey: SECRET, Token: 'ecs-token', Expiration: expiration }));
  });
  await new Promise((r) => ecs.listen(0, '127.0.0.1', r));
  t.after(() => ecs.close());
  const empty = join(mkdtempSync(join(tmpdir(), 'realsig-creds-')), 'empty');
  writeFileSync(empty, '');
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE',
    'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI']) delete process.env[k];
  Object.assign(process.env, {
    AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${ecs.address().port}/creds`,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: empty,
    AWS_SHARED_CREDENTIALS_FILE: empty,
  });
  let aheadMs = 0n; // how far the real time is ahead of this process's clock
  const system = systemClock();
  const clock = () => {
    const r = system();
    return { ...r, seconds: r.seconds + aheadMs / 1000n };
  };
  const creds = await defaultCredentials({ clock });
  const endpoint = await startS3Server(t, 's3s-fs', AKID, SECRET);
  const signer = new Signer({ clock: systemClock() });
  const put = async (path, body) => {
    const s = signer.sign({ method: 'PUT', url: `${endpoint}${path}`, body, region: 'us-east-1', service: 's3' }, await creds.credentials());
    const res = await fetch(s.url, { method: 'PUT', headers: s.headers, body: body || undefined });
    assert.equal(res.status, 200, `PUT ${path}: ${await res.text()}`);
  };
  await put('/bucket');
  for (let i = 0; i < 50; i++) await put(`/bucket/k${i}`, 'data');
  assert.equal(hits, 1, '51 uploads, one fetch');

  // 56 minutes later by the real time: inside the 5-minute refresh window; the SDK's memo,
  // judged by Date.now(), is passed with forceRefresh.
  aheadMs = 56n * 60_000n;
  await creds.credentials();
  assert.equal(hits, 2, 'refreshed when the real time neared expiry');

  // The endpoint throttles while the cached credentials still work: they are used, and the
  // next calls back off instead of asking again.
  aheadMs = 57n * 60_000n;
  throttle = true;
  for (let i = 0; i < 3; i++) assert.equal((await creds.credentials()).accessKeyId, AKID);
  assert.equal(creds.fetches, 3, 'one refresh while throttled, then backing off');

  // Two hours on, what the endpoint gives has expired by the real time.
  throttle = false;
  aheadMs = 120n * 60_000n;
  await assert.rejects(creds.credentials(), CredentialsExpiredError);
});
