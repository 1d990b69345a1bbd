// NATS subject permissions (deploy/nats, src/domain/nats-config.ts): a node user may publish only
// under its own node's subjects (it cannot drain another node either). A real nats-server in a namespace, clients in another.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { Lab, waitFor } from '../../lib/netns.js';
import { natsAccountsBlock } from '../../../src/domain/nats-config.js';

const lab = new Lab('co');
const dir = mkdtempSync(join(tmpdir(), 'mooring-perm-'));
after(async () => {
  await lab.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function lines(buf: { s: string }): Array<Record<string, unknown>> {
  return buf.s
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

test('a node user cannot publish under another node’s subject', async () => {
  requireRoot();
  requireTools('ip', 'nats-server');
  const sw = lab.netns('sw');
  lab.bridge(sw, 'br0');
  const srv = lab.netns('nats');
  lab.link(srv, 'eth0', sw, 'br0', ['198.51.100.161/26']);
  const cl = lab.netns('cl');
  lab.link(cl, 'eth0', sw, 'br0', ['198.51.100.162/26']);
  const conf = join(dir, 'nats.conf');
  writeFileSync(
    conf,
    [
      'listen: "198.51.100.161:4222"',
      `jetstream { store_dir: "${join(dir, 'js')}" }`,
      natsAccountsBlock('co', [
        { node: 'n1', user: 'n1', password: 'p1' },
        { node: 'n2', user: 'n2', password: 'p2' },
      ]),
    ].join('\n'),
  );
  srv.spawn('nats-server', ['-c', conf]);
  await waitFor('nats-server listening', () => srv.exec('ss', ['-ltn'], { allowFail: true }).includes('198.51.100.161:4222'), 20000);

  const root = new URL('../../../', import.meta.url).pathname;
  const client = join(root, 'test/integration/coord/perm-client.ts');
  const server = 'nats://198.51.100.161:4222';
  const subOut = { s: '' };
  const sub = cl.spawn(process.execPath, ['--import', 'tsx', client, server, 'n2', 'p2', 'sub'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  sub.stdout?.on('data', (d: Buffer) => {
    subOut.s += d.toString();
  });
  await waitFor('subscriber ready', () => lines(subOut).some((l) => l.event === 'subscribed'), 30000);

  const pubOut = { s: '' };
  const pub = cl.spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      client,
      server,
      'n1',
      'p1',
      'pub',
      'mooring.v1.co.hb.n2',
      'mooring.v1.co.claims.n2',
      'mooring.v1.co.drain.n2',
      'mooring.v1.co.hb.n1',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  pub.stdout?.on('data', (d: Buffer) => {
    pubOut.s += d.toString();
  });
  await waitFor('publisher done', () => lines(pubOut).some((l) => l.event === 'published'), 30000);
  // The allowed subject is delivered; it is the marker that everything before it was processed.
  await waitFor('own subject delivered', () => lines(subOut).some((l) => l.subject === 'mooring.v1.co.hb.n1'), 10000);
  const got = lines(subOut)
    .filter((l) => l.event === 'received')
    .map((l) => l.subject);
  assert.deepEqual(got, ['mooring.v1.co.hb.n1'], 'forged subjects must not be delivered');
  // The server told the publisher why.
  assert.ok(
    lines(pubOut).some((l) => l.event === 'error' && /permissions violation/i.test(String(l.err))),
    pubOut.s,
  );
});
