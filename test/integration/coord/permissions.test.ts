// NATS subject permissions (deploy/nats, src/domain/nats-config.ts): a node user may publish only
// under its own node's subjects (it cannot drain another node either). A real nats-server in a namespace, clients in another.
// Then the same rule with credentials minted by the controller's issuer (operator mode, nats-server
// 2.9: src/adapters/nats-issuer.ts): a minted node JWT publishes only on its own subjects and can use
// the epoch KV; an expired JWT, a JWT from another issuer and a JWT without its key are refused; a
// node never seen before gets a working credential with nothing changed on the server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { Lab, waitFor } from '../../lib/netns.js';
import { natsAccountsBlock } from '../../../src/domain/nats-config.js';
import { mintUserJwt, newIssuerSeeds, newUserKey, serverAuthConfig, type IssuerSeeds } from '../../../src/adapters/nats-issuer.js';

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

test('minted node credentials (operator mode): own subjects only; expired, forged and keyless refused; a new node needs nothing', async () => {
  requireRoot();
  requireTools('ip', 'nats-server');
  const sw = lab.netns('sw2');
  lab.bridge(sw, 'br0');
  const srv = lab.netns('nats2');
  lab.link(srv, 'eth0', sw, 'br0', ['198.51.100.169/29']);
  const cl = lab.netns('cl2');
  lab.link(cl, 'eth0', sw, 'br0', ['198.51.100.170/29']);
  const seeds = newIssuerSeeds();
  const conf = join(dir, 'nats-op.conf');
  writeFileSync(
    conf,
    ['listen: "198.51.100.169:4222"', `jetstream { store_dir: "${join(dir, 'js-op')}" }`, await serverAuthConfig(seeds)].join('\n'),
  );
  const proc = srv.spawn('nats-server', ['-c', conf]);
  let serverLog = '';
  proc.stderr?.on('data', (d: Buffer) => (serverLog += d.toString()));
  await waitFor(
    'nats-server (operator mode) listening',
    () => srv.exec('ss', ['-ltn'], { allowFail: true }).includes('198.51.100.169:4222'),
    20000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${serverLog}`);
  });
  const root = new URL('../../../', import.meta.url).pathname;
  const client = join(root, 'test/integration/coord/perm-client.ts');
  const server = 'nats://198.51.100.169:4222';
  let n = 0;
  const creds = async (node: string, o: { issuer?: IssuerSeeds; nowMs?: number; lifetimeMs?: number; otherSeed?: boolean } = {}) => {
    const key = newUserKey();
    const { jwt } = await mintUserJwt(
      o.issuer ?? seeds,
      key.publicKey,
      'co',
      { role: 'node', node },
      o.nowMs ?? Date.now(),
      o.lifetimeMs ?? 3_600_000,
    );
    const seed = new TextDecoder().decode(o.otherSeed ? newUserKey().seed : key.seed);
    const f = join(dir, `creds-${n++}.json`);
    writeFileSync(f, JSON.stringify({ jwt, seed }), { mode: 0o600 });
    return `creds:${f}`;
  };
  const run = (args: string[]) => {
    const out = { s: '' };
    const p = cl.spawn(process.execPath, ['--import', 'tsx', client, server, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout?.on('data', (d: Buffer) => (out.s += d.toString()));
    return { out, p };
  };
  const once = async (args: string[]) => {
    const r = run(args);
    await waitFor(`client ${args.slice(1).join(' ')} done`, () => r.p.exitCode !== null, 30000);
    return { code: r.p.exitCode, lines: lines(r.out) };
  };

  const sub = run([await creds('n2'), '-', 'sub']);
  await waitFor('subscriber (minted n2) ready', () => lines(sub.out).some((l) => l.event === 'subscribed'), 30000).catch((e: Error) => {
    throw new Error(`${e.message}\n${sub.out.s}\n${serverLog}`);
  });
  const pub = await once([
    await creds('n1'),
    '-',
    'pub',
    'mooring.v1.co.hb.n2',
    'mooring.v1.co.claims.n2',
    'mooring.v1.co.drain.n2',
    'mooring.v1.co.hb.n1',
  ]);
  assert.equal(pub.code, 0, JSON.stringify(pub.lines));
  await waitFor('own subject delivered', () => lines(sub.out).some((l) => l.subject === 'mooring.v1.co.hb.n1'), 10000);
  assert.ok(
    pub.lines.some((l) => l.event === 'error' && /permissions violation/i.test(String(l.err))),
    JSON.stringify(pub.lines),
  );

  // The node's JWT carries what the epoch store needs (JetStream in the account, the KV bucket).
  const kv = await once([await creds('n1'), '-', 'kv', 'mooring-v1-co-epochs']);
  assert.equal(kv.code, 0, JSON.stringify(kv.lines));
  assert.deepEqual(
    (kv.lines.find((l) => l.event === 'kv') as { create?: { ok: boolean } } | undefined)?.create?.ok,
    true,
    JSON.stringify(kv.lines),
  );

  // Refused: expired, signed by another issuer, or presented without its own key.
  const expired = await once([
    await creds('n1', { nowMs: Date.now() - 7_200_000, lifetimeMs: 3_600_000 }),
    '-',
    'pub',
    'mooring.v1.co.hb.n1',
  ]);
  const forged = await once([await creds('n1', { issuer: newIssuerSeeds() }), '-', 'pub', 'mooring.v1.co.hb.n1']);
  const keyless = await once([await creds('n1', { otherSeed: true }), '-', 'pub', 'mooring.v1.co.hb.n1']);
  for (const [what, r] of Object.entries({ expired, forged, keyless })) {
    assert.equal(r.code, 3, `${what}: ${JSON.stringify(r.lines)}`);
    assert.match(String(r.lines.find((l) => l.event === 'refused')?.err), /authoriz|authentic|expired/i, what);
  }

  // A node never seen before: minted, connected, delivered; nothing on the server changed.
  const fresh = await once([await creds('n3-new'), '-', 'pub', 'mooring.v1.co.hb.n3-new', 'mooring.v1.co.hb.n1']);
  assert.equal(fresh.code, 0, JSON.stringify(fresh.lines));
  await waitFor('new node delivered', () => lines(sub.out).some((l) => l.subject === 'mooring.v1.co.hb.n3-new'), 10000);
  const got = lines(sub.out)
    .filter((l) => l.event === 'received')
    .map((l) => l.subject);
  assert.deepEqual(got, ['mooring.v1.co.hb.n1', 'mooring.v1.co.hb.n3-new'], 'forged subjects must not be delivered');
  sub.p.kill('SIGKILL');
});
