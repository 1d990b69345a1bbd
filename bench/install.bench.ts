// bench:install (issue 15): deploy/mooring.yaml on the real cluster (test/lib/real-cluster.ts, 3
// real kubelets), with the install of test/lib/install.ts (the bundled NATS image replaced by a
// nats-server 2.10 built from the Go module proxy: no registry here). Measures
//   applyToFirstReachableS       `kubectl apply -f deploy/mooring.yaml` → the first L2 Service answers
//                                 HTTP at the segment client (config applied as soon as the webhook
//                                 admits it; the backend Deployment runs before the apply)
//   natsPodDeleteOwnershipChanges owner changes of that Service's IP (ARP from the segment client)
//                                 while the 3 NATS Pods are deleted one at a time, from the
//                                 election's owner on (the speakers' logs kept when it is not 0)
//   imageMB                       size of the `npm run image` OCI archive
//   speakerPodRssMB               largest speaker process RSS (VmRSS) in its Pod, after the above
//   rollingUpgradeMaxGapMs        a DaemonSet rolling update of the speakers to a new image tag (the
//                                 image re-tagged in each node's containerd): the longest run of
//                                 unanswered ARP probes (one every 10 ms from the segment client) for
//                                 the Service IPs, while a new TCP connection is opened every 20 ms
//   drainLostConnections          `kubectl drain` of the first Service's owner node: TCP connection
//                                 attempts (one every 20 ms) never established while its IP moved (those
//                                 established and then reset in flight are counted apart); then uncordon
// Run under the integration lock: flock /tmp/mooring-integration.lock npm run bench:install
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { electionHash } from '../src/domain/election.js';
import { NET } from '../test/lib/cluster.js';
import {
  applyConfig,
  backend,
  httpFrom,
  IMAGE_TAR,
  l2Config,
  lbService,
  nodeByMac,
  NS,
  prepareInstall,
  READY_MS,
  uninstall,
  waitIngress,
  waitInstallReady,
  recycleNatsPods,
  arpOwner,
  drainNode,
  moves,
  PROBE_MS,
  rollSpeakers,
  speakerLogs,
  watchL2,
  type L2WatchResult,
} from '../test/lib/install.js';
import { RealCluster } from '../test/lib/real-cluster.js';

const c = await RealCluster.start({ frr: false });
let yaml = '';
try {
  yaml = await prepareInstall(c);
  await c.ensureNamespace(NS);
  await c.kubectlOk(['apply', '-f', '-'], { input: backend });
  await c.waitPodsReady(NS, 'app=web', 2, READY_MS);

  const t0 = performance.now();
  await c.kubectlOk(['apply', '-f', '-'], { input: yaml, timeoutMs: 120_000 });
  // As a user would: retry the config until the webhook (certificate made by the controller) admits it.
  await applyConfig(c, l2Config);
  await c.kubectlOk(['apply', '-f', '-'], { input: lbService('l2', 'l2-pool') });
  const ip = await waitIngress(c, 'l2');
  await c.lab.waitFor(`HTTP answer at ${ip}`, () => httpFrom(c, 'client', ip), READY_MS, 100);
  const applyToFirstReachableS = (performance.now() - t0) / 1000;
  await waitInstallReady(c, true);
  // The first node to hear the Service may announce it alone before its peers' NATS links are up,
  // then hand it to the election's owner: start from that owner (as the install suite does).
  const elected = NET.nodes.map((n) => n.name).sort((a, b) => (electionHash(a, ip) < electionHash(b, ip) ? -1 : 1))[0];
  await c.lab.waitFor(`${elected} (the election's owner) answers ARP for ${ip}`, () => arpOwner(c, ip) === elected, READY_MS, 100);

  const owners: string[] = [];
  const look = () => {
    const mac = c.lab.arping(ip);
    const who = mac ? (nodeByMac(mac) ?? mac) : undefined;
    if (who && owners.at(-1) !== who) owners.push(who);
  };
  look();
  await recycleNatsPods(c, look);
  look();
  const natsPodDeleteOwnershipChanges = Math.max(0, owners.length - 1);
  let natsLog = '';
  if (natsPodDeleteOwnershipChanges > 0) {
    // What the speakers judged meanwhile (membership verdicts, NATS path, serviceIp transitions).
    natsLog = join(tmpdir(), `mooring-bench-install-nats-${process.pid}.log`);
    writeFileSync(natsLog, await speakerLogs(c, 3000));
  }

  // Speaker processes: the Pods' processes whose command line is the speaker's.
  const rss = c
    .processes()
    .filter((p) => p.role.endsWith('/pod'))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p.pid}/cmdline`, 'utf8')
          .split('\0')
          .some((a) => a === 'speaker' || a.endsWith('/speaker.mjs'));
      } catch {
        return false;
      }
    })
    .map((p) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024);
  if (rss.length < c.nodes.length) throw new Error(`found ${rss.length} speaker processes, want ${c.nodes.length}`);
  const speakerPodRssMB = Math.max(...rss);
  const imageMB = statSync(IMAGE_TAR).size / 1e6;

  // A second IP (on another owner if the hash order gives one), then the rolling update.
  await c.kubectlOk(['apply', '-f', '-'], { input: lbService('l2b', 'l2-pool') });
  const ip2 = await waitIngress(c, 'l2b');
  await c.lab.waitFor(`a node answers ARP for ${ip2}`, () => arpOwner(c, ip2), READY_MS, 100);
  const ips = [ip, ip2];
  const owner = Object.fromEntries(ips.map((x) => [x, arpOwner(c, x)]));
  const roll = await watchL2(c, ips, ip);
  let rolled: L2WatchResult;
  try {
    await rollSpeakers(c, '0.1.0-rolled');
    await c.lab.waitFor('every IP answered by its owner again', () => ips.every((x) => arpOwner(c, x) === owner[x]), READY_MS, 100);
  } finally {
    rolled = await roll.stop();
  }
  const rollingUpgradeMaxGapMs = Math.max(...ips.map((x) => rolled.maxGapMs[x] ?? 0));
  const rollMoves = ips.flatMap((x) => moves(rolled.owners[x] ?? []).map(([a, b]) => `${x}: ${a} → ${b}`));

  // kubectl drain of the first IP's owner, then uncordon.
  await waitInstallReady(c, true);
  const victim = owner[ip] as string;
  const drain = await watchL2(c, [ip], ip);
  let drained: L2WatchResult;
  try {
    await drainNode(c, victim);
    await c.lab.waitFor(`${ip} answered by another node`, () => (arpOwner(c, ip) ?? victim) !== victim, READY_MS, 100);
  } finally {
    drained = await drain.stop();
  }
  await c.kubectlOk(['uncordon', victim]);
  await c.lab.waitFor(`${victim} answers for ${ip} again`, () => arpOwner(c, ip) === victim, READY_MS, 100);
  const drainLostConnections = drained.failures.length;
  let drainLog = '';
  if (moves(drained.owners[ip] ?? []).length > 1) {
    // The drain moved the IP more than once: keep what the speakers judged meanwhile.
    drainLog = join(tmpdir(), `mooring-bench-install-drain-${process.pid}.log`);
    writeFileSync(drainLog, await speakerLogs(c, 3000));
  }

  console.log('bench:install — deploy/mooring.yaml on 3 real kubelets (containerd + runc), NATS 2.10 from the Go module proxy');
  console.log(`  apply → first L2 Service reachable   ${applyToFirstReachableS.toFixed(1)} s   target ≤ 60 s`);
  console.log(
    `  NATS Pods deleted one at a time       ${natsPodDeleteOwnershipChanges} owner changes (${owners.join(' → ')})   target 0${natsLog ? ` (speaker logs: ${natsLog})` : ''}`,
  );
  console.log(`  image (OCI archive)                   ${imageMB.toFixed(1)} MB   target ≤ 250 MB`);
  console.log(`  speaker RSS (largest of ${rss.length})          ${speakerPodRssMB.toFixed(1)} MB`);
  console.log(
    `  rolling update, longest ARP gap         ${rollingUpgradeMaxGapMs} ms   target ≤ 100 ms   (probe every ${PROBE_MS} ms; ${rolled.probes} probes, ${rolled.dualAnswers} answered twice; moves: ${rollMoves.join(', ') || 'none'}; ${rolled.failures.length} of ${rolled.attempts} TCP connection attempts lost, ${rolled.broken.length} established ones reset in flight)`,
  );
  console.log(
    `  kubectl drain ${victim}, lost connections  ${drainLostConnections} of ${drained.attempts}   target 0   (${ip}: ${(drained.owners[ip] ?? []).join(' → ')}; longest ARP gap ${drained.maxGapMs[ip]} ms; ${drained.broken.length} established connections reset in flight)${drainLog ? ` (speaker logs: ${drainLog})` : ''}`,
  );
  console.log(
    JSON.stringify({
      applyToFirstReachableS: Number(applyToFirstReachableS.toFixed(1)),
      rollingUpgradeMaxGapMs,
      drainLostConnections,
      drainResetInFlight: drained.broken.length,
      rollingUpgradeLostConnections: rolled.failures.length,
      natsPodDeleteOwnershipChanges,
      imageMB: Number(imageMB.toFixed(1)),
      speakerPodRssMB: Number(speakerPodRssMB.toFixed(1)),
    }),
  );
} finally {
  try {
    await uninstall(c, yaml);
  } finally {
    await c.stop();
  }
}
