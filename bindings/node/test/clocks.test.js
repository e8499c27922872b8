// real-now providers: the realtime file (strict parse, staleness, under a faked clock), NTP
// against a scripted loopback server, and the fail-closed error path.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { ClockError, SignError, Signer, chain, fixedClock, kernelClock, ntpClock, parseRealtime, realtimeFile } from '../src/index.js';
import { measure, ntpTimestamp, parseReply, query } from '../src/ntp.js';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const request = { url: 'https://example.amazonaws.com/', region: 'us-east-1', service: 'service' };

test('realtime text parses strictly, without a float', () => {
  assert.deepEqual(parseRealtime('1795341747.1234567899999999999999'), { nanos: 1795341747123456789n, hasFraction: true });
  assert.deepEqual(parseRealtime('1795341747\n'), { nanos: 1795341747000000000n, hasFraction: false });
  for (const bad of ['abc', '1795341747.', '.5', '-1', '1e9', '0x10']) {
    assert.throws(() => parseRealtime(bad), /expected Unix seconds/, bad);
  }
  assert.throws(() => parseRealtime(' \n'), /empty/);
});

test('a stale file, garbage or a missing file fail closed; a snapshot only when allowed', (t) => {
  // (A live file is proved in a child process below: a synchronous probe on this thread
  // could not see a writer on this thread's event loop tick.)
  const dir = mkdtempSync(join(tmpdir(), 'realsig-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const stale = join(dir, 'stale');
  writeFileSync(stale, '1795341747.5');
  const staleSigner = new Signer({ clock: realtimeFile(stale) });
  assert.throws(() => staleSigner.sign(request, credentials), (e) => e instanceof ClockError && /stale snapshot/.test(e.message));
  const snapshot = new Signer({ clock: realtimeFile(stale, { allowStatic: true }) });
  assert.equal(snapshot.sign(request, credentials).signingTime.getTime(), 1795341747000);
  writeFileSync(join(dir, 'garbage'), 'noon');
  assert.throws(() => new Signer({ clock: realtimeFile(join(dir, 'garbage')) }).sign(request, credentials), /expected Unix seconds/);
  assert.throws(
    () => new Signer({ clock: realtimeFile(join(dir, 'missing')) }).sign(request, credentials),
    (e) => e.code === 'clock-unavailable' && /cannot read the file/.test(e.message),
  );
});

const libfaketime = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
].find(existsSync);

// A libfaketimefs-style realtime file that, like the FUSE file, computes its value when it is
// read: a FIFO per read. The writer waits for a reader to open the FIFO, renames a fresh one
// over the path for the next reader, then takes the time, writes it and closes. (A shell loop
// rewriting a plain file every few ms can be staler than the reader's tolerance on a loaded
// machine.) Run as its own process: `node -e "$WRITER" PATH`.
const realtimeWriter = `
  const fs = require('node:fs');
  const { execFileSync } = require('node:child_process');
  const path = process.argv[1];
  const base = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  execFileSync('mkfifo', [path]);
  for (;;) {
    execFileSync('mkfifo', [path + '.next']);
    const fd = fs.openSync(path, 'w'); // blocks until a reader opens it
    fs.renameSync(path + '.next', path);
    const now = base + process.hrtime.bigint();
    try {
      fs.writeSync(fd, (now / 1_000_000_000n) + '.' + String(now % 1_000_000_000n).padStart(9, '0'));
    } catch {} // the reader already left
    fs.closeSync(fd);
  }`;

test('under libfaketime -3d, the realtime file gives the real time', (t) => {
  assert.ok(libfaketime, 'libfaketime is not installed (apt-get install libfaketime; .ci/run does)');
  const dir = mkdtempSync(join(tmpdir(), 'realsig-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'realtime');
  // The writer runs outside the child and outside faketime, like libfaketimefs's FUSE daemon.
  const script = `
    import { Signer, realtimeFile } from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)};
    const s = new Signer({ clock: realtimeFile(${JSON.stringify(file)}) });
    const out = s.sign(${JSON.stringify(request)}, ${JSON.stringify(credentials)});
    console.log(JSON.stringify({ signed: out.signingTime.getTime(), fake: Date.now() }));`;
  const writerProc = spawnSync(
    'sh',
    ['-c', `node -e "$WRITER" ${file} & W=$!; while [ ! -p ${file} ]; do sleep 0.01; done; LD_PRELOAD=${libfaketime} FAKETIME=-3d node --input-type=module -e "$SCRIPT"; S=$?; kill $W; exit $S`],
    { env: { ...process.env, SCRIPT: script, WRITER: realtimeWriter }, encoding: 'utf8' },
  );
  assert.equal(writerProc.status, 0, writerProc.stderr);
  const { signed, fake } = JSON.parse(writerProc.stdout.trim().split('\n').pop());
  const now = Date.now();
  assert.ok(Math.abs(signed - now) < 2000, `signed at ${new Date(signed).toISOString()}, real ${new Date(now).toISOString()}`);
  const threeDays = 3 * 86400 * 1000;
  assert.ok(Math.abs(now - fake - threeDays) < 5000, `the child's clock was not faked: ${new Date(fake).toISOString()}`);
});

test('errors carry the WIT case as code', () => {
  const s = new Signer({ clock: fixedClock(Date.UTC(2015, 7, 30)) });
  assert.throws(() => s.sign({ ...request, url: 'ftp://x/' }, credentials), (e) => e instanceof SignError && e.code === 'invalid-url');
  assert.throws(() => s.sign({ ...request, method: 'G T' }, credentials), (e) => e.code === 'invalid-method');
  assert.throws(() => s.sign(request, { accessKeyId: 'a' }), (e) => e.code === 'invalid-credentials');
  assert.throws(() => s.sign(request, { ...credentials, secretAccessKey: '' }), (e) => !/wJalr/.test(e.message));
  const down = new Signer({
    clock: () => {
      throw new ClockError('ntp: no reply');
    },
  });
  assert.throws(() => down.sign(request, credentials), (e) => e.code === 'clock-unavailable' && /no reply/.test(e.message));
});

/** A UDP responder on 127.0.0.1 answering each request with `reply(request)` (or silence). */
async function scripted(reply) {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    const out = reply(msg);
    if (out) socket.send(out, rinfo.port, rinfo.address);
  });
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { server: `127.0.0.1:${socket.address().port}`, close: () => socket.close() };
}

function goodReply(req, unixMs = Date.now()) {
  const p = Buffer.alloc(48);
  p[0] = 0b00100100;
  p[1] = 2;
  p.writeUInt32BE(0x10, 4);
  p.writeUInt32BE(0x10, 8);
  req.copy(p, 24, 40, 48);
  const ts = ntpTimestamp(BigInt(unixMs) * 1_000_000n);
  p.writeBigUInt64BE(ts, 32);
  p.writeBigUInt64BE(ts, 40);
  return p;
}

test('NTP: a good reply is the real time; each bad one is rejected for its reason', async () => {
  const cases = [
    ['good', (q) => goodReply(q), null],
    ['rate', (q) => Object.assign(goodReply(q), { 1: 0 }).fill(0x52, 12, 13).fill(0x41, 13, 14).fill(0x54, 14, 15).fill(0x45, 15, 16), 'kiss-of-death'],
    ['origin', (q) => goodReply(q).fill(7, 24, 32), 'origin-mismatch'],
    ['mode 3', (q) => Object.assign(goodReply(q), { 0: 0b00100011 }), 'wrong-mode'],
    ['zero transmit', (q) => goodReply(q).fill(0, 40, 48), 'zero-transmit'],
    ['stratum 16', (q) => Object.assign(goodReply(q), { 1: 16 }), 'stratum'],
    ['truncated', (q) => goodReply(q).subarray(0, 20), 'truncated'],
    ['silence', () => null, 'timeout'],
  ];
  for (const [what, reply, code] of cases) {
    const { server, close } = await scripted(reply);
    try {
      if (code === null) {
        const m = await query(server, { timeoutMs: 500 });
        assert.ok(Math.abs(Number(m.realNanos / 1_000_000n) - Date.now()) < 100, what);
      } else {
        await assert.rejects(query(server, { timeoutMs: 300 }), (e) => e.code === code, what);
      }
    } finally {
      close();
    }
  }
});

test('NTP: the clock follows a server two days ahead and the 2036 era boundary', async () => {
  const ahead = await scripted((q) => goodReply(q, Date.now() + 2 * 86400_000));
  const clock = await ntpClock([ahead.server], { timeoutMs: 500 });
  try {
    const signed = new Signer({ clock }).sign(request, credentials).signingTime.getTime();
    assert.ok(Math.abs(signed - (Date.now() + 2 * 86400_000)) < 1500, new Date(signed).toISOString());
  } finally {
    clock.close();
    ahead.close();
  }
  // Client at era 0's last seconds, server 10 s later in era 1.
  const end = (1n << 32n) - 2_208_988_800n;
  const t1 = ntpTimestamp((end - 6n) * 1_000_000_000n);
  const t3 = ntpTimestamp((end + 4n) * 1_000_000_000n);
  const reply = Buffer.alloc(48);
  reply[0] = 0b00100100;
  reply[1] = 2;
  reply.writeBigUInt64BE(5n, 24);
  reply.writeBigUInt64BE(t3, 32);
  reply.writeBigUInt64BE(t3, 40);
  assert.equal(measure(parseReply(reply, 5n), t1, t1).offset, 10_000_000_000n);
});

// An 8-hour suspend with injected clocks: hrtime (CLOCK_MONOTONIC) stands still while the
// machine sleeps; the wall clock and the real time move on. The estimate was extrapolated on
// hrtime, so before this check a read after the resume came back 8 hours behind.
test('NTP: after a suspend the estimate is re-synced, never extrapolated across the sleep', async () => {
  const HOUR = 3_600_000_000_000n;
  let slept = 0n; // added to the wall clock and the server's time, not to hrtime
  const server = await scripted((q) => goodReply(q, Date.now() + Number(slept / 1_000_000n)));
  const clock = await ntpClock([server.server], {
    timeoutMs: 500,
    monoNow: () => process.hrtime.bigint(),
    wallNow: () => BigInt(Date.now()) * 1_000_000n + slept,
  });
  const ms = (r) => Number(r.seconds) * 1000 + r.nanoseconds / 1e6;
  try {
    assert.ok(Math.abs(ms(clock()) - Date.now()) < 100);
    slept = 8n * HOUR;
    assert.throws(
      () => clock(),
      (e) => {
        // Date.now() has millisecond steps: the measured jump is 8 h give or take a few ms.
        const moved = Number(/moved (-?\d+) ms against the monotonic clock/.exec(e.message)?.[1]);
        return e instanceof ClockError && Math.abs(moved - 8 * 3_600_000) < 1000 && /suspended/.test(e.message);
      },
    );
    await clock.ready();
    const after = ms(clock());
    assert.ok(Math.abs(after - (Date.now() + 8 * 3_600_000)) < 100, new Date(after).toISOString());
    // And a chain waits for it too.
    slept = 16n * HOUR;
    const both = chain(clock, fixedClock(0));
    await both.ready();
    assert.ok(Math.abs(ms(both()) - (Date.now() + 16 * 3_600_000)) < 100);
  } finally {
    clock.close();
    server.close();
  }
});

// A FIFO nothing writes to blocked the event loop for ever (readFileSync). Reads now run on
// a worker waited for with a deadline: the provider throws within it, a later read throws at
// once while the first is stuck, a chain moves on, and a device is refused.
test('a realtime FIFO nothing writes to never hangs the signer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'realsig-'));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  try {
    const clock = realtimeFile(fifo, { timeoutMs: 300 });
    let started = Date.now();
    assert.throws(() => clock(), (e) => e instanceof ClockError && /no answer from the file within 300 ms/.test(e.message));
    assert.ok(Date.now() - started < 2000);
    started = Date.now();
    assert.throws(() => clock(), (e) => /has not returned for \d+ ms/.test(e.message));
    assert.ok(Date.now() - started < 300, 'it did not wait out its own 300 ms deadline behind the stuck read');
    const both = chain(realtimeFile(fifo, { timeoutMs: 100 }), kernelClock());
    assert.ok(Math.abs(Number(both().seconds) * 1000 - Date.now()) < 2000);
    assert.throws(() => realtimeFile('/dev/zero')(), (e) => /it is a character device, not a regular file/.test(e.message));
  } finally {
    // Release the blocked opens: a writer that closes at once gives them end of file.
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  }
});
