// Shared by the tests: where the team's vectors are, and the suites' request.txt format
// (parsed as host/src/http_text.rs does: the target may contain spaces; folded header lines
// are unfolded with one space; the body is everything after the first blank line).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function vectorsDir() {
  const dir = process.env.REALSIG_VECTORS ?? join(here, '..', '..', '..', '..', 'shared', 'vectors');
  if (!existsSync(join(dir, 'aws-signing-test-suite'))) {
    throw new Error(`the shared vectors are missing at ${dir} (set REALSIG_VECTORS)`);
  }
  return dir;
}

export function parseRequest(buf) {
  const text = buf.toString('latin1');
  const m = /\r?\n\r?\n/.exec(text);
  const head = m ? text.slice(0, m.index) : text.replace(/\r?\n$/, '');
  const body = m ? buf.subarray(Buffer.byteLength(text.slice(0, m.index + m[0].length), 'latin1')) : Buffer.alloc(0);
  const lines = Buffer.from(head, 'latin1').toString('utf8').split('\n').map((l) => l.replace(/\r$/, ''));
  const first = lines.shift();
  const sp = first.indexOf(' ');
  const last = first.lastIndexOf(' ');
  const method = first.slice(0, sp);
  const target = first.slice(sp + 1, last);
  const headers = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line)) {
      headers[headers.length - 1][1] += ` ${line.replace(/^[ \t]+|[ \t]+$/g, '')}`;
      continue;
    }
    const colon = line.indexOf(':');
    headers.push([line.slice(0, colon), line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')]);
  }
  return { method, target, headers, body };
}

export function readTrimmed(path) {
  return readFileSync(path, 'utf8').replace(/\s+$/, '');
}
