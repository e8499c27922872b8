// The shared time cases (tests/data/time-cases): Node re-implements the host's realtime-file
// rules (it reads the file itself), so it must give the host's verdict on every case. Every
// file there needs a runner here, and a case with a field this runner does not know fails.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chain, parseRealtime } from '../src/clocks.js';
import { ClockError } from '../src/errors.js';
import { NtpRejection, parseReply } from '../src/ntp.js';

const dir = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', 'tests', 'data', 'time-cases');

test('every time-case file has a runner here', () => {
  assert.deepEqual(readdirSync(dir).sort(), ['chain.json', 'ntp-reply.json', 'realtime-file.json']);
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

const NTP_FIELDS = ['name', 'reply', 'verdict', 'stratum', 'root_distance_ns', 'kiss'];
const NTP_VERDICTS = ['accepted', 'truncated', 'wrong-mode', 'bad-version', 'origin-mismatch', 'kiss-of-death',
  'unsynchronised', 'stratum', 'zero-transmit', 'root-distance'];

/** Our verdict on one reply in the cases' form (rejection codes are named as the cases name them). */
function ntpVerdict(name, reply, nonce) {
  try {
    const r = parseReply(Buffer.from(reply, 'hex'), nonce);
    return { name, reply, verdict: 'accepted', stratum: r.stratum, root_distance_ns: String(r.rootDistance) };
  } catch (e) {
    if (!(e instanceof NtpRejection)) throw e;
    if (e.code !== 'kiss-of-death') return { name, reply, verdict: e.code };
    return { name, reply, verdict: e.code, kiss: e.message.replace("server sent Kiss-o'-Death ", '') };
  }
}

test('every NTP reply case gets the host\'s verdict', () => {
  const { nonce, cases } = JSON.parse(readFileSync(join(dir, 'ntp-reply.json'), 'utf8'));
  assert.ok(cases.length >= 30, 'the NTP reply cases went missing');
  for (const c of cases) {
    for (const key of Object.keys(c)) assert.ok(NTP_FIELDS.includes(key), `unknown field ${key} in ${JSON.stringify(c)}`);
    assert.ok(NTP_VERDICTS.includes(c.verdict), `unknown verdict ${c.verdict}`);
    assert.deepEqual(ntpVerdict(c.name, c.reply, BigInt(`0x${nonce}`)), c, `NTP reply case ${c.name}`);
  }
});

test('every chain case gets the host\'s verdict', () => {
  const { cases } = JSON.parse(readFileSync(join(dir, 'chain.json'), 'utf8'));
  assert.ok(cases.length >= 8, 'the chain cases went missing');
  for (const c of cases) {
    for (const key of Object.keys(c)) {
      assert.ok(['name', 'members', 'time', 'source', 'error', 'read'].includes(key), `unknown field ${key} in ${JSON.stringify(c)}`);
    }
    let read = 0;
    const members = c.members.map((m) => {
      for (const key of Object.keys(m)) assert.ok(['source', 'reads', 'fails'].includes(key), `unknown member field ${key}`);
      assert.ok(('reads' in m) !== ('fails' in m), `a member either reads or fails: ${JSON.stringify(m)}`);
      return () => {
        read += 1;
        if ('fails' in m) throw new ClockError(`${m.source}: ${m.fails}`);
        const ns = BigInt(m.reads);
        return { seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n), source: m.source };
      };
    });
    const got = { name: c.name, members: c.members };
    try {
      const r = chain(...members)();
      got.time = String(r.seconds * 1_000_000_000n + BigInt(r.nanoseconds));
      got.source = r.source;
    } catch (e) {
      if (!(e instanceof ClockError)) throw e;
      got.error = e.message;
    }
    got.read = read;
    assert.deepEqual(got, c, `chain case ${c.name}`);
  }
});
