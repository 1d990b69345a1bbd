// `mooringctl drain|undrain <node>` against real processes: the 3-server NATS cluster with an
// admin user, three coordination processes with the pcap announcer. The drained node's IPs move
// make-before-break: each new owner announces before the drained node withdraws (event order on
// one host clock), and the client then resolves them to the new owner. Undrain takes them back.
// Behaviour only, no timing assertions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../lib/netns.js';
import { CoordLab, type NodeEvent } from './coord-lab.js';

const VIPS = ['203.0.113.65', '203.0.113.66', '203.0.113.67', '203.0.113.68', '203.0.113.69', '203.0.113.70'];
let lab: CoordLab;

before(async () => {
  lab = await CoordLab.startSettled({ vips: VIPS, announcer: 'pcap', intervalMs: 250, misses: 12 });
});

after(async () => {
  await lab?.cleanup();
});

const at = (evs: NodeEvent[], pred: (e: NodeEvent) => boolean): number | undefined => evs.find(pred)?.t;

test('drain hands every IP over make-before-break; undrain takes them back', async () => {
  const own = lab.ownership();
  const victim = lab.nodes.find((n) => [...own.values()].some((o) => o[0] === n.name));
  assert.ok(victim);
  const lost = VIPS.filter((ip) => own.get(ip)?.[0] === victim.name);
  const marks = lab.nodes.map((n) => n.events.length);
  const r = await lab.mooringctl('drain', victim.name, '--timeout', '60');
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, new RegExp(`${victim.name}: draining \\(acknowledged`));
  assert.match(r.out, /every IP handed over/);
  await waitFor(
    'drained IPs owned by others',
    () =>
      lost.every((ip) => {
        const o = lab.ownership().get(ip) ?? [];
        return o.length === 1 && o[0] !== victim.name;
      }),
    30000,
    100,
  );
  const fresh = (i: number) => lab.nodes[i]?.events.slice(marks[i]) ?? [];
  for (const ip of lost) {
    const to = lab.ownership().get(ip)?.[0] as string;
    const newOwner = lab.nodes.find((n) => n.name === to);
    assert.ok(newOwner);
    const announced = at(fresh(newOwner.index), (e) => e.event === 'transition' && e.ip === ip && e.to === 'announcing');
    const withdrawn = at(fresh(victim.index), (e) => e.event === 'transition' && e.ip === ip && e.from === 'withdrawing');
    assert.ok(announced !== undefined && withdrawn !== undefined, `${ip}: ${announced} ${withdrawn}`);
    assert.ok(announced <= withdrawn, `${ip}: ${to} announced at ${announced}, ${victim.name} stopped at ${withdrawn}: break before make`);
    const mac = await waitFor(
      `client resolves ${ip} to ${to}`,
      () => {
        const m = lab.arp(ip);
        return m === newOwner.mac ? m : undefined;
      },
      20000,
      200,
    );
    assert.equal(mac, newOwner.mac);
  }
  // IPs the victim did not own did not move.
  for (const ip of VIPS.filter((x) => !lost.includes(x))) assert.deepEqual(lab.ownership().get(ip), own.get(ip));

  const u = await lab.mooringctl('undrain', victim.name, '--timeout', '60');
  assert.equal(u.status, 0, u.out);
  await waitFor(
    'IPs back on the undrained node',
    () => lost.every((ip) => JSON.stringify(lab.ownership().get(ip)) === JSON.stringify([victim.name])),
    30000,
    100,
  );
});

test('drain of a node that does not run a speaker fails with a clear message', async () => {
  const r = await lab.mooringctl('drain', 'n9', '--timeout', '2');
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /n9 did not acknowledge within 2 s/);
});
