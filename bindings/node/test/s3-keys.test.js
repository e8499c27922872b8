// S3 object keys, whatever the caller typed: every shared key case (tests/data/s3-keys.json)
// is uploaded with Signer.sign and the URL it returns, read back through a presigned URL made
// with nothing but service 's3', and listed under its exact key, on both verifying servers
// (s3s-fs and versitygw on 127.0.0.1).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Signer, systemClock } from '../src/index.js';
import { s3KeyCases, startS3Server } from './support.js';

const credentials = { accessKeyId: 'AKIDS3SEXAMPLE', secretAccessKey: 's3sSecretKeyEXAMPLE/0123456789abcdefgh' };

const unescapeXml = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
  .replace(/&apos;|&#39;/g, "'").replace(/&#34;/g, '"').replace(/&amp;/g, '&');

for (const kind of ['s3s-fs', 'versitygw']) {
  test(`every shared S3 key round-trips through ${kind}`, async (t) => {
    const endpoint = await startS3Server(t, kind, credentials.accessKeyId, credentials.secretAccessKey);
    const signer = new Signer({ clock: systemClock() });
    const send = async (method, url, body) => {
      const s = signer.sign({ method, url, body, region: 'us-east-1', service: 's3' }, credentials);
      const res = await fetch(s.url, { method, headers: s.headers, body: body || undefined });
      return [res.status, await res.text()];
    };
    assert.equal((await send('PUT', `${endpoint}/bucket`))[0], 200);
    const want = [];
    for (const [i, c] of s3KeyCases().entries()) {
      const url = `${endpoint}/bucket/k${String(i).padStart(2, '0')}/${c.typed}`;
      const body = `body of ${c.key}`;
      const [put, msg] = await send('PUT', url, body);
      assert.equal(put, 200, `PUT ${JSON.stringify(c.typed)} (key ${JSON.stringify(c.key)}): ${msg}`);
      const presigned = signer.presign({ url, region: 'us-east-1', service: 's3' }, credentials, { expiresIn: 60 });
      const res = await fetch(presigned);
      assert.equal(res.status, 200, `presigned GET ${JSON.stringify(c.typed)}`);
      assert.equal(await res.text(), body);
      want.push(`k${String(i).padStart(2, '0')}/${c.key}`);
    }
    const [status, listing] = await send('GET', `${endpoint}/bucket?list-type=2`);
    assert.equal(status, 200, listing);
    const got = [...listing.matchAll(/<Key>(.*?)<\/Key>/gs)].map((m) => unescapeXml(m[1]));
    assert.deepEqual(got.sort(), want.sort());
  });
}
