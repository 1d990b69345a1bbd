// End to end, `mooringctl explain svc` (issue 20) in the lab: real controller, three real speakers,
// real apiserver, NATS cluster (explain asks the speakers for their snapshots as the read-only
// viewer `mooring viz` uses) and FRR. Each case the operator asks about, each output checked:
// allocated and announced, an exhausted pool, no advertisement, ETP Local without local
// endpoints, a node excluded, a BGP session refused for a wrong ASN (with the prefixes planned for
// the good peer and their communities), the owner killed, and NATS unreachable.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, MOORING_NS, NATS_CLUSTER, NET, type Proc } from '../../lib/cluster.js';
import type { ExplainReport } from '../../../src/domain/explain.js';
import { EXCLUDE_LB_LABEL } from '../../../src/domain/election.js';

const NS = 'e2e-explain';
const ONE = '203.0.113.32'; // pool "one": a single address
const BARE = '203.0.113.33'; // pool "bare": no advertisement selects it

describe('e2e mooringctl explain svc', { timeout: 600_000 }, () => {
  let c: Cluster | undefined;
  let speakers: Proc[] = [];
  let passFile = '';
  const dump = () => c?.dump() ?? '';

  before(async () => {
    c = await Cluster.start();
    c.serveOnNodes();
    speakers = c.startMooring().speakers;
    passFile = join(c.dir, 'viz.nats-pass');
    writeFileSync(passFile, c.natsViewer.password, { mode: 0o600 });
    await c.admin.apply(`
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: l2, namespace: ${MOORING_NS} }
spec: { addresses: ["${NET.pools.l2v4}"] }
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: one, namespace: ${MOORING_NS} }
spec: { addresses: ["${ONE}/32"], autoAssign: false }
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: bare, namespace: ${MOORING_NS} }
spec: { addresses: ["${BARE}/32"], autoAssign: false }
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: bgp, namespace: ${MOORING_NS} }
spec: { addresses: ["${NET.pools.bgpv4}"], autoAssign: false }
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: { name: l2, namespace: ${MOORING_NS} }
spec: { ipAddressPools: [l2, one] }
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: { name: bgp, namespace: ${MOORING_NS} }
spec: { ipAddressPools: [bgp], communities: ["65000:100"] }
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: router, namespace: ${MOORING_NS} }
spec: { myASN: ${NET.nodeAsn}, peerASN: ${NET.router.asn}, peerAddress: ${NET.router.seg4}, holdTime: 9s }
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: { name: wrongasn, namespace: ${MOORING_NS} }
spec: { myASN: ${NET.nodeAsn}, peerASN: 64999, peerAddress: "${NET.router.seg6}", holdTime: 9s, connectTime: 1s }
`);
  });

  after(async () => {
    await c?.cleanup();
  });

  let lastRun = '';
  async function explain(service: string, o: { nats?: boolean } = {}): Promise<{ report: ExplainReport; text: string }> {
    assert.ok(c);
    const cl = c;
    const env = { KUBECONFIG: cl.kube.kubeconfigPath };
    const nats =
      o.nats === false
        ? ['--servers', 'nats://203.0.113.9:4222'] // nobody listens there
        : ['--servers', (cl.nats?.urls(0) ?? []).join(','), '--user', cl.natsViewer.user, '--pass-file', passFile];
    const args = ['explain', 'svc', `${NS}/${service}`, '--cluster', NATS_CLUSTER, '-n', MOORING_NS, ...nats];
    const j = await cl.run(cl.ctl, 'src/bin/mooringctl.ts', [...args, '-o', 'json'], env);
    const t = await cl.run(cl.ctl, 'src/bin/mooringctl.ts', args, env);
    lastRun = `exit ${j.code}/${t.code}\n${t.stdout.slice(0, 4000)}\n${j.stderr.slice(0, 1000)}`;
    assert.equal(j.code, 0, lastRun);
    assert.equal(t.code, 0, lastRun);
    return { report: JSON.parse(j.stdout) as ExplainReport, text: t.stdout };
  }
  /** Runs explain until `ok` holds for its report (the cluster converges), then returns it. */
  async function explainUntil(what: string, service: string, ok: (r: ExplainReport) => boolean, o: { nats?: boolean } = {}) {
    assert.ok(c);
    let got: { report: ExplainReport; text: string } | undefined;
    await c
      .waitFor(
        what,
        async () => {
          got = await explain(service, o);
          return ok(got.report) ? true : undefined;
        },
        90_000,
        1000,
      )
      .catch((e: Error) => {
        throw new Error(`${e.message}; last run: ${lastRun}\n${dump()}`);
      });
    if (!got) throw new Error('unreachable');
    console.log(`--- mooringctl explain svc ${NS}/${service}\n${got.text}`);
    return got;
  }

  it('allocated and announced: pool and why, every node eligible, the order, the owner answering ARP', async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'ok');
    await cl.createEndpointSlice(NS, 'ok', [{ ip: '198.51.100.220', node: 'n1' }]);
    const [ip = ''] = await cl.waitLbIngress(NS, 'ok', 1, 90_000);
    const { report: r, text } = await explainUntil('ok announced by one node', 'ok', (x) => x.election?.announcing.length === 1);
    const mac = cl.arping(ip, 2);
    const owner = NET.nodes.find((n) => n.mac === mac)?.name;
    assert.deepEqual(r.allocation, {
      state: 'allocated',
      pool: 'l2',
      why: 'auto-assigned: the first pool in MetalLB order with a free address',
    });
    assert.deepEqual(r.election?.announcing, [owner]);
    assert.equal(r.election?.order[0], owner, 'the first in election order announces');
    assert.deepEqual(
      r.nodes.map((n) => [n.name, n.speaker, n.l2]),
      NET.nodes.map((n) => [n.name, true, '']),
    );
    assert.deepEqual(r.nats, { reachable: true, answered: ['n1', 'n2', 'n3'], silent: [] });
    // The owner's machine announces; no other node's does (idle machines may be left out of a snapshot).
    assert.deepEqual(
      r.nodes.map((n) => [n.name, n.machines.some((m) => m.ip === ip && m.state === 'announcing')]),
      NET.nodes.map((n) => [n.name, n.name === owner]),
    );
    assert.deepEqual(r.verdict, [`L2: ${ip} answered by ${owner}`]);
    assert.match(text, new RegExp(`^${owner} +up +eligible +- +${ip.replaceAll('.', '\\.')} announcing$`, 'm'));
  });

  it('an exhausted pool: no IP, and why', async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'holder', {}, { annotations: { 'metallb.io/address-pool': 'one' } });
    assert.deepEqual(await cl.waitLbIngress(NS, 'holder', 1, 60_000), [ONE]);
    await cl.createLbService(NS, 'full', {}, { annotations: { 'metallb.io/address-pool': 'one' } });
    const { report: r, text } = await explainUntil('full explained as pending', 'full', (x) => x.allocation.state === 'pending');
    assert.deepEqual(r.ips, []);
    assert.match(r.allocation.why, /one/);
    assert.match(r.verdict[0] ?? '', /^no IP: /);
    assert.ok(
      r.events.some((e) => e.reason === 'AllocationFailed'),
      JSON.stringify(r.events),
    );
    assert.match(text, /^allocation: pending: /m);
  });

  it('no advertisement: allocated, announced nowhere, the reason', async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'noadv', {}, { annotations: { 'metallb.io/address-pool': 'bare' } });
    await cl.createEndpointSlice(NS, 'noadv', [{ ip: '198.51.100.221', node: 'n2' }]);
    assert.deepEqual(await cl.waitLbIngress(NS, 'noadv', 1, 60_000), [BARE]);
    const { report: r } = await explainUntil('noadv explained', 'noadv', (x) => x.ips.length === 1);
    assert.equal(r.allocation.pool, 'bare');
    assert.deepEqual(r.verdict, [
      `${BARE} announced nowhere: noMatchingAdvertisement: no L2Advertisement or BGPAdvertisement selects pool "bare" for this service`,
    ]);
    assert.equal(cl.arping(BARE, 1), undefined, 'nobody answers for it');
  });

  it('ETP Local: only the node with the endpoint is eligible and announces; the others say noLocalEndpoints', async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'local', { externalTrafficPolicy: 'Local' });
    await cl.createEndpointSlice(NS, 'local', [{ ip: '198.51.100.222', node: 'n2' }]);
    const [ip = ''] = await cl.waitLbIngress(NS, 'local', 1, 60_000);
    // The speakers' own word comes as Events (a machine's reason in the snapshot is the one of its last state change).
    const fromN1 = (x: ExplainReport) =>
      x.events.some((e) => e.reason === 'notAnnounced' && /node n1 .*: noLocalEndpoints: /.test(e.message));
    const { report: r } = await explainUntil(
      'local announced by n2, n1 says noLocalEndpoints',
      'local',
      (x) => x.election?.announcing.join() === 'n2' && fromN1(x),
    );
    assert.deepEqual(
      r.nodes.map((n) => [n.name, n.l2]),
      [
        ['n1', 'noLocalEndpoints'],
        ['n2', ''],
        ['n3', 'noLocalEndpoints'],
      ],
    );
    assert.deepEqual(r.election?.order, ['n2']);
    assert.ok(
      !r.nodes.find((n) => n.name === 'n1')?.machines.some((m) => m.ip === ip && m.state === 'announcing'),
      JSON.stringify(r.nodes),
    );
  });

  it('a node excluded by label: not eligible, and its speaker says nodeExcluded (Event)', async () => {
    assert.ok(c);
    const cl = c;
    await cl.labelNode('n3', EXCLUDE_LB_LABEL, '');
    try {
      const { report: r, text } = await explainUntil('n3 excluded in ok, and n3 says so', 'ok', (x) =>
        x.events.some((e) => e.reason === 'notAnnounced' && /node n3 .*: nodeExcluded: /.test(e.message)),
      );
      assert.equal(r.nodes.find((n) => n.name === 'n3')?.l2, 'nodeExcluded');
      assert.ok(!r.election?.order.includes('n3'), JSON.stringify(r.election));
      assert.match(text, /^n3 +up +nodeExcluded /m);
    } finally {
      await cl.labelNode('n3', EXCLUDE_LB_LABEL, null);
    }
  });

  it('BGP: the prefix planned for each session with its community; the wrong-ASN session is not established, with its reason', async () => {
    assert.ok(c);
    const cl = c;
    await cl.createLbService(NS, 'routed', {}, { annotations: { 'metallb.io/address-pool': 'bgp' } });
    await cl.createEndpointSlice(NS, 'routed', [{ ip: '198.51.100.223', node: 'n1' }]);
    const [ip = ''] = await cl.waitLbIngress(NS, 'routed', 1, 60_000);
    const { report: r, text } = await explainUntil(
      'routed: router sessions established and wrongasn ones refused',
      'routed',
      (x) =>
        x.peers.filter((p) => p.peer === 'router' && p.state === 'established').length === 3 &&
        x.peers.filter((p) => p.peer === 'wrongasn' && p.state !== undefined && p.state !== 'established' && p.reason).length === 3,
    );
    const good = r.peers.filter((p) => p.peer === 'router');
    assert.deepEqual(
      good.map((p) => [p.node, p.address, p.asn, p.prefixes]),
      NET.nodes.map((n) => [
        n.name,
        NET.router.seg4,
        `${NET.nodeAsn}→${NET.router.asn}`,
        [{ prefix: `${ip}/32`, communities: ['65000:100'], largeCommunities: [] }],
      ]),
    );
    const bad = r.peers.filter((p) => p.peer === 'wrongasn');
    for (const p of bad) assert.match(p.reason ?? '', /AS|asn/i, JSON.stringify(p));
    assert.deepEqual(
      r.nodes.map((n) => n.bgp),
      ['', '', ''],
    );
    assert.match(r.verdict.find((v) => v.startsWith('BGP:')) ?? '', /^BGP: planned for 6 session\(s\), 3 established: /);
    assert.match(
      text,
      new RegExp(
        `^n1 +router +${NET.router.seg4.replaceAll('.', '\\.')} +.*established .*${ip.replaceAll('.', '\\.')}/32 communities 65000:100$`,
        'm',
      ),
    );
    // The router really holds the route: what explain planned is what was sent.
    assert.ok((cl.frr?.paths('ipv4', `${ip}/32`) ?? []).length > 0, 'FRR has the route');
  });

  it('NATS unreachable: the apiserver part, and it says so', async () => {
    const { report: r, text } = await explainUntil('ok explained without NATS', 'ok', (x) => !x.nats.reachable, { nats: false });
    assert.equal(r.allocation.pool, 'l2');
    assert.ok(r.election?.statusOwner, 'ServiceL2Status read from the apiserver');
    assert.match(r.verdict.at(-1) ?? '', /^speakers not asked: cannot connect to NATS/);
    assert.match(text, /the above is the apiserver's part only\n$/);
  });

  it('the owner killed: its speaker is silent, another node announces', async () => {
    const before = (await explain('ok')).report;
    const owner = before.election?.announcing[0] ?? '';
    const i = NET.nodes.findIndex((n) => n.name === owner);
    assert.ok(i >= 0, JSON.stringify(before.election));
    speakers[i]?.kill('SIGKILL');
    const { report: r, text } = await explainUntil(
      `ok taken over after ${owner}'s speaker was killed`,
      'ok',
      (x) => x.nats.silent.includes(owner) && (x.election?.announcing.length ?? 0) === 1 && !x.election?.announcing.includes(owner),
    );
    assert.deepEqual(r.nats.silent, [owner]);
    assert.equal(r.nodes.find((n) => n.name === owner)?.l2, 'speakerNotAnswering');
    assert.ok(!r.election?.order.includes(owner));
    assert.ok(r.verdict.includes(`no answer from the speaker on ${owner}`), JSON.stringify(r.verdict));
    assert.match(text, new RegExp(`^${owner} +silent +speakerNotAnswering`, 'm'));
  });
});
