// The shared time cases (tests/data/time-cases): Node re-implements the host's realtime-file
// rules (it reads the file itself), so it must give the host's verdict on every case. Every
// file there needs a runner here, and a case with a field this runner does not know fails.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { parseRealtime } from '../src/clocks.js';

const dir = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', 'tests', 'data', 'time-cases');

test('every time-case file has a runner here', () => {
  assert.deepEqual(readdirSync(dir).sort(), ['realtime-file.json']);
});

/** Our verdict in the cases' form; the kind of a refusal is read from its message. */
function verdict(text) {
  try {
    const { nanos, hasFraction } = parseRealtime(text);
    return { text, nanos: String(nanos), fraction: hasFraction };
  } catch (e) {
    const kinds = [['the file is empty', 'empty'], ['expected Unix seconds', 'malformed'], ['the time is out of range', 'out-of-range']];
    const kind = kinds.find(([prefix]) => e.message.startsWith(prefix));
    if (!kind) throw new Error(`no case kind for the error ${JSON.stringify(e.message)}`);
    return { text, rejected: kind[1] };
  }
}

test('every realtime-file case gets the host\'s verdict', () => {
  const { cases } = JSON.parse(readFileSync(join(dir, 'realtime-file.json'), 'utf8'));
  assert.ok(cases.length >= 30, 'the realtime-file cases went missing');
  for (const c of cases) {
    for (const key of Object.keys(c)) {
      assert.ok(['text', 'nanos', 'fraction', 'rejected'].includes(key), `unknown field ${key} in ${JSON.stringify(c)}`);
    }
    if ('rejected' in c) {
      assert.ok(['empty', 'malformed', 'out-of-range'].includes(c.rejected), `unknown verdict ${c.rejected}`);
    } else {
      assert.ok(typeof c.nanos === 'string' && typeof c.fraction === 'boolean', JSON.stringify(c));
    }
    assert.deepEqual(verdict(c.text), c, `realtime file text ${JSON.stringify(c.text)}`);
  }
});
