// Time providers for `real-now`. A provider is a function returning a reading
// `{ seconds: bigint, nanoseconds: number, source: string }` or throwing ClockError.
//
// Under libfaketime, Date.now() is faked; process.hrtime is faked too but keeps its rate, so
// it still measures elapsed time. The realtime file, NTP and the kernel's file times give the
// real time; see README.md.
import { closeSync, fstatSync, mkdtempSync, openSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

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

/** The latest time a realtime file may name, as the host: 2262-04-11T23:47:16.854775807Z (i64 nanoseconds). */
const MAX_FILE_NANOS = 2n ** 63n - 1n;

/**
 * Parses a realtime file's text exactly as the host does: `\s*\d+(\.\d+)?\s*` (`\s`: space,
 * tab, CR, LF, form feed), the fraction truncated to nanoseconds without a float, nothing past
 * MAX_FILE_NANOS. Returns `{ nanos: bigint, hasFraction }`. The shared cases in
 * tests/data/time-cases hold it to the host's verdicts.
 */
export function parseRealtime(text) {
  const trimmed = text.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '');
  if (trimmed === '') throw new ClockError('the file is empty');
  const m = /^(\d+)(?:\.(\d+))?$/.exec(trimmed);
  if (!m) throw new ClockError(`expected Unix seconds like 1795341747.123456, found ${JSON.stringify(trimmed.slice(0, 32))}`);
  const fraction = (m[2] ?? '').slice(0, 9).padEnd(9, '0');
  const nanos = BigInt(m[1]) * NS_PER_S + BigInt(fraction);
  if (nanos > MAX_FILE_NANOS) throw new ClockError('the time is out of range (after 2262-04-11T23:47:16.854775807Z)');
  return { nanos, hasFraction: m[2] !== undefined };
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks for `ms` (the import is synchronous; this happens once, on the first reading). */
function sleepSync(ms) {
  Atomics.wait(sleepCell, 0, 0, ms);
}

// The realtime file's reader (realtime-reader.cjs): a worker thread that reads the file when asked, so that the
// (synchronous) provider can wait for it with a deadline, Atomics.wait on shared memory. A
// FIFO nothing writes to, or a FUSE mount whose daemon hangs, then fails the provider instead
// of blocking the event loop for ever. Shared memory: [0] 0 idle, 1 asked, 2 answered;
// [1] the answer's length, negative for an error message; [2] 1 once the worker runs (its
// start-up, tens of ms, more on a loaded machine, is not counted against a read's deadline);
// then the answer's bytes.

/** One reader per path and timeout in this thread (a worker costs megabytes). */
const readers = new Map();

/** A synchronous read of `path` through a reader worker, waited for at most `timeoutMs`. */
function boundedReader(path, source, timeoutMs) {
  const key = `${timeoutMs}:${path}`;
  if (!readers.has(key)) readers.set(key, newReader(path, timeoutMs));
  const read = readers.get(key);
  return () => read(source);
}

function newReader(path, timeoutMs) {
  const shared = new SharedArrayBuffer(12 + 512);
  const state = new Int32Array(shared, 0, 3);
  const bytes = new Uint8Array(shared, 12);
  // A .cjs file: CommonJS whatever the process's flags (`--input-type=module` reaches workers).
  const worker = new Worker(new URL('./realtime-reader.cjs', import.meta.url), { workerData: { path, shared } });
  worker.unref(); // it never keeps the process alive
  let failed = null;
  worker.on('error', (e) => {
    failed = e; // reads then time out, naming it
  });
  let askedAt = 0n;
  return (source) => {
    const stuck = (what) => new ClockError(`${source}: ${what} (a FIFO nothing writes to, or a wedged FUSE mount)`);
    if (failed) throw new ClockError(`${source}: the realtime file's reader thread failed: ${failed.message}`);
    if (Atomics.load(state, 2) === 0 && Atomics.wait(state, 2, 0, 10_000) === 'timed-out') {
      throw new ClockError(`${source}: the realtime file's reader thread did not start within 10 s`);
    }
    if (Atomics.load(state, 0) === 1) {
      throw stuck(`a read of the file has not returned for ${(process.hrtime.bigint() - askedAt) / 1_000_000n} ms`);
    }
    Atomics.store(state, 0, 1); // a late answer to an earlier request is discarded here
    Atomics.notify(state, 0);
    askedAt = process.hrtime.bigint();
    Atomics.wait(state, 0, 1, timeoutMs);
    if (Atomics.load(state, 0) !== 2) throw stuck(`no answer from the file within ${timeoutMs} ms`);
    const n = Atomics.load(state, 1);
    const text = Buffer.from(bytes.subarray(0, Math.abs(n))).toString('utf8');
    Atomics.store(state, 0, 0);
    if (n < 0) throw new ClockError(`${source}: cannot read the file: ${text}`);
    return text;
  };
}

/**
 * libfaketimefs's realtime file (path, else $FAKETIME_REALTIME_FILE). Trusted only once it
 * has been seen to advance with the monotonic clock, like the host's source.
 * `allowStatic: true` accepts a snapshot that never advances. Reads run on a worker thread
 * waited for at most `timeoutMs` (1 s), so a FIFO or a hung FUSE mount fails the provider
 * instead of blocking; a device such as /dev/zero is refused. Handing a read to the worker
 * and back costs tens of microseconds, so a proved reading is reused for `reuseMs` (50 ms),
 * extrapolated on process.hrtime, as in the host.
 */
export function realtimeFile(
  path = process.env.FAKETIME_REALTIME_FILE,
  { allowStatic = false, timeoutMs = 1000, reuseMs = 50 } = {},
) {
  if (!path) throw new ClockError('realtime file: no path and FAKETIME_REALTIME_FILE is not set');
  const source = `${allowStatic ? 'faketimefs-static' : 'faketimefs'}:${path}`;
  const readText = boundedReader(path, source, timeoutMs);
  let anchor = null; // { opened, mono, nanos, hasFraction }
  let recent = null; // the sample the last reading came from
  // A sample brackets the read with process.hrtime: a live file's value is computed somewhere
  // between the open and the end of the read.
  const read = () => {
    const opened = process.hrtime.bigint();
    const text = readText();
    if (text.length > 256) throw new ClockError(`${source}: the file is longer than 256 bytes; not a realtime value`);
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
  const used = (sample) => {
    recent = sample;
    return fromNanos(sample.nanos, source);
  };
  return () => {
    if (!allowStatic && recent) {
      const age = process.hrtime.bigint() - recent.mono;
      if (age >= 0n && age < BigInt(reuseMs) * 1_000_000n) return fromNanos(recent.nanos + age, source);
    }
    const latest = read();
    if (allowStatic) return fromNanos(latest.nanos, source);
    if (anchor && together(anchor, latest)) return used(latest);
    // Prove it: a fraction moves within 20 ms, whole seconds within 1.2 s.
    let probe;
    const window = latest.hasFraction ? 20_000_000n : 1_200_000_000n;
    do {
      sleepSync(latest.hasFraction ? 20 : 50);
      probe = read();
    } while (probe.nanos === latest.nanos && probe.mono - latest.mono < window);
    if (probe.nanos !== latest.nanos && together(latest, probe)) {
      anchor = probe;
      return used(probe);
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
    if (providers.length === 0) throw new ClockError('the chain is empty'); // as the host says it
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
