// Installing Mooring the way users will (issue 15), a suite of the shared real cluster
// (cluster.test.ts, docs/real-cluster.md): the product image built by `npm run image`
// (scripts/image.mjs, a cache hit when no source changed) is imported into every node, then
// `kubectl apply -f deploy/mooring.yaml` must bring every Pod Ready through its own probes, an L2
// Service must be answered at the segment client and a BGP Service routed by FRR; deleting the
// NATS Pods one at a time must move nothing; deleting the leading controller must not stop
// allocation; and a BGP-only install without NATS must announce without ever dialing NATS.
//
// ONE change to the manifest: its bundled NATS image `nats:2.10-alpine` cannot be pulled here (no
// registry), so it is replaced by a real nats-server of the same minor version built from the Go
// module proxy (test/lib/nats-image.ts, test/nats/go.mod). Nothing else is edited.
//
// Everything it creates (namespace metallb-system, the CRDs, the cluster-scoped RBAC and webhook
// configuration, the test namespace) is deleted afterwards, also on failure.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NET } from '../../lib/cluster.js';
import { electionHash } from '../../../src/domain/election.js';
import {
  applyConfig,
  bgpConfig,
  backend,
  httpFrom,
  json,
  l2Config,
  lbService,
  MS,
  nodeByMac,
  NS,
  podsOf,
  prepareInstall,
  READY_MS,
  SEL,
  speakerLogs,
  uninstall,
  waitIngress,
  waitInstallReady,
  withoutNats,
  recycleNatsPods,
  ISSUER_NS,
  arpOwner,
  drainNode,
  moves,
  nothingLeft,
  PROBE_MS,
  rollSpeakers,
  unexpectedMoves,
  watchL2,
  type L2WatchResult,
  type RestartWindow,
} from '../../lib/install.js';
import type { ClusterSuite, RealCluster } from '../../lib/real-cluster.js';

/** One line per watch: owners, the longest ARP gap (printed, never asserted) and TCP attempts. */
function report(what: string, r: L2WatchResult): void {
  for (const [ip, seq] of Object.entries(r.owners))
    console.log(`# ${what}: ${ip} answered by ${seq.join(' → ')}; longest ARP gap ${r.maxGapMs[ip]} ms (probe every ${PROBE_MS} ms)`);
  console.log(
    `# ${what}: ${r.probes} ARP probes (${r.dualAnswers} answered twice), ${r.attempts} TCP connection attempts, ${r.failures.length} lost${r.failures.length ? `: ${JSON.stringify(r.failures.slice(0, 5))}` : ''}, ${r.broken.length} established then reset${r.broken.length ? `: ${JSON.stringify(r.broken.slice(0, 5))}` : ''}`,
  );
}

/** The speakers' serviceIp transitions of one IP (for a failure's message). */
async function transitions(c: RealCluster, ip: string): Promise<string> {
  const lines = (await speakerLogs(c, 2000)).split('\n').filter((l) => l.includes(`"${ip}"`));
  return lines.slice(-60).join('\n');
}

const suite: ClusterSuite = (rc) =>
  describe('install: deploy/mooring.yaml as real Pods', { timeout: 20 * 60_000 }, () => {
    let yaml = '';
    let l2Ip = '';
    let l2Owner = '';
    let afterIp = '';

    before(async () => {
      const c = rc();
      yaml = await prepareInstall(c);
      await c.ensureNamespace(NS);
      await c.kubectlOk(['apply', '-f', '-'], { input: backend });
    });

    after(async () => {
      await uninstall(rc(), yaml);
    });

    it('kubectl apply -f deploy/mooring.yaml: every Pod Ready through its own probes', async () => {
      const c = rc();
      await c.kubectlOk(['apply', '-f', '-'], { input: yaml, timeoutMs: 120_000 });
      await waitInstallReady(c, true);
      // The probes are the manifest's own (nothing here marks a Pod Ready).
      const ds = await json<{ spec: { template: { spec: { dnsPolicy?: string; containers: Array<{ readinessProbe?: unknown }> } } } }>(c, [
        'get',
        'daemonset',
        '-n',
        MS,
        'speaker',
      ]);
      assert.equal(ds.spec.template.spec.dnsPolicy, 'ClusterFirstWithHostNet');
      assert.ok(ds.spec.template.spec.containers[0]?.readinessProbe);
      const speakers = await podsOf(c, SEL.speaker);
      assert.deepEqual(speakers.map((p) => p.spec.nodeName).sort(), c.nodes.map((n) => n.name).sort());
    });

    it('speakers cannot read the NATS issuer keys: kubectl auth can-i as their ServiceAccount, and a request with its token', async () => {
      const c = rc();
      // The controller made the keys in their own namespace, and not where speakers read Secrets.
      await c.lab.waitFor(
        `Secret ${ISSUER_NS}/mooring-nats-issuer created by the controller`,
        async () => (await c.kubectl(['get', 'secret', '-n', ISSUER_NS, 'mooring-nats-issuer'])).code === 0,
        READY_MS,
        500,
      );
      assert.notEqual((await c.kubectl(['get', 'secret', '-n', MS, 'mooring-nats-issuer'])).code, 0);
      const can = async (sa: string, ...args: string[]) =>
        (await c.kubectl(['auth', 'can-i', ...args, `--as=system:serviceaccount:${MS}:${sa}`])).stdout.trim();
      assert.equal(await can('speaker', 'get', 'secret/mooring-nats-issuer', '-n', ISSUER_NS), 'no');
      assert.equal(await can('speaker', 'list', 'secrets', '-n', ISSUER_NS), 'no');
      assert.equal(await can('speaker', 'watch', 'secrets', '-n', ISSUER_NS), 'no');
      // What they do read: the Secrets of metallb-system (BGPPeer passwords, as MetalLB's speakers).
      assert.equal(await can('speaker', 'list', 'secrets', '-n', MS), 'yes');
      assert.equal(await can('controller', 'get', 'secret/mooring-nats-issuer', '-n', ISSUER_NS), 'yes');
      // A real request with a token of the speaker's ServiceAccount (the kubeconfig's admin token replaced).
      const token = (await c.kubectlOk(['create', 'token', 'speaker', '-n', MS, '--duration=10m'])).trim();
      const asSpeaker = (args: string[]) => c.kubectl([...args, `--token=${token}`]);
      const denied = await asSpeaker(['get', 'secret', '-n', ISSUER_NS, 'mooring-nats-issuer']);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /forbidden/i);
      const allowed = await asSpeaker(['get', 'secrets', '-n', MS, '-o', 'name']);
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.ok(!allowed.stdout.includes('mooring-nats-issuer'), allowed.stdout);
    });

    it('an L2 Service gets an IP and is answered at the segment client', async () => {
      const c = rc();
      // The webhook (failurePolicy: Fail, certificate managed by the controller) must admit config.
      const admitted = await applyConfig(c, l2Config + '---\n' + bgpConfig);
      if (admitted.webhookRefusals)
        console.log(`# the webhook refused the configuration ${admitted.webhookRefusals} time(s) before admitting it`);
      await c.waitPodsReady(NS, 'app=web', 2, READY_MS);
      await c.kubectlOk(['apply', '-f', '-'], { input: lbService('l2', 'l2-pool') });
      l2Ip = await waitIngress(c, 'l2');
      assert.ok(l2Ip.startsWith('203.0.113.'), l2Ip);
      // The first node to hear the Service may announce it alone before its peers are up (their
      // NATS links come up in any order), then hand it to the election's owner: wait for that one
      // (every node eligible, no preference, none cordoned: the lowest sha256(node#ip), as MetalLB).
      const ip = l2Ip;
      const expected = NET.nodes.map((n) => n.name).sort((a, b) => (electionHash(a, ip) < electionHash(b, ip) ? -1 : 1))[0] as string;
      await c.lab
        .waitFor(
          `${expected} (the election's owner) answers ARP for ${l2Ip}`,
          () => nodeByMac(c.lab.arping(ip)) === expected,
          READY_MS,
          200,
        )
        .catch(async (e: Error) => {
          throw new Error(`${e.message}\nspeakers:\n${await speakerLogs(c)}`);
        });
      // ...and until the others have stopped (an earlier owner hands the IP over when the
      // election's owner comes up): the tests below watch the owner alone.
      await c.lab
        .waitFor(
          `only ${expected} announces ${l2Ip} (the speakers' last serviceIp transitions)`,
          async () => {
            const last = new Map<string, string>();
            for (const l of (await speakerLogs(c, 2000)).split('\n')) {
              if (!l.includes('"serviceIp.transition"') || !l.includes(`"ip":"${ip}"`)) continue;
              const m = /"node":"([^"]+)".*"to":"([^"]+)"/.exec(l);
              if (m?.[1] && m[2]) last.set(m[1], m[2]);
            }
            return [...last].every(([node, to]) => (node === expected) === (to === 'announcing'));
          },
          READY_MS,
          500,
        )
        .catch(async (e: Error) => {
          throw new Error(`${e.message}\n${await transitions(c, ip)}`);
        });
      // A fresh install never answers from two nodes at once: a later owner takes the IP over with
      // a higher epoch. (Speakers that connect before the NATS servers have clustered hear only
      // the peers on their own server; each would announce at epoch 1 — seen before the first
      // takeover waited for the cluster, the natsPath machine's awaitingStore.)
      const announced = new Map<number, Set<string>>();
      for (const l of (await speakerLogs(c, 2000)).split('\n')) {
        if (!l.includes('"serviceIp.transition"') || !l.includes(`"ip":"${ip}"`) || !l.includes('"to":"announcing"')) continue;
        const node = /"node":"([^"]+)"/.exec(l)?.[1];
        const epoch = Number(/"epoch":(\d+)/.exec(l)?.[1]);
        if (node) announced.set(epoch, (announced.get(epoch) ?? new Set()).add(node));
      }
      assert.ok(announced.size > 0, `no announcing transition of ${ip} in the speakers' logs`);
      for (const [epoch, nodes] of announced)
        assert.equal(nodes.size, 1, `${ip} announced at epoch ${epoch} by ${[...nodes].join(', ')}\n${await transitions(c, ip)}`);
      l2Owner = expected;
      const web = (await c.waitPodsReady(NS, 'app=web', 2)).map((p) => p.metadata.name);
      const answer = await c.lab.waitFor(
        `HTTP answer at ${l2Ip} from the segment client`,
        () => httpFrom(c, 'client', l2Ip),
        READY_MS,
        200,
      );
      assert.ok(web.includes(answer), `${answer} is not one of ${web.join(', ')}`);
    });

    it('a BGP Service is routed by FRR through every node', async () => {
      const c = rc();
      await c.kubectlOk(['apply', '-f', '-'], { input: lbService('bgp', 'bgp-pool') });
      const ip = await waitIngress(c, 'bgp');
      const all = NET.nodes.map((n) => n.v4).sort();
      await c.lab
        .waitFor(`3 next hops for ${ip} in the router`, () => c.lab.routerNextHops(ip).join() === all.join(), READY_MS, 200)
        .catch(async (e: Error) => {
          throw new Error(
            `${e.message}; hops ${JSON.stringify(c.lab.routerNextHops(ip))}; FRR: ${JSON.stringify(c.lab.vtyshJson('show bgp ipv4 unicast summary json'))}\nspeakers:\n${await speakerLogs(c)}`,
          );
        });
      const web = (await c.waitPodsReady(NS, 'app=web', 2)).map((p) => p.metadata.name);
      const answer = await c.lab.waitFor(`HTTP answer at ${ip} from the external client`, () => httpFrom(c, 'ext', ip), READY_MS, 200);
      assert.ok(web.includes(answer), `${answer} is not one of ${web.join(', ')}`);
    });

    it('deleting the NATS Pods one at a time moves nothing (the L2 owner answers ARP throughout)', async () => {
      const c = rc();
      assert.ok(l2Ip && l2Owner, 'needs the L2 Service of the test above');
      const seen = new Set<string>();
      const look = () => {
        const mac = c.lab.arping(l2Ip);
        if (mac) seen.add(nodeByMac(mac) ?? mac);
      };
      // The StatefulSet recreates each; the ARP owner is watched until the new server is Ready.
      await recycleNatsPods(c, look);
      await waitInstallReady(c, true);
      look();
      if (seen.size !== 1 || !seen.has(l2Owner)) {
        const logs = (await speakerLogs(c, 400))
          .split('\n')
          .filter((l) => /membership|serviceIp transition|nats|coord/.test(l))
          .slice(-80)
          .join('\n');
        assert.fail(`ARP answers for ${l2Ip} came from ${[...seen].join(', ')}; owner was ${l2Owner}\nspeakers:\n${logs}`);
      }
      const statuses = await json<{ items: Array<{ status?: { node?: string }; metadata: { labels?: Record<string, string> } }> }>(c, [
        'get',
        'servicel2statuses',
        '-n',
        MS,
      ]);
      const mine = statuses.items.filter((s) => s.metadata.labels?.['metallb.io/service-name'] === 'l2');
      assert.deepEqual(
        mine.map((s) => s.status?.node),
        [l2Owner],
      );
    });

    it('deleting the leading controller Pod: a new Service still gets an IP', async () => {
      const c = rc();
      const lease = await json<{ spec: { holderIdentity?: string } }>(c, ['get', 'lease', '-n', MS, 'mooring-controller']);
      const holder = lease.spec.holderIdentity ?? '';
      const leader = (await podsOf(c, SEL.controller)).find((p) => holder.startsWith(`${p.metadata.name}_`));
      assert.ok(leader, `no controller Pod holds the lease (${holder})`);
      await c.kubectlOk(['delete', 'pod', '-n', MS, leader.metadata.name, '--wait=false']);
      await c.kubectlOk(['apply', '-f', '-'], { input: lbService('after-leader', 'l2-pool') });
      const ip = await waitIngress(c, 'after-leader');
      assert.notEqual(ip, l2Ip);
      afterIp = ip;
      await c.lab.waitFor(`a node answers ARP for ${ip}`, () => arpOwner(c, ip), READY_MS, 200);
      const now = await json<{ spec: { holderIdentity?: string } }>(c, ['get', 'lease', '-n', MS, 'mooring-controller']);
      assert.ok(!(now.spec.holderIdentity ?? '').startsWith(`${leader.metadata.name}_`), 'the deleted Pod still holds the lease');
    });

    it('a DaemonSet rolling update to a new image tag: no IP moves except off the restarting node, no lost connection', async () => {
      const c = rc();
      assert.ok(l2Ip && l2Owner && afterIp, 'needs the L2 Services of the tests above');
      const owner: Record<string, string | undefined> = { [l2Ip]: l2Owner, [afterIp]: arpOwner(c, afterIp) };
      assert.ok(owner[afterIp], `nobody answers ARP for ${afterIp}`);
      const w = await watchL2(c, [l2Ip, afterIp], l2Ip);
      let r: L2WatchResult | undefined;
      let windows: Record<string, RestartWindow> = {};
      try {
        windows = await rollSpeakers(c, '0.1.0-rolled');
        // Each restarted owner takes its IP back (the same election order): wait for both.
        await c.lab.waitFor(
          'every IP answered by its owner again',
          () => [l2Ip, afterIp].every((ip) => arpOwner(c, ip) === owner[ip]),
          READY_MS,
          200,
        );
      } finally {
        r = await w.stop();
      }
      report('rolling update', r);
      // An IP leaves a node only while that node restarts, or goes to a node ahead in its election order (taken back).
      assert.deepEqual(
        [l2Ip, afterIp].flatMap((ip) => unexpectedMoves(ip, r.timeline[ip] ?? [], windows)),
        [],
        `restarts: ${JSON.stringify(windows)}`,
      );
      for (const ip of [l2Ip, afterIp]) assert.ok((r.owners[ip] ?? []).length > 1, `${ip} never moved: nothing was tested`);
      assert.deepEqual(r.failures, [], 'lost TCP connection attempts');
    });

    it('kubectl drain of the owner node hands its IPs over with no lost connection; uncordon takes them back', async () => {
      const c = rc();
      assert.ok(l2Ip && l2Owner);
      await waitInstallReady(c, true);
      const w = await watchL2(c, [l2Ip], l2Ip);
      let r: L2WatchResult | undefined;
      try {
        await drainNode(c, l2Owner);
        await c.lab.waitFor(`${l2Ip} answered by another node`, () => (arpOwner(c, l2Ip) ?? l2Owner) !== l2Owner, READY_MS, 200);
      } finally {
        r = await w.stop();
      }
      report(`kubectl drain ${l2Owner}`, r);
      const m = moves(r.owners[l2Ip] ?? []);
      if (m.length !== 1) console.log(await transitions(c, l2Ip));
      assert.equal(m.length, 1, `${l2Ip}: ${(r.owners[l2Ip] ?? []).join(' → ')}`);
      assert.equal(m[0]?.[0], l2Owner);
      assert.deepEqual(r.failures, [], 'lost TCP connection attempts');

      const back = await watchL2(c, [l2Ip], l2Ip);
      let b: L2WatchResult | undefined;
      try {
        await c.kubectlOk(['uncordon', l2Owner]);
        await c.lab.waitFor(`${l2Owner} answers for ${l2Ip} again`, () => arpOwner(c, l2Ip) === l2Owner, READY_MS, 200);
      } finally {
        b = await back.stop();
      }
      report(`kubectl uncordon ${l2Owner}`, b);
      assert.deepEqual(b.failures, [], 'lost TCP connection attempts');
      await waitInstallReady(c, true);
    });

    it('plain kubectl delete -f deploy/mooring.yaml removes everything and leaves nothing stuck or refusing', async () => {
      const c = rc();
      const t0 = performance.now();
      // What a user types, with the config objects and Services still there.
      const r = await c.kubectl(['delete', '-f', '-', '--timeout=300s'], { input: yaml, timeoutMs: 320_000 });
      assert.equal(r.code, 0, `kubectl delete -f failed: ${r.stderr}`);
      await c.lab.waitFor(`namespace ${MS} deleted`, async () => (await c.kubectl(['get', 'namespace', MS])).code !== 0, READY_MS, 500);
      await nothingLeft(c);
      console.log(`# kubectl delete -f deploy/mooring.yaml: everything gone in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      // Nothing refuses or holds what was left: the Services that had IPs, and their namespace, delete.
      await c.kubectlOk(['delete', 'namespace', NS, '--timeout=120s'], { timeoutMs: 140_000 });
    });

    it('a BGP-only install without NATS announces; speakers never dial NATS', async () => {
      const c = rc();
      await uninstall(c, yaml);
      const bgpOnly = withoutNats(yaml);
      assert.ok(!bgpOnly.includes('kind: StatefulSet'), 'the NATS StatefulSet is still in the BGP-only manifest');
      await c.ensureNamespace(NS);
      await c.kubectlOk(['apply', '-f', '-'], { input: backend });
      await c.kubectlOk(['apply', '-f', '-'], { input: bgpOnly, timeoutMs: 120_000 });
      await waitInstallReady(c, false);
      await applyConfig(c, bgpConfig);
      await c.kubectlOk(['apply', '-f', '-'], { input: lbService('bgp', 'bgp-pool') });
      const ip = await waitIngress(c, 'bgp');
      const all = NET.nodes.map((n) => n.v4).sort();
      await c.lab
        .waitFor(`3 next hops for ${ip} in the router`, () => c.lab.routerNextHops(ip).join() === all.join(), READY_MS, 200)
        .catch(async (e: Error) => {
          throw new Error(`${e.message}; hops ${JSON.stringify(c.lab.routerNextHops(ip))}\nspeakers:\n${await speakerLogs(c)}`);
        });
      await c.waitPodsReady(NS, 'app=web', 2, READY_MS);
      await c.lab.waitFor(`HTTP answer at ${ip} from the external client`, () => httpFrom(c, 'ext', ip), READY_MS, 200);
      // Every speaker log line so far: none is about NATS (the speaker logs `nats.wanted` before its
      // first dial and `nats.*` for every connection event).
      const logs = await speakerLogs(c, -1);
      assert.ok(logs.split('\n').filter(Boolean).length >= c.nodes.length, `no speaker logs: ${logs}`);
      const natsLines = logs.split('\n').filter((l) => /"event":"nats\./.test(l));
      assert.deepEqual(natsLines, []);
      await uninstall(c, bgpOnly);
    });
  });
export default suite;
