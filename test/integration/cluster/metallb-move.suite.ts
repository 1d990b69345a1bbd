// Moving from MetalLB to Mooring on the shared real cluster (issue 15; docs/install.md "Moving from
// MetalLB"), measured as a user would do it: MetalLB installed from its own metallb-native.yaml
// (test/lib/metallb-native.ts: only its images replaced, built from the Go module proxy) answers
// an L2 Service; then the documented steps, the CRs and CRDs kept: by default the staged order
// (MetalLB's webhook and controller out, Mooring but its speakers in and Ready, then MetalLB's
// speakers out and Mooring's in), with MOORING_MOVE_ORDER=simple the simple one (MetalLB's webhook
// and workloads out, then `kubectl apply -f deploy/mooring.yaml`). Asserted: the Service keeps its IP, the
// node MetalLB elected answers it under Mooring (the same election order), and HTTP is answered
// again. The segment client's gap (from MetalLB's speakers stopping to Mooring's answering) and
// every answering node are printed, never asserted. Everything is removed afterwards, also on failure.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NET } from '../../lib/cluster.js';
import { electionHash } from '../../../src/domain/election.js';
import {
  applyConfig,
  arpOwner,
  backend,
  httpFrom,
  ingressOf,
  json,
  l2Config,
  lbService,
  MS,
  NS,
  nodeByMac,
  prepareInstall,
  PROBE_MS,
  READY_MS,
  SEL,
  uninstall,
  waitIngress,
  waitInstallReady,
  watchL2,
  type L2WatchResult,
} from '../../lib/install.js';
import { ensureMetallbNative, METALLB_IMAGE_REPO, METALLB_SEL, type MetallbNative } from '../../lib/metallb-native.js';
import type { ClusterSuite, RealCluster } from '../../lib/real-cluster.js';

/** docs/install.md's orders: `staged` (the default: Mooring's controller and NATS up before MetalLB's speakers stop) or `simple`. */
const ORDER = process.env.MOORING_MOVE_ORDER === 'simple' ? 'simple' : 'staged';

async function metallbLogs(c: RealCluster): Promise<string> {
  const out: string[] = [];
  for (const sel of [METALLB_SEL.controller, METALLB_SEL.speaker]) {
    const r = await c.kubectl(['logs', '-n', MS, '-l', sel, '--tail=20', '--prefix']);
    out.push(`${sel}:\n${r.stdout}${r.stderr}`);
  }
  return out.join('\n');
}

const suite: ClusterSuite = (rc) =>
  describe('moving from MetalLB: the same CRs, the same IP, the same node', { timeout: 20 * 60_000 }, () => {
    let yaml = '';
    let mlb: MetallbNative | undefined;
    let ip = '';
    let owner = '';

    before(async () => {
      const c = rc();
      yaml = await prepareInstall(c);
      mlb = await ensureMetallbNative();
      for (const path of mlb.images) await c.importImage({ path, baseName: METALLB_IMAGE_REPO });
      await c.ensureNamespace(NS);
      await c.kubectlOk(['apply', '-f', '-'], { input: backend });
    });

    after(async () => {
      const c = rc();
      // MetalLB's webhook first (with its controller gone it refuses everything), then Mooring's
      // uninstall (the namespace, the CRDs of both), then MetalLB's cluster-scoped leftovers.
      await c.kubectl(['delete', 'validatingwebhookconfiguration', 'metallb-webhook-configuration', '--ignore-not-found']);
      await uninstall(c, yaml);
      if (mlb) await c.kubectl(['delete', '-f', '-', '--ignore-not-found', '--timeout=120s'], { input: mlb.manifest, timeoutMs: 140_000 });
    });

    it('MetalLB installed from its own metallb-native.yaml answers an L2 Service', async () => {
      const c = rc();
      assert.ok(mlb);
      await c.kubectlOk(['apply', '-f', '-'], { input: mlb.manifest, timeoutMs: 120_000 });
      await Promise.all([
        c.waitPodsReady(MS, METALLB_SEL.controller, 1, READY_MS),
        c.waitPodsReady(MS, METALLB_SEL.speaker, c.nodes.length, READY_MS),
      ]).catch(async (e: Error) => {
        throw new Error(`${e.message}\n${await c.describePods(MS)}\n${await metallbLogs(c)}`);
      });
      await applyConfig(c, l2Config); // through MetalLB's webhook
      await c.waitPodsReady(NS, 'app=web', 2, READY_MS);
      await c.kubectlOk(['apply', '-f', '-'], { input: lbService('l2', 'l2-pool') });
      ip = await waitIngress(c, 'l2');
      const at = ip;
      // MetalLB's election: every speaker eligible, the lowest sha256(node#ip).
      owner = NET.nodes.map((n) => n.name).sort((a, b) => (electionHash(a, at) < electionHash(b, at) ? -1 : 1))[0] as string;
      await c.lab
        .waitFor(`${owner} answers ARP for ${ip} (MetalLB)`, () => nodeByMac(c.lab.arping(at)) === owner, READY_MS, 200)
        .catch(async (e: Error) => {
          throw new Error(`${e.message}\n${await metallbLogs(c)}`);
        });
      await c.lab.waitFor(`HTTP answer at ${ip} (MetalLB)`, () => httpFrom(c, 'client', at), READY_MS, 200);
      console.log(`# MetalLB ${mlb.version}: ${ip} answered by ${owner}`);
    });

    it(`replaced by Mooring as docs/install.md says (${ORDER} order): the IP does not change and the same node answers it`, async () => {
      const c = rc();
      assert.ok(ip && owner, 'needs the MetalLB install of the test above');
      const w = await watchL2(c, [ip], ip);
      let r: L2WatchResult | undefined;
      let t0 = Date.now();
      let stoppedAt: number | undefined;
      let done: number | undefined;
      try {
        await c.kubectlOk(['delete', 'validatingwebhookconfiguration', 'metallb-webhook-configuration']);
        if (ORDER === 'staged') {
          // docs/install.md, "Moving from MetalLB", the staged order: MetalLB's controller out
          // (its speakers keep answering), everything of Mooring but its speakers in and Ready, then
          // MetalLB's speakers out and Mooring's in.
          await c.kubectlOk(['delete', '-n', MS, 'deployment/controller', '--wait=true', '--timeout=120s'], { timeoutMs: 140_000 });
          await c.kubectlOk(['apply', '-f', '-', '-l', 'app.kubernetes.io/component!=speaker'], { input: yaml, timeoutMs: 120_000 });
          await Promise.all([c.waitPodsReady(MS, SEL.controller, 2, READY_MS), c.waitPodsReady(MS, SEL.nats, 3, READY_MS)]);
          t0 = Date.now();
          await c.kubectlOk(['delete', '-n', MS, 'daemonset/speaker', '--wait=true', '--timeout=120s'], { timeoutMs: 140_000 });
        } else {
          // The simple order: MetalLB's webhook and workloads out, the CRs kept, then Mooring in.
          await c.kubectlOk(['delete', '-n', MS, 'deployment/controller', 'daemonset/speaker', '--wait=true', '--timeout=120s'], {
            timeoutMs: 140_000,
          });
        }
        stoppedAt = Date.now();
        await c.kubectlOk(['apply', '-f', '-'], { input: yaml, timeoutMs: 120_000 });
        await waitInstallReady(c, true);
        await c.lab.waitFor(`${owner} answers ARP for ${ip} (Mooring)`, () => arpOwner(c, ip) === owner, READY_MS, 200);
        await c.lab.waitFor(`HTTP answer at ${ip} (Mooring)`, () => httpFrom(c, 'client', ip), READY_MS, 200);
        done = Date.now();
      } finally {
        r = await w.stop();
      }
      for (const [k, seq] of Object.entries(r.owners))
        console.log(
          `# MetalLB → Mooring (${ORDER} order): ${k} answered by ${seq.join(' → ')}; longest ARP gap ${r.maxGapMs[k]} ms (probe every ${PROBE_MS} ms): MetalLB's speakers stopping to Mooring's answering`,
        );
      console.log(
        `# MetalLB → Mooring (${ORDER} order): MetalLB's speakers deleted in ${(((stoppedAt ?? t0) - t0) / 1000).toFixed(1)} s, Mooring applied and answering ${(((done ?? 0) - (stoppedAt ?? 0)) / 1000).toFixed(1)} s later; ${r.probes} ARP probes, ${r.attempts} TCP attempts, ${r.failures.length} failed`,
      );
      assert.equal(await ingressOf(c, 'l2'), ip, 'the Service kept its IP');
      const statuses = await json<{ items: Array<{ status?: { node?: string }; metadata: { labels?: Record<string, string> } }> }>(c, [
        'get',
        'servicel2statuses',
        '-n',
        MS,
      ]);
      assert.deepEqual(
        statuses.items.filter((s) => s.metadata.labels?.['metallb.io/service-name'] === 'l2').map((s) => s.status?.node),
        [owner],
        'Mooring announces it from the node MetalLB did',
      );
      assert.equal(r.owners[ip]?.at(-1), owner);
    });
  });
export default suite;
