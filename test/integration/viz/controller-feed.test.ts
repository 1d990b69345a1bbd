// The controller's allocation feed over a real nats-server in operator mode (the deploy's mode):
// the controller mints its own JWT (role controller) from the issuer keys, publishes its
// decisions on feed.:controller, answers snapreq.:controller only during a lease term, and may
// publish nothing else (a forged node heartbeat is refused by the server and never delivered).
// The viewer (a minted viewer JWT) reads it through FeedReader, as `mooring viz` does.
// Before NATS is reachable the controller feed only retries (decisions dropped, nothing thrown).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { Lab, waitFor } from '../../lib/netns.js';
import { newIssuerSeeds, serverAuthConfig } from '../../../src/adapters/nats-issuer.js';
import type { VizInput } from '../../../src/domain/viz-model.js';

const lab = new Lab('cf');
const dir = mkdtempSync(join(tmpdir(), 'mooring-ctlfeed-'));
after(async () => {
  await lab.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('controller feed: own minted JWT, decisions and snapshots reach the viewer, nothing else may be published', async () => {
  requireRoot();
  requireTools('ip', 'nats-server');
  const ns = lab.netns('n');
  const seeds = newIssuerSeeds();
  writeFileSync(join(dir, 'seeds.json'), JSON.stringify(seeds), { mode: 0o600 });
  writeFileSync(join(dir, 'nats.conf'), ['listen: "127.0.0.1:4222"', await serverAuthConfig(seeds)].join('\n'));
  const root = new URL('../../../', import.meta.url).pathname;
  // The client starts first: its controller feed retries until the server is there.
  const client = ns.spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'test/integration/viz/controller-feed-client.ts'),
      'nats://127.0.0.1:4222',
      join(dir, 'seeds.json'),
      'co',
    ],
    { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  client.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const out: Array<Record<string, unknown>> = [];
  createInterface({ input: client.stdout! }).on('line', (l) => {
    try {
      out.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      out.push({ text: l });
    }
  });
  const send = (cmd: string) => client.stdin?.write(`${cmd}\n`);
  const wait = <T>(what: string, f: () => T | undefined) =>
    waitFor(what, f, 30_000, 50).catch((e: Error) => {
      throw new Error(`${e.message}\nclient: ${JSON.stringify(out).slice(-3000)}\n${stderr.slice(-3000)}`);
    });
  await wait('the controller feed retrying (no server yet)', () => (stderr.includes('feed.retry') ? true : undefined));
  ns.spawn('nats-server', ['-c', join(dir, 'nats.conf')]);
  await wait('client ready', () => out.find((l) => l.event === 'ready'));
  await wait('controller feed connected', () => (stderr.includes('feed.connected') ? true : undefined));
  const inputs = () => out.filter((l) => l.event === 'input').map((l) => l.x as VizInput);

  // No term: the viewer's snapshot request (at its start) is not answered.
  send('decide');
  await wait('decided', () => out.find((l) => l.event === 'decided'));
  send('term');
  // The term's allocations, unasked: the viewer's page learns the new leader's at once.
  const snap = await wait('the controller snapshot', () => inputs().find((x) => x.t === 'snap' && x.node === ':controller'));
  assert.ok(snap.t === 'snap');
  assert.deepEqual(
    snap.machines.map((m) => `${m.machine} ${m.id} ${m.state} ${m.reason}`),
    [
      'allocation ns/kept 203.0.113.9 pool p1: kept from the Service status',
      'allocation ns/web 203.0.113.1 pool p1: auto-assigned',
      'allocation ns/big  no IP: exhausted: no available IPs in pool p1',
    ],
  );
  assert.equal(inputs().filter((x) => x.t === 'tr').length, 0, 'decisions outside a term are not published');
  send('decide');
  const trs = await wait('two allocation records', () => {
    const t = inputs().flatMap((x) => (x.t === 'tr' ? [x.r] : []));
    return t.length >= 2 ? t : undefined;
  });
  assert.deepEqual(
    trs.map((r) => `${r.machine} ${r.node} ${r.id} ${r.from}>${r.to} ${r.reason}`),
    [
      'allocation :controller ns/web >203.0.113.1 pool p1: auto-assigned',
      'allocation :controller ns/big > no IP: exhausted: no available IPs in pool p1',
    ],
  );
  send('forge');
  const forged = await wait('forge attempt', () => out.find((l) => l.event === 'forged'));
  assert.match(JSON.stringify(forged.errors), /permissions violation/i);
  assert.equal(out.filter((l) => l.event === 'heartbeat').length, 0, 'the forged heartbeat is never delivered');
  client.kill('SIGTERM');
});
