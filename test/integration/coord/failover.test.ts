// Real processes: a 3-server nats-server cluster (JetStream, per-node users) and three
// coordination processes with the pcap L2 announcer, each in its own namespace on one bridge; a
// client namespace ARPs for the VIPs. Behaviour only, no timing assertions (generous waits).
// The detection window is widened to 200 ms × 5 here: a reconnect after a NATS server kill must
// beat it, and this shared 2-core machine can stall a process for a few hundred ms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../lib/netns.js';
import { CoordLab, CLUSTER, NATS_IPS } from './coord-lab.js';

const VIPS = ['203.0.113.65', '203.0.113.66', '203.0.113.67', '203.0.113.68', '203.0.113.69', '203.0.113.70'];
let lab: CoordLab;

before(async () => {
  lab = await CoordLab.startSettled({ vips: VIPS, announcer: 'pcap', intervalMs: 250, misses: 12 });
});

after(async () => {
  await lab?.cleanup();
});

function macOf(node: string): string {
  return lab.nodes.find((n) => n.name === node)?.mac as string;
}

test('the client resolves every VIP to the MAC of its single owner', async () => {
  for (const ip of VIPS) {
    const owner = lab.ownership().get(ip)?.[0] as string;
    const mac = await waitFor(`ARP reply for ${ip}`, () => lab.arp(ip), 20000, 200);
    assert.equal(mac, macOf(owner), `${ip} owned by ${owner}`);
  }
});

test('killing one NATS server moves no IP', async () => {
  const before = JSON.stringify([...lab.ownership()]);
  const transitionsBefore = lab.nodes.map((n) => n.events.filter((e) => e.event === 'transition').length);
  lab.killNats(0);
  // Let clients on that server notice, reconnect elsewhere and settle; watch for any move.
  const deadline = Date.now() + 8000;
  while (Date.now() < deadline) {
    assert.equal(JSON.stringify([...lab.ownership()]), before, 'ownership changed after a NATS server kill');
    await new Promise((r) => setTimeout(r, 100));
  }
  const moved = lab.nodes.map((n, i) =>
    n.events
      .filter((e) => e.event === 'transition')
      .slice(transitionsBefore[i])
      .filter((e) => e.to === 'announcing' || e.from === 'announcing'),
  );
  assert.deepEqual(moved.flat(), []);
  // n1 was pinned to the killed server: it really lost its connection and reconnected elsewhere.
  const n1 = lab.nodes[0];
  assert.ok(n1);
  assert.ok(
    n1?.events.some((e) => e.event === 'disconnected'),
    'n1 never saw its server go',
  );
  await waitFor('n1 reconnected to another server', () => n1.events.some((e) => e.event === 'reconnected'), 20000);
  // n1's primary moved to s2, where its mirror was: the mirror is reopened on another server, so
  // the next server death cannot silence n1 either.
  await waitFor('n1 moved its mirror off its primary server', () => n1.events.some((e) => e.event === 'mirror.move'), 20000);
  await waitFor(
    'n1 mirror connected again',
    () =>
      n1.events.some(
        (e) =>
          e.event === 'connected' && e.connection === 'mirror' && e.t >= (n1.events.find((x) => x.event === 'mirror.move')?.t ?? Infinity),
      ),
    20000,
  );
  lab.startNats(0);
});

test('a NATS server stalled (SIGSTOP) for longer than the detection window moves no IP', async () => {
  // Its clients hear nothing and get nothing through it, without any disconnect. Their heartbeats
  // reach the others through their mirror connections on other servers (without them the others
  // would declare them dead after 3 s and take their IPs); they themselves freeze their view
  // (own echo lost) and take nothing.
  await waitFor('ownership settled', () => lab.settled(), 30000, 100);
  const before = JSON.stringify([...lab.ownership()]);
  const transitionsBefore = lab.nodes.map((n) => n.events.filter((e) => e.event === 'transition').length);
  const echoLostBefore = lab.nodes.map((n) => n.events.filter((e) => e.event === 'nats.echo.lost').length);
  lab.stallNats(1, true);
  try {
    const deadline = Date.now() + 5000; // detection window: 250 ms × 12 = 3 s
    while (Date.now() < deadline) {
      assert.equal(JSON.stringify([...lab.ownership()]), before, 'ownership changed while a NATS server stalled');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    lab.stallNats(1, false);
  }
  await new Promise((r) => setTimeout(r, 4000)); // resync after the stall
  const moved = lab.nodes.map((n, i) =>
    n.events
      .filter((e) => e.event === 'transition')
      .slice(transitionsBefore[i])
      .filter((e) => e.to === 'announcing' || e.from === 'announcing'),
  );
  assert.deepEqual(moved.flat(), []);
  // The stall was real: some node lost its own echo (its subscriptions were on the stalled server).
  assert.ok(
    lab.nodes.some((n, i) => n.events.filter((e) => e.event === 'nats.echo.lost').length > (echoLostBefore[i] ?? 0)),
    'no node noticed the stall',
  );
});

test('SIGKILL of an owner: its IPs move to the survivors and the client follows the new MAC', async () => {
  const own = lab.ownership();
  const victim = lab.nodes.find((n) => [...own.values()].some((o) => o[0] === n.name)) ?? lab.nodes[0];
  assert.ok(victim);
  const lost = VIPS.filter((ip) => own.get(ip)?.[0] === victim.name);
  assert.ok(lost.length > 0);
  lab.killNode(victim.index);
  await waitFor('victim dead', () => !victim.alive(), 10000);
  await waitFor(`${lost.join(',')} taken over`, () => lost.every((ip) => (lab.ownership().get(ip) ?? []).length === 1), 30000, 50);
  for (const ip of lost) {
    const owner = lab.ownership().get(ip)?.[0] as string;
    assert.notEqual(owner, victim.name);
    const mac = await waitFor(
      `client sees the new owner of ${ip}`,
      () => {
        const m = lab.arp(ip);
        return m === macOf(owner) ? m : undefined;
      },
      20000,
      200,
    );
    assert.equal(mac, macOf(owner));
  }
  // IPs that the victim did not own did not move.
  for (const ip of VIPS.filter((x) => !lost.includes(x))) assert.deepEqual(lab.ownership().get(ip), own.get(ip));
});

test('takeovers are recorded in the JetStream KV with a higher epoch, by the new owner', async () => {
  const root = new URL('../../../', import.meta.url).pathname;
  const read = () =>
    lab.natsNs
      .exec(
        process.execPath,
        [
          '--import',
          'tsx',
          `${root}test/integration/coord/kv-read.ts`,
          `nats://${NATS_IPS[1]}:4222`,
          'n1',
          lab.passwords[0] as string,
          CLUSTER,
          ...VIPS,
        ],
        { allowFail: true },
      )
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { ip: string; record: { epoch: number; node: string } | null });
  // The previous test killed an owner: its IPs were taken over, so some record has epoch ≥ 2.
  await waitFor(
    'KV records match the owners',
    () => {
      const recs = read();
      return recs.length === VIPS.length && recs.every((r) => r.record !== null && r.record.node === lab.ownership().get(r.ip)?.[0])
        ? recs
        : undefined;
    },
    30000,
    1000,
  ).then((recs) => {
    assert.ok(
      recs.some((r) => (r.record?.epoch ?? 0) >= 2),
      JSON.stringify(recs),
    );
  });
});
