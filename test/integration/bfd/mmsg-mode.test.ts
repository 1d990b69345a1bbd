// The batched port's read modes (adapters/bfd-mmsg.ts, domain/bfd-io-mode.ts), in a namespace
// (mmsg-mode.fixture.ts): idle it reads on readiness (a datagram is read with no timer pass at
// all), under a datagram a millisecond it changes to its tick, and back on readiness when the
// datagrams stop; no datagram is lost across the changes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Lab, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { REPO } from '../../lib/bgp.js';

let lab: Lab;
let n: Netns;

before(() => {
  requireRoot();
  requireTools('ip');
  lab = new Lab('bq');
  n = lab.netns('n');
  n.exec('ip', ['addr', 'add', '198.51.100.93/32', 'dev', 'lo']);
  n.exec('ip', ['addr', 'add', '198.51.100.94/32', 'dev', 'lo']);
});

after(async () => {
  await lab?.cleanup();
});

test('readiness when idle, tick under load, readiness again; every datagram delivered', () => {
  const text = n.exec(process.execPath, [
    '--import',
    'tsx',
    join(REPO, 'test/integration/bfd/mmsg-mode.fixture.ts'),
    '198.51.100.93',
    '198.51.100.94',
  ]);
  const out = JSON.parse(text.trim().split('\n').pop()!) as {
    error?: string;
    opened: { mode: string; txSlotMs: number; io: string };
    first: { mode: string; passes: number; readinessWakeups: number };
    underLoad: { mode: string; modeChanges: number };
    quiet: { mode: string; modeChanges: number; ticked: boolean };
    sent: number;
    received: number;
    rx: number;
  };
  assert.equal(out.error, undefined, text);
  assert.deepEqual(out.opened, { mode: 'readiness', txSlotMs: 10, io: 'mmsg' });
  assert.equal(out.first.passes, 0, 'read without any timer pass');
  assert.ok(out.first.readinessWakeups >= 1);
  assert.equal(out.underLoad.modeChanges, 1);
  assert.equal(out.quiet.modeChanges, 2);
  assert.ok(out.quiet.ticked, 'the tick ran while in tick mode');
  assert.equal(out.received, out.sent);
  assert.equal(out.rx, out.sent);
});
