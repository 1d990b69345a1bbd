// The whole product on the deterministic simulator (simulations/lib/product.ts): an in-memory
// API store feeds the real ServiceReconciler and three whole real speakers (SpeakerNode,
// Coordinator, BgpPeers). A LoadBalancer Service goes from creation to an IP in its status and
// answered for on the L2 segment by the elected node, then through the owner's SIGKILL and back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimProduct, objects, type LogEntry } from './lib/product.js';

const NODES = ['node-a', 'node-b', 'node-c'];
const SVC = 'default/web';

interface Outcome {
  log: LogEntry[];
  ip: string;
  owner: string;
  successor: string;
  /** Simulated ms from the Service's creation to the elected node answering for its IP. */
  announcedAfterMs: number;
  /** Simulated ms from the owner's SIGKILL to another node answering. */
  failoverMs: number;
  settledChecks: number;
}

function clean(p: SimProduct, step: string): void {
  assert.deepEqual(p.violations, [], `${step}: invariants broken:\n${p.violations.join('\n')}`);
}

/** The IP is answered for by exactly the node the election picks over the running speakers. */
function answeredByElected(p: SimProduct, ip: string): boolean {
  const got = p.announcers(ip);
  return got.length === 1 && got[0] === p.expectedOwner(ip);
}

async function scenario(seed: number): Promise<Outcome> {
  const p = new SimProduct({ seed, nodes: NODES });
  const detect = p.detectionMs();
  p.start();
  for (const n of ['default', p.namespace]) p.apply(objects.namespace(n));
  for (const n of NODES) p.apply(objects.node(n));
  await p.run(500);
  clean(p, 'start');

  // 1. The config: a pool and an L2Advertisement. The controller loads it; nothing is announced.
  // The pool moves with the seed, so runs differ in the IP (and so in the elected node) too.
  const first = 4 * seed;
  p.apply(objects.pool('pool-a', [`203.0.113.${first}-203.0.113.${first + 10}`]));
  p.apply(objects.l2Advertisement('l2-a', ['pool-a']));
  const configured = await p.runUntil(() => p.reconciler?.stats().some((s) => s.pool === 'pool-a') === true, 1000);
  assert.notEqual(configured, undefined, 'the controller loads the pool');
  assert.equal(p.controllerStatus.configurationStates.get('controller')?.valid, true, 'ConfigurationState controller: valid');
  clean(p, 'config');

  // 2. A LoadBalancer Service with ready endpoints on every node.
  const createdAt = p.clock.now();
  p.apply(objects.loadBalancer('web'));
  p.apply(objects.endpointSlice('web', NODES));
  const statusAt = await p.runUntil(() => p.ingress('web').length > 0, 1000);
  assert.notEqual(statusAt, undefined, 'the reconciler writes status.loadBalancer.ingress');
  const [ip] = p.ingress('web');
  assert.ok(ip !== undefined, 'an IP');
  const last = Number(ip.split('.')[3]);
  assert.ok(ip.startsWith('203.0.113.') && last >= first && last <= first + 10, `an IP of the pool: ${ip}`);
  assert.ok(
    p.controllerEvents.for(SVC).some((e) => e.reason === 'IPAllocated' && e.message.includes(ip)),
    'IPAllocated Event',
  );
  const announcedAt = await p.runUntil(() => answeredByElected(p, ip), 2000);
  assert.notEqual(
    announcedAt,
    undefined,
    `the elected node answers for ${ip} (answering: [${p.announcers(ip).join(',')}], elected: ${String(p.expectedOwner(ip))})`,
  );
  const owner = p.announcers(ip)[0] as string;
  // Settle (P3 applies from here on), then the status objects and Events the speakers wrote.
  await p.run(p.settleMs + 500);
  assert.deepEqual(p.announcers(ip), [owner], 'the owner keeps the IP while nothing changes');
  clean(p, 'announced');
  assert.deepEqual(
    p.l2Statuses(owner).map((s) => [s.serviceKey, s.status.node]),
    [[SVC, owner]],
    'ServiceL2Status from the owner',
  );
  for (const n of NODES) if (n !== owner) assert.deepEqual(p.l2Statuses(n), [], `no ServiceL2Status from ${n}`);
  const assigned = p.events.filter((e) => e.reason === 'nodeAssigned');
  assert.deepEqual(
    assigned.map((e) => [e.source, `${e.target.namespace}/${e.target.name}`]),
    [[`speaker-${owner}`, SVC]],
    'one nodeAssigned Event, from the owner',
  );
  assert.equal(p.controllerStatus.configurationStates.get('controller')?.valid, true);
  for (const n of NODES)
    assert.equal(p.speakerStatus.configurationStates.get(`speaker-${n}`)?.valid, true, `ConfigurationState speaker-${n}`);

  // 3. SIGKILL of the owner: another node answers within heartbeats × misses + one interval + 50 ms.
  const killedAt = p.clock.now();
  p.kill(owner);
  assert.deepEqual(p.announcers(ip), [], 'a killed speaker stops answering at once');
  const bound = detect + p.membership.intervalMs + 50;
  const tookOverAt = await p.runUntil(() => p.announcers(ip).length === 1 && p.announcers(ip)[0] !== owner, bound, 1);
  assert.notEqual(tookOverAt, undefined, `another node answers for ${ip} within ${bound} simulated ms of the kill`);
  const successor = p.announcers(ip)[0] as string;
  assert.equal(successor, p.expectedOwner(ip), 'the successor is the election’s pick without the dead node');
  await p.run(p.settleMs + 500);
  assert.deepEqual(p.announcers(ip), [successor]);
  assert.deepEqual(p.ingress('web'), [ip], 'the Service keeps its IP through the failover');
  assert.deepEqual(
    p.l2Statuses(successor).map((s) => [s.serviceKey, s.status.node]),
    [[SVC, successor]],
    'ServiceL2Status from the successor',
  );
  assert.ok(
    p.events.some((e) => e.reason === 'nodeAssigned' && e.source === `speaker-${successor}` && (e.at as number) >= killedAt),
    'nodeAssigned from the successor',
  );
  clean(p, 'failover');

  // 4. The killed node's speaker comes back (a new incarnation): the election's pick answers again, once.
  p.restart(owner);
  const backAt = await p.runUntil(() => answeredByElected(p, ip) && p.settled(), p.settleMs + 3000);
  assert.notEqual(
    backAt,
    undefined,
    `after the restart, ${ip} is answered for by the election's pick only ([${p.announcers(ip).join(',')}])`,
  );
  assert.equal(p.announcers(ip)[0], owner, 'the restarted node is the hash winner again');
  await p.run(1000);
  assert.deepEqual(
    p.l2Statuses(owner).map((s) => s.serviceKey),
    [SVC],
    'ServiceL2Status from the restarted owner',
  );
  assert.deepEqual(p.l2Statuses(successor), [], 'the successor removed its ServiceL2Status');
  clean(p, 'restart');
  assert.ok(p.settledChecks > 0, 'the settled-state invariant was checked');

  return {
    log: p.log,
    ip,
    owner,
    successor,
    settledChecks: p.settledChecks,
    announcedAfterMs: (announcedAt as number) - createdAt,
    failoverMs: (tookOverAt as number) - killedAt,
  };
}

test('a LoadBalancer Service from creation to an announced IP and through the owner’s SIGKILL, on the real reconciler and speakers', async () => {
  const runs: Outcome[] = [];
  for (const seed of [7, 8, 9]) {
    const t0 = performance.now();
    const r = await scenario(seed);
    runs.push(r);
    console.log(
      `product scenario seed ${seed}: ${r.ip} announced by ${r.owner} ${r.announcedAfterMs} simulated ms after the Service was created; ` +
        `failover to ${r.successor} ${r.failoverMs} simulated ms after the kill; ${r.log.length} log entries, ${r.settledChecks} settled checks; wall ${(performance.now() - t0).toFixed(0)} ms`,
    );
  }
  // Deterministic: the same seed gives the same run, transition for transition.
  const again = await scenario(7);
  assert.deepEqual(again.log, runs[0]?.log, 'same seed, same run');
  assert.ok(
    again.log.some((e) => e.kind === 'transition' && e.to === 'announcing'),
    'the record holds transitions',
  );
});

test('BGP: every speaker advertises the Service IP to the router, a killed one’s path goes with its session, the restarted one’s comes back', async () => {
  const ROUTER = '198.51.100.1';
  const p = new SimProduct({ seed: 11, nodes: NODES, router: { address: ROUTER, asn: 64513 } });
  const router = p.router;
  assert.ok(router);
  p.start();
  for (const n of ['default', p.namespace]) p.apply(objects.namespace(n));
  for (const n of NODES) p.apply(objects.node(n));
  p.apply(objects.pool('pool-b', ['203.0.113.32/28']));
  p.apply(objects.bgpPeer('router', 64512, 64513, ROUTER));
  p.apply(objects.bgpAdvertisement('bgp-b', ['pool-b']));
  p.apply(objects.loadBalancer('web'));
  p.apply(objects.endpointSlice('web', NODES));
  const statusAt = await p.runUntil(() => p.ingress('web').length > 0, 2000);
  assert.notEqual(statusAt, undefined, 'the reconciler writes status.loadBalancer.ingress');
  const [ip] = p.ingress('web');
  assert.ok(ip !== undefined && /^203\.0\.113\.(3[2-9]|4[0-7])$/.test(ip), `an IP of the pool: ${String(ip)}`);
  const prefix = `${ip}/32`;
  const all = await p.runUntil(() => router.nextHops(prefix).length === NODES.length, 5000);
  assert.notEqual(all, undefined, `every node advertises ${prefix} (now: [${router.nextHops(prefix).join(',')}])`);
  for (const n of NODES) {
    assert.equal(p.speakerNode(n)?.plan()?.bgp.peers.length, 1, `${n} peers with the router`);
    const bgp = p.speakerStatus.statuses.get(`servicebgpstatuses/${n}`) ?? [];
    assert.deepEqual(
      bgp.map((s) => s.serviceKey),
      [SVC],
      `ServiceBGPStatus from ${n}`,
    );
  }
  await p.run(p.settleMs + 500);
  assert.deepEqual(p.announcers(ip), [], 'no L2Advertisement: nobody answers ARP for it');
  clean(p, 'advertised');

  p.kill('node-b');
  const gone = await p.runUntil(() => !router.nextHops(prefix).includes('node-b'), 100, 1);
  assert.notEqual(gone, undefined, 'the killed node’s path goes with its session');
  assert.deepEqual(router.nextHops(prefix), ['node-a', 'node-c']);
  p.restart('node-b');
  const back = await p.runUntil(() => router.nextHops(prefix).length === NODES.length, 5000);
  assert.notEqual(back, undefined, 'the restarted node advertises again');
  await p.run(p.settleMs + 500);
  assert.deepEqual(router.nextHops(prefix), NODES);
  clean(p, 'restart');
  console.log(
    `product BGP: ${prefix} from [${NODES.join(',')}] ${(all as number) - (statusAt as number)} simulated ms after the status; ` +
      `back from the restarted node after ${(back as number) - (gone as number)} ms; ${router.established} sessions established`,
  );
});
