// Time providers for `real-now`. A provider is a function returning a reading
// `{ seconds: bigint, nanoseconds: number, source: string }` or throwing ClockError.
//
// Under libfaketime, Date.now() is faked; process.hrtime is faked too but keeps its rate, so
// it still measures elapsed time. The realtime file, NTP and the kernel's file times give the
// real time; see README.md.
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ClockError } from './errors.js';

const NS_PER_S = 1_000_000_000n;

/** A reading from a count of nanoseconds since the Unix epoch. */
function fromNanos(nanos, source) {
  return { seconds: nanos / NS_PER_S, nanoseconds: Number(nanos % NS_PER_S), source };
}

/** The process clock (Date.now): what libfaketime fakes. Untrusted; millisecond resolution. */
export function systemClock() {
  return () => ({ ...fromNanos(BigInt(Date.now()) * 1_000_000n, 'system'), trusted: false });
}

/** Always `date` (a Date or milliseconds): tests and replays. */
export function fixedClock(date) {
  const ms = BigInt(date instanceof Date ? date.getTime() : date);
  const reading = fromNanos(ms * 1_000_000n, 'fixed');
  return () => reading;
}

/** A clock from your own function returning a Date, milliseconds, or a reading. */
export function userClock(fn, source = 'user') {
  return () => {
    const v = fn();
    if (v instanceof Date) return fromNanos(BigInt(v.getTime()) * 1_000_000n, source);
    if (typeof v === 'number') return fromNanos(BigInt(Math.trunc(v)) * 1_000_000n, source);
    if (v && typeof v.seconds === 'bigint') return { nanoseconds: 0, source, ...v };
    throw new ClockError(`${source}: the clock function returned ${typeof v}, not a Date or milliseconds`);
  };
}

/**
 * Parses a realtime file's text exactly as the host does: `\s*\d+(\.\d+)?\s*`, the fraction
 * truncated to nanoseconds without a float. Returns `{ nanos: bigint, hasFraction }`.
 */
export function parseRealtime(text) {
  const m = /^[\t\n\v\f\r ]*(\d+)(?:\.(\d+))?[\t\n\v\f\r ]*$/.exec(text);
  if (text.trim() === '') throw new ClockError('the file is empty');
  if (!m) throw new ClockError(`expected Unix seconds like 1795341747.123456, found ${JSON.stringify(text.trim().slice(0, 32))}`);
  const fraction = (m[2] ?? '').slice(0, 9).padEnd(9, '0');
  return { nanos: BigInt(m[1]) * NS_PER_S + BigInt(fraction), hasFraction: m[2] !== undefined };
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks for `ms` (the import is synchronous; this happens once, on the first reading). */
function sleepSync(ms) {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/**
 * libfaketimefs's realtime file (path, else $FAKETIME_REALTIME_FILE). Re-read on every call;
 * trusted only once it has been seen to advance with the monotonic clock, like the host's
 * source. `allowStatic: true` accepts a snapshot that never advances.
 */
export function realtimeFile(path = process.env.FAKETIME_REALTIME_FILE, { allowStatic = false } = {}) {
  if (!path) throw new ClockError('realtime file: no path and FAKETIME_REALTIME_FILE is not set');
  const source = `${allowStatic ? 'faketimefs-static' : 'faketimefs'}:${path}`;
  let anchor = null; // { opened, mono, nanos, hasFraction }
  // A sample brackets the read with process.hrtime: a live file's value is computed somewhere
  // between the open and the end of the read.
  const read = () => {
    const opened = process.hrtime.bigint();
    let text;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ClockError(`${source}: cannot read the file: ${e.message}`);
    }
    try {
      return { opened, mono: process.hrtime.bigint(), ...parseRealtime(text) };
    } catch (e) {
      throw new ClockError(`${source}: ${e.message}`);
    }
  };
  // The advance must fit the time between the reads (end of a to start of b, up to start of a
  // to end of b), within the resolution, 5 ms and 1000 ppm: the host's rule
  // (clock/realtime_file.rs). A reader descheduled mid-read widens its bracket instead of
  // calling a live file stale.
  const together = (a, b) => {
    const advance = b.nanos - a.nanos;
    if (advance < 0n || b.mono < a.mono) return false;
    const shortest = b.opened > a.mono ? b.opened - a.mono : 0n;
    const longest = b.mono - a.opened;
    const gap = advance < shortest ? shortest - advance : advance > longest ? advance - longest : 0n;
    const resolution = a.hasFraction && b.hasFraction ? 1_000_000n : NS_PER_S;
    return gap <= resolution + 5_000_000n + longest / 1000n;
  };
  return () => {
    const latest = read();
    if (allowStatic) return fromNanos(latest.nanos, source);
    if (anchor && together(anchor, latest)) return fromNanos(latest.nanos, source);
    // Prove it: a fraction moves within 20 ms, whole seconds within 1.2 s.
    let probe;
    const window = latest.hasFraction ? 20_000_000n : 1_200_000_000n;
    do {
      sleepSync(latest.hasFraction ? 20 : 50);
      probe = read();
    } while (probe.nanos === latest.nanos && probe.mono - latest.mono < window);
    if (probe.nanos !== latest.nanos && together(latest, probe)) {
      anchor = probe;
      return fromNanos(probe.nanos, source);
    }
    throw new ClockError(
      `${source}: stale snapshot: the value did not advance with the monotonic clock; ` +
        'a live libfaketimefs file does (pass { allowStatic: true } to sign with a fixed snapshot)',
    );
  };
}

/** Sources tried in order; the first that gives a reading wins. */
export function chain(...providers) {
  const first = () => {
    const tried = [];
    for (const p of providers) {
      try {
        return p();
      } catch (e) {
        tried.push(e.message);
      }
    }
    throw new ClockError(`no source has a trustworthy time (tried ${tried.join('; ')})`);
  };
  // Members that can re-sync (ntpClock after a suspend) are waited for, so the chain does
  // not pass them over for a later member only because they were mid-sync.
  first.ready = async () => {
    await Promise.all(providers.map((p) => p.ready?.()));
  };
  return first;
}

const ONE_BYTE = new Uint8Array(1);

/**
 * The kernel's CLOCK_REALTIME, read past libfaketime: every reading writes one byte to a private,
 * already-unlinked file and reads back its modification time. The kernel stamps the write with
 * its own clock and libuv reads it with the statx system call, neither of which passes through
 * the libc functions libfaketime replaces (Node has no other clock that does not). Measured here:
 * 2.2 µs a reading, a new nanosecond value each time (Linux 6.18, tmpfs); older kernels stamp
 * with their coarse clock (a few ms). The file lives in `dir` (default /dev/shm, else the OS
 * temp dir): it must be a local filesystem, since a network one stamps with the server's clock.
 * What it cannot see past: a machine clock that is itself wrong (a VM that slept): use NTP.
 */
export function kernelClock({ dir } = {}) {
  const source = 'kernel-mtime';
  const parents = dir ? [dir] : ['/dev/shm', tmpdir()];
  const key = parents.join('\0');
  return () => {
    let fd = stampFiles.get(key);
    if (fd === undefined) {
      fd = openStampFile(parents, source);
      stampFiles.set(key, fd);
    }
    try {
      writeSync(fd, ONE_BYTE, 0, 1, 0);
      return fromNanos(fstatSync(fd, { bigint: true }).mtimeNs, source);
    } catch (e) {
      stampFiles.delete(key); // a fresh file on the next reading
      try {
        closeSync(fd);
      } catch {
        // already unusable
      }
      throw new ClockError(`${source}: ${e.message}`);
    }
  };
}

// One stamp file per directory list for the whole process, however many clocks and signers
// use it (each would otherwise hold a descriptor open for its lifetime).
const stampFiles = new Map();

function openStampFile(parents, source) {
  const reasons = [];
  for (const parent of parents) {
    let d = null;
    try {
      d = mkdtempSync(join(parent, 'realsig-clock-'));
      const path = join(d, 'now');
      const fd = openSync(path, 'wx', 0o600);
      unlinkSync(path); // nothing stays on disk; the descriptor keeps the file
      return fd;
    } catch (e) {
      reasons.push(`${parent}: ${e.code ?? e.message}`);
    } finally {
      if (d !== null) {
        try {
          rmdirSync(d);
        } catch {
          // not empty (the unlink failed): left for the OS's temp cleaning
        }
      }
    }
  }
  throw new ClockError(`${source}: cannot create a private file to stamp (${reasons.join('; ')})`);
}

/**
 * The default: the realtime file when $FAKETIME_REALTIME_FILE is set, then the kernel's clock
 * (kernelClock). Never the process clock, which libfaketime fakes: when neither source can
 * give a reading, signing fails with ClockError (clock-unavailable).
 */
export function defaultClock() {
  return process.env.FAKETIME_REALTIME_FILE ? chain(realtimeFile(), kernelClock()) : kernelClock();
}
