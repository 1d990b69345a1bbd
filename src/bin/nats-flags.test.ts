import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsAuthFromFlags } from './nats-flags.js';

test('NATS credential flags: nkey file, user with pass file, env fallback, none, unreadable file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nats-flags-'));
  try {
    writeFileSync(join(dir, 'seed'), 'SUAEXAMPLE\n');
    writeFileSync(join(dir, 'pass'), ' secret \n');
    assert.deepEqual(natsAuthFromFlags({ 'nkey-file': join(dir, 'seed'), user: 'ignored' }, {}), {
      ok: true,
      auth: { nkeySeed: 'SUAEXAMPLE' },
    });
    assert.deepEqual(natsAuthFromFlags({ user: 'admin', 'pass-file': join(dir, 'pass') }, {}), {
      ok: true,
      auth: { user: 'admin', pass: 'secret' },
    });
    assert.deepEqual(natsAuthFromFlags({}, { MOORING_NATS_USER: 'ops', MOORING_NATS_PASS_FILE: join(dir, 'pass') }), {
      ok: true,
      auth: { user: 'ops', pass: 'secret' },
    });
    assert.deepEqual(natsAuthFromFlags({ user: 'admin' }, {}), { ok: true, auth: { user: 'admin', pass: undefined } });
    assert.deepEqual(natsAuthFromFlags({}, {}), { ok: true, auth: undefined });
    const r = natsAuthFromFlags({ user: 'admin', 'pass-file': join(dir, 'missing') }, {});
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.error, /ENOENT.*missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
