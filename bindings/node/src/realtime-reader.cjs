// The realtime file's reader thread (see realtimeFile in clocks.js): waits on shared memory
// for a request, reads the file (at most 257 bytes), answers, and waits again. A FIFO or a
// hung FUSE mount blocks this thread only; the provider waits for it with a deadline.
'use strict';
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { path, shared } = workerData;
const state = new Int32Array(shared, 0, 3);
const bytes = new Uint8Array(shared, 12);
Atomics.store(state, 2, 1);
Atomics.notify(state, 2);
const kind = (st) => st.isDirectory() ? 'a directory' : st.isCharacterDevice() ? 'a character device'
  : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'not a file';
const answer = (ok, buf) => {
  const n = Math.min(buf.length, bytes.length);
  bytes.set(buf.subarray(0, n));
  Atomics.store(state, 1, ok ? n : -n);
  Atomics.store(state, 0, 2);
  Atomics.notify(state, 0);
};
for (;;) {
  Atomics.wait(state, 0, 0);
  if (Atomics.load(state, 0) !== 1) continue;
  try {
    const st = fs.statSync(path);
    if (!st.isFile() && !st.isFIFO()) throw new Error('it is ' + kind(st) + ', not a regular file');
    const fd = fs.openSync(path, 'r'); // a FIFO waits here for its writer: this thread only
    try {
      const buf = Buffer.alloc(257);
      let n = 0;
      for (let got; n < buf.length && (got = fs.readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += got;
      answer(true, buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    answer(false, Buffer.from(String(e.message)));
  }
}
