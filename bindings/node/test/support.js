// Shared by the tests: where the team's vectors are, and the suites' request.txt format
// (parsed as cli/src/http_text.rs does: the target may contain spaces; folded header lines
// are unfolded with one space; the body is everything after the first blank line).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { homedir, tmpdir } from 'node:os';
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

/** A suite case's context, its request in this package's shape, and its credentials. */
export function suiteCase(dir) {
  const ctx = JSON.parse(readFileSync(join(dir, 'context.json'), 'utf8'));
  const raw = parseRequest(readFileSync(join(dir, 'request.txt')));
  const host = raw.headers.find(([n]) => n.toLowerCase() === 'host')[1];
  const req = {
    method: raw.method,
    url: `https://${host}${raw.target}`,
    headers: raw.headers,
    body: raw.body,
    region: ctx.region,
    service: ctx.service,
    signingOptions: {
      normalizePath: ctx.normalize ?? true,
      contentSha256Header: ctx.sign_body ?? false,
      omitSessionToken: ctx.omit_session_token ?? false,
    },
  };
  const creds = {
    accessKeyId: ctx.credentials.access_key_id,
    secretAccessKey: ctx.credentials.secret_access_key,
    sessionToken: ctx.credentials.token,
  };
  return { ctx, req, creds };
}

/** Where a tool scripts/setup.sh installs lives: PATH, ~/.cargo/bin or ~/go/bin. */
function installed(program) {
  const dirs = [...(process.env.PATH ?? '').split(':'), join(homedir(), '.cargo', 'bin'), join(homedir(), 'go', 'bin')];
  const bin = dirs.map((d) => join(d, program)).find(existsSync);
  if (!bin) throw new Error(`${program} is not installed (scripts/setup.sh installs it)`);
  return bin;
}

/**
 * Starts a loopback S3 server that verifies signatures, 's3s-fs' (0.14.1) or 'versitygw'
 * (1.8.0, posix backend), on 127.0.0.1 with these credentials; killed by its PID when the
 * test ends. Returns its endpoint.
 */
export async function startS3Server(t, kind, akid, secret) {
  const root = mkdtempSync(join(tmpdir(), 'realsig-s3-'));
  const port = 20000 + Math.floor(Math.random() * 10000);
  const [args, env] = kind === 'versitygw'
    ? [['--port', `127.0.0.1:${port}`, 'posix', root], { ROOT_ACCESS_KEY: akid, ROOT_SECRET_KEY: secret }]
    : [['--host', '127.0.0.1', '--port', String(port), '--access-key', akid, '--secret-key', secret, root], {}];
  const proc = spawn(installed(kind), args, { stdio: 'ignore', env: { ...process.env, ...env } });
  t.after(() => {
    proc.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((resolve) => {
      const c = createConnection({ host: '127.0.0.1', port }, () => (c.end(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (up) return `http://127.0.0.1:${port}`;
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${kind} did not listen within 10 s`);
}

/** The shared S3 key cases (tests/data/s3-keys.json): { typed, key } each. */
export function s3KeyCases() {
  const doc = JSON.parse(readFileSync(join(here, '..', '..', '..', 'tests', 'data', 's3-keys.json'), 'utf8'));
  if (!doc.cases?.length) throw new Error('no key cases');
  return doc.cases;
}
