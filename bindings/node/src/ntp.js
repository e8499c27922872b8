// SNTP for `real-now`, with the same checks as the host (host/src/clock/ntp/packet.rs):
// random origin nonce, mode 4, version 1..4, origin match, Kiss-o'-Death (DENY/RSTR retire
// the server, RATE backs off), LI 3, stratum >= 16, zero transmit, root distance <= 1.5 s,
// era-safe wrapping differences. The estimate is anchored to process.hrtime (which keeps its
// rate under libfaketime) and refreshed in the background; signing never waits on the network.
//
// Suspend: process.hrtime is CLOCK_MONOTONIC, which stops while the machine sleeps, and Node
// cannot read CLOCK_BOOTTIME. So every read also compares how far the wall clock (Date.now(),
// which the kernel restores after a resume; faked by libfaketime but at the true rate) moved
// since the sample with how far hrtime moved. When they disagree by more than
// `suspendToleranceMs`, the machine slept (or its clock was stepped): the estimate is dropped,
// a re-sync starts, and the read fails closed, saying so. `await clock.ready()` waits for that
// re-sync; the realsig/aws-sdk adapter awaits it before every signature.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';

import { ClockError } from './errors.js';

const NS = 1_000_000_000n;
const UNIX_OFFSET = 2_208_988_800n;
const MAX_ROOT_DISTANCE_NS = 1_500_000_000n;
const MASK64 = (1n << 64n) - 1n;

/** Why a reply is not a usable time; `code` names the check. */
export class NtpRejection extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'NtpRejection';
    this.code = code;
  }
}

/** 32.32 NTP timestamp (era dropped) of nanoseconds since 1970. */
export function ntpTimestamp(unixNanos) {
  const secs = (unixNanos / NS + UNIX_OFFSET) & 0xffffffffn;
  const frac = ((unixNanos % NS) << 32n) / NS;
  return (secs << 32n) | frac;
}

/** `a - b` in nanoseconds, era-safe (wrapping 64-bit difference). */
function nanosBetween(a, b) {
  const diff = BigInt.asIntN(64, (a - b) & MASK64);
  return (diff * NS) >> 32n;
}

/** A client request (LI 0, version 4, mode 3) carrying `nonce` as its transmit timestamp. */
export function request(nonce) {
  const p = Buffer.alloc(48);
  p[0] = 0x23;
  p.writeBigUInt64BE(nonce, 40);
  return p;
}

/** Checks a reply to the request that carried `nonce`; returns its fields or throws NtpRejection. */
export function parseReply(buf, nonce) {
  if (buf.length < 48) throw new NtpRejection('truncated', `truncated reply (${buf.length} bytes, need 48)`);
  const leap = buf[0] >> 6;
  const version = (buf[0] >> 3) & 7;
  const mode = buf[0] & 7;
  const stratum = buf[1];
  if (mode !== 4) throw new NtpRejection('wrong-mode', `reply has mode ${mode}, not 4 (server)`);
  if (version < 1 || version > 4) throw new NtpRejection('bad-version', `reply has NTP version ${version}`);
  if (buf.readBigUInt64BE(24) !== nonce) {
    throw new NtpRejection('origin-mismatch', "reply's origin timestamp is not the one we sent");
  }
  if (stratum === 0) {
    const code = buf.subarray(12, 16);
    if ([...code].every((b) => b > 0x20 && b < 0x7f)) {
      throw new NtpRejection('kiss-of-death', `server sent Kiss-o'-Death ${code.toString('ascii')}`);
    }
    throw new NtpRejection('unsynchronised', 'server is unsynchronised (leap indicator 3)');
  }
  if (leap === 3) throw new NtpRejection('unsynchronised', 'server is unsynchronised (leap indicator 3)');
  if (stratum > 15) throw new NtpRejection('stratum', `server stratum ${stratum} is unsynchronised`);
  const transmit = buf.readBigUInt64BE(40);
  if (transmit === 0n) throw new NtpRejection('zero-transmit', 'reply has a zero transmit timestamp');
  const short = (v) => (BigInt(v) * NS) >> 16n;
  const rootDistance = short(buf.readUInt32BE(4)) / 2n + short(buf.readUInt32BE(8));
  if (rootDistance > MAX_ROOT_DISTANCE_NS) {
    throw new NtpRejection('root-distance', `server's root distance ${rootDistance / 1_000_000n} ms exceeds 1500 ms`);
  }
  return { stratum, rootDistance, receive: buf.readBigUInt64BE(32), transmit };
}

/** Offset (server - client) and delay of one exchange, in nanoseconds. */
export function measure(reply, t1, t4) {
  const offset = (nanosBetween(reply.receive, t1) + nanosBetween(reply.transmit, t4)) / 2n;
  const delay = nanosBetween(t4, t1) - nanosBetween(reply.transmit, reply.receive);
  return { offset, delay: delay < 0n ? 0n : delay, rootDistance: reply.rootDistance };
}

function splitHostPort(server) {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(server) ?? /^([^:]+)(?::(\d+))?$/.exec(server);
  if (!m) return { host: server, port: 123 };
  return { host: m[1], port: m[2] ? Number(m[2]) : 123 };
}

const hrNow = () => process.hrtime.bigint();
const dateNow = () => BigInt(Date.now()) * 1_000_000n;

/**
 * One exchange with `server` (`host[:port]`); resolves to `{ realNanos, mono, wall,
 * uncertainty, delay }`: the real time, hrtime and the wall clock when the reply arrived.
 * `monoNow`/`wallNow` replace process.hrtime and Date.now (nanoseconds, bigint) in tests.
 */
export function query(server, { timeoutMs = 1000, monoNow = hrNow, wallNow = dateNow } = {}) {
  const { host, port } = splitHostPort(server);
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const nonce = randomBytes(8).readBigUInt64BE(0);
    const timer = setTimeout(() => finish(new NtpRejection('timeout', `no reply within ${timeoutMs} ms`)), timeoutMs);
    let hr1;
    let t1;
    const finish = (err, value) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(value);
    };
    socket.on('error', (e) => finish(e));
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== port) return; // not from the server we asked
      const hr4 = monoNow();
      const t4 = t1 + (hr4 - hr1);
      try {
        const reply = parseReply(msg, nonce);
        const s = measure(reply, ntpTimestamp(t1), ntpTimestamp(t4));
        finish(null, { realNanos: t4 + s.offset, mono: hr4, wall: t4, uncertainty: s.delay / 2n + s.rootDistance, delay: s.delay });
      } catch (e) {
        finish(e);
      }
    });
    socket.connect(port, host, () => {
      // Only the pair T1/T4 matters for the offset: a faked Date.now() cancels out.
      hr1 = monoNow();
      t1 = wallNow();
      socket.send(request(nonce));
    });
  });
}

/**
 * An NTP clock: syncs once with every server (the answer with the smallest delay wins),
 * then extrapolates on process.hrtime and re-syncs every `pollMs` in the background. A read
 * after a suspend fails closed and starts a re-sync (see the top of this file);
 * `await clock.ready()` resolves once the clock has a usable estimate again.
 * Returns a provider with `.ready()` and `.close()`.
 */
export async function ntpClock(
  servers,
  { timeoutMs = 1000, pollMs = 64_000, maxAgeMs = 1_024_000, suspendToleranceMs = 2000, monoNow = hrNow, wallNow = dateNow } = {},
) {
  const list = Array.isArray(servers) ? servers : [servers];
  const source = `ntp:${list.join('+')}`;
  const retired = new Set();
  const tolerance = BigInt(suspendToleranceMs) * 1_000_000n;
  let estimate = null;
  let lastError = 'no sync yet';
  let inflight = null;
  const sync = async () => {
    const asked = list.filter((s) => !retired.has(s));
    const results = await Promise.allSettled(asked.map((s) => query(s, { timeoutMs, monoNow, wallNow })));
    const good = [];
    const errors = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') good.push(r.value);
      else {
        if (r.reason?.code === 'kiss-of-death' && /DENY|RSTR/.test(r.reason.message)) retired.add(asked[i]);
        errors.push(`${asked[i]}: ${r.reason?.message ?? r.reason}`);
      }
    });
    if (good.length) {
      estimate = good.reduce((a, b) => (b.delay < a.delay ? b : a));
    } else {
      lastError = errors.join('; ');
    }
  };
  /** One sync at a time: callers during a sync share it. */
  const resync = () => {
    inflight ??= sync().finally(() => {
      inflight = null;
    });
    return inflight;
  };
  /** Why the estimate cannot be used now, or null. */
  const unusable = () => {
    if (!estimate) return lastError;
    const age = monoNow() - estimate.mono;
    const jump = wallNow() - estimate.wall - age;
    if (jump > tolerance || jump < -tolerance) {
      estimate = null;
      lastError =
        `the wall clock moved ${jump / 1_000_000n} ms against the monotonic clock since the last sample ` +
        '(the machine was suspended, or its clock stepped); re-syncing (await clock.ready())';
      return lastError;
    }
    if (age > BigInt(maxAgeMs) * 1_000_000n) return `the last good sample is ${age / NS} s old (${lastError})`;
    return null;
  };
  await resync();
  const timer = setInterval(() => {
    resync().catch(() => {});
  }, pollMs);
  timer.unref();
  const provider = () => {
    const why = unusable();
    if (why !== null) {
      resync().catch(() => {});
      throw new ClockError(`${source}: ${why}`);
    }
    const age = monoNow() - estimate.mono;
    const nanos = estimate.realNanos + age;
    return { seconds: nanos / NS, nanoseconds: Number(nanos % NS), source, uncertainty: estimate.uncertainty + (age * 15n) / 1_000_000n };
  };
  provider.ready = async () => {
    if (unusable() !== null) await resync();
  };
  provider.close = () => clearInterval(timer);
  return provider;
}
