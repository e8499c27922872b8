// generated/ is committed (so `npm pack` and `npm install` need no Rust and no jco): it must be
// exactly what scripts/build.mjs makes today from host/component/realsig.wasm, the committed
// component that tests/all/derived.rs checks against the guest build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

function files(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)))
    .sort();
}

test('generated/ is what scripts/build.mjs makes today', () => {
  const out = mkdtempSync(join(tmpdir(), 'realsig-generated-'));
  try {
    execFileSync(process.execPath, [join(pkg, 'scripts', 'build.mjs'), '--out', out], { stdio: 'pipe' });
    const committed = join(pkg, 'generated');
    assert.deepEqual(files(committed), files(out), 'file list differs: run scripts/derive.sh');
    assert.ok(files(out).includes('realsig.core.wasm'), 'jco wrote no core module');
    for (const f of files(out)) {
      assert.ok(readFileSync(join(committed, f)).equals(readFileSync(join(out, f))), `generated/${f} is stale: run scripts/derive.sh`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
