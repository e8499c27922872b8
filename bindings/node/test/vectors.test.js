// Every case of the official v4 suite, header and query form, through the package:
// canonical request, string to sign and signature equal the suite's files.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { Signer, fixedClock } from '../src/index.js';
import { readTrimmed, suiteCase, vectorsDir } from './support.js';

const suite = join(vectorsDir(), 'aws-signing-test-suite', 'v4');
const cases = readdirSync(suite, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

test('the v4 suite has cases', () => assert.ok(cases.length >= 30, `only ${cases.length}`));

for (const name of cases) {
  for (const form of ['header', 'query']) {
    test(`v4/${name}/${form}`, () => {
      const dir = join(suite, name);
      const { ctx, req, creds } = suiteCase(dir);
      const signer = new Signer({ clock: fixedClock(new Date(ctx.timestamp)) });
      const out =
        form === 'header'
          ? signer.sign(req, creds, { debug: true })
          : signer.presign(req, creds, { expiresIn: ctx.expiration_in_seconds, debug: true });
      assert.equal(out.canonicalRequest, readTrimmed(join(dir, `${form}-canonical-request.txt`)));
      assert.equal(out.stringToSign, readTrimmed(join(dir, `${form}-string-to-sign.txt`)));
      const signature = readTrimmed(join(dir, `${form}-signature.txt`));
      if (form === 'header') assert.equal(out.signature, signature);
      else assert.ok(out.url.endsWith(`X-Amz-Signature=${signature}`), out.url);
    });
  }
}
