// The controller (src/bin/controller.ts) against the real apiserver, running with the
// ServiceAccount token and RBAC from deploy/ (deploy/rbac/controller.yaml): IP assignment, the
// pool annotation and Event, LB -> ClusterIP -> LB, a deleted service's IP reused, and a
// controller restart that moves nothing; the validating webhook registered in the apiserver
// (url + caBundle, certificate made with openssl for the controller's address); two replicas
// under the Lease: SIGKILL of the leader, the standby takes over and moves nothing; SIGTERM
// releases the lease. The apiserver runs in one namespace; the controllers and the admin client
// in another, across a bridge (never from the root namespace).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { ensureKubeBinary, kubeconfig, runTs, startKube, type Kube } from '../../lib/kube.js';

const CLIENT = new URL('./controller.client.ts', import.meta.url).pathname;
const CONTROLLER = new URL('../../../src/bin/controller.ts', import.meta.url).pathname;
const APPS = 'kb-apps';
const POOL = [
  '198.51.100.240',
  '198.51.100.241',
  '198.51.100.242',
  '198.51.100.243',
  '198.51.100.244',
  '198.51.100.245',
  '198.51.100.246',
  '198.51.100.247',
];

type View = { ips: string[]; pool?: string };
const CL_IP = '198.51.100.194';
/** Short lease timings for the test (the defaults are client-go's 15 s / 10 s / 2 s). */
const LEASE = ['--lease-duration', '8s', '--lease-renew-deadline', '6s', '--lease-retry', '1s'];

/** A CA and a serving certificate for `ip` (the webhook's address as the apiserver dials it). */
function makeWebhookCert(dir: string, ip: string): { ca: string; cert: string; key: string } {
  const f = (n: string) => join(dir, n);
  const ossl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  ossl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=mooring-test-webhook-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
    '-keyout',
    f('wh-ca.key'),
    '-out',
    f('wh-ca.crt'),
  );
  ossl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    '/CN=mooring-webhook',
    '-keyout',
    f('wh-tls.key'),
    '-out',
    f('wh-tls.csr'),
  );
  writeFileSync(f('wh-ext.cnf'), `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth\n`);
  ossl(
    'x509',
    '-req',
    '-in',
    f('wh-tls.csr'),
    '-CA',
    f('wh-ca.crt'),
    '-CAkey',
    f('wh-ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    f('wh-ext.cnf'),
    '-out',
    f('wh-tls.crt'),
  );
  return { ca: f('wh-ca.crt'), cert: f('wh-tls.crt'), key: f('wh-tls.key') };
}

describe('controller against the real apiserver, with the RBAC from deploy/', { timeout: 75 * 60_000 }, () => {
  const lab = new Lab('kb');
  let kube: Kube | undefined;
  let cl: Netns;
  let ctlConfig = '';
  let certs: { ca: string; cert: string; key: string };
  /** Controller replicas by name; `main` is the one most tests use. */
  const ctls = new Map<string, { p: ChildProcess; log: string }>();
  const logOf = (name: string) => ctls.get(name)?.log ?? '';
  let ctlLog = '';
  const allLogs = (n: number) =>
    [...ctls].map(([name, c]) => `--- controller ${name} (tail) ---\n${c.log.slice(-n)}`).join('\n') || ctlLog.slice(-n);

  async function client(step: string, ...args: string[]): Promise<Record<string, unknown>> {
    assert.ok(kube);
    const r = await runTs(cl, CLIENT, [step, APPS, ...args], kube.env, 240_000);
    assert.equal(r.code, 0, `client ${step} failed:\n${r.stderr}\n${r.stdout}\n${allLogs(4000)}`);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  }

  /** Starts a replica; `main` serves metrics on 7472 and the webhook on 9443, others on the next ports. */
  async function startController(name = 'main', index = 0): Promise<void> {
    const p = cl.spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CONTROLLER,
        '--metrics-port',
        String(7472 + index),
        '--webhook-port',
        String(9443 + index),
        '--webhook-cert',
        certs.cert,
        '--webhook-key',
        certs.key,
        ...LEASE,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, KUBECONFIG: ctlConfig, POD_NAME: `controller-${name}` },
      },
    );
    const c = { p, log: '' };
    ctls.set(name, c);
    p.stderr?.setEncoding('utf8').on('data', (d: string) => {
      c.log += d;
      if (name === 'main') ctlLog += d;
    });
    await waitFor(
      `controller ${name} informers synced`,
      () => {
        if (p.exitCode !== null) throw new Error(`controller ${name} exited ${p.exitCode}:\n${c.log.slice(-3000)}`);
        return c.log.includes('"controller.synced"');
      },
      120_000,
      100,
    );
  }

  /** Runs a test body; on failure the controllers' log tails go into the error (flakes are diagnosable). */
  const withLog = (fn: () => Promise<void>) => async () => {
    try {
      await fn();
    } catch (e) {
      if (e instanceof Error) e.message += `\n${allLogs(6000)}`;
      throw e;
    }
  };

  async function stopController(name = 'main', signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = ctls.get(name);
    if (!c || c.p.exitCode !== null || c.p.signalCode !== null) return;
    const done = new Promise((r) => c.p.once('exit', r));
    c.p.kill(signal);
    await done;
  }

  before(async () => {
    requireRoot();
    requireTools('ip', 'openssl');
    await ensureKubeBinary();
    const sw = lab.netns('sw');
    const api = lab.netns('api');
    cl = lab.netns('cl');
    const br = lab.bridge(sw, 'br0');
    lab.link(api, 'eth0', sw, br, ['198.51.100.193/27']);
    lab.link(cl, 'eth0', sw, br, ['198.51.100.194/27']);
    kube = await startKube({ netns: api, host: '198.51.100.193' });
    const setup = await client('setup');
    assert.equal(typeof setup.token, 'string', 'no controller token');
    ctlConfig = join(kube.dataDir, 'controller.kubeconfig');
    writeFileSync(ctlConfig, kubeconfig(kube.url, kube.caPem, setup.token as string, 'controller'), { mode: 0o600 });
    certs = makeWebhookCert(kube.dataDir, CL_IP);
    await startController();
  });

  after(async () => {
    // MOORING_TEST_LOG_DIR=dir keeps every replica's full log (debugging a flake).
    const keep = process.env.MOORING_TEST_LOG_DIR;
    if (keep) for (const [name, c] of ctls) writeFileSync(join(keep, `controller-${name}.log`), c.log);
    try {
      for (const name of ctls.keys()) await stopController(name);
    } finally {
      try {
        await kube?.destroy();
      } finally {
        await lab.cleanup();
      }
    }
  });

  let first: Record<string, View>;

  it(
    "assigns, clears on ClusterIP, reuses a deleted service's IP (deploy/ RBAC is enough)",
    withLog(async () => {
      const r = await client('assign');
      first = r as Record<string, View>;
      const a1 = r.a1 as View;
      assert.deepEqual(a1, { ips: [POOL[0]], pool: 'kb-pool' });
      assert.deepEqual(r.events, { reason: 'IPAllocated', type: 'Normal', message: `Assigned IP ["${POOL[0]}"]` });
      assert.deepEqual(r.aCluster, { ips: [] });
      // b takes the lowest free address: the one a released.
      assert.deepEqual(r.b, { ips: [POOL[0]], pool: 'kb-pool' });
      assert.deepEqual(r.a2, { ips: [POOL[1]], pool: 'kb-pool' });
      // c after b's deletion: b's address again.
      assert.deepEqual(r.c, { ips: [POOL[0]], pool: 'kb-pool' });
      // Nothing was refused by RBAC along the way.
      assert.doesNotMatch(ctlLog, /"code":403|forbidden/i);
    }),
  );

  it(
    'a controller restart moves nothing',
    withLog(async () => {
      assert.ok(first);
      await stopController();
      await startController();
      const r = await client('after-restart');
      assert.deepEqual(r.a, first.a2);
      assert.deepEqual(r.c, first.c);
      assert.deepEqual(r.d, { ips: [POOL[2]], pool: 'kb-pool' });
      assert.match(ctlLog, /"event":"reclaim"[^\n]*"kept":2/);
    }),
  );

  let feats: Record<string, View>;

  it(
    'honours address-pool, loadBalancerIPs, RequireDualStack and loadBalancerClass',
    withLog(async () => {
      feats = (await client('features')) as Record<string, View>;
      assert.deepEqual(feats.manual, { ips: ['198.51.100.232'], pool: 'kb-manual' });
      assert.deepEqual(feats.requested, { ips: ['198.51.100.246'], pool: 'kb-pool' });
      assert.deepEqual(feats.dual, { ips: [POOL[3], '2001:db8:40::'], pool: 'kb-pool' });
      assert.deepEqual(feats.otherClass, { ips: [] });
    }),
  );

  it(
    'survives an apiserver restart on the same data: nothing lost, new services still served',
    withLog(async () => {
      assert.ok(kube && feats);
      const before = await client('view');
      await kube.restart();
      const r = (await client('after-api-restart')) as Record<string, View>;
      for (const n of ['a', 'c', 'd']) assert.deepEqual(r[n], (before as Record<string, View>)[n], n);
      for (const n of ['manual', 'requested', 'dual']) assert.deepEqual(r[n], feats[n], n);
      assert.deepEqual(r.e, { ips: [POOL[4]], pool: 'kb-pool' });
    }),
  );

  it(
    'reports an invalid config in ConfigurationState and /metrics, keeps serving from the last valid one',
    withLog(async () => {
      const r = (await client('config-state')) as Record<string, { result?: string; errorSummary?: string } | View | number | undefined>;
      assert.deepEqual(r.valid, { result: 'Valid', errorSummary: '', conditions: (r.valid as { conditions?: unknown }).conditions });
      const invalid = r.invalid as { result?: string; errorSummary?: string };
      assert.equal(invalid.result, 'Invalid');
      assert.match(
        invalid.errorSummary ?? '',
        /IPAddressPool\/kb-pool: spec\.addresses\[0\]: CIDR "198\.51\.100\.240\/29" in pool "kb-pool" overlaps with already defined CIDR "198\.51\.100\.244\/30" in pool "kb-overlap"/,
      );
      assert.deepEqual(r.f, { ips: [POOL[5]], pool: 'kb-pool' });
      assert.equal((r.again as { result?: string }).result, 'Valid');
      assert.ok(typeof r.inUse === 'number' && r.inUse >= 5, `addresses in use: ${String(r.inUse)}`);
      assert.equal(r.loaded, 1);
      assert.equal(r.staleBefore, 0);
      assert.equal(r.staleDuring, 1);
    }),
  );
  it(
    'validating webhook: bad config refused with the formatted error and nothing changes; good config admitted',
    withLog(async () => {
      const reg = await client('webhook-register', `https://${CL_IP}:9443/validate-metallb-io`, certs.ca);
      assert.match(
        reg.refused as string,
        /^403: admission webhook "config\.mooring\.io" denied the request: IPAddressPool\/kb-probe: spec\.addresses\[0\]: invalid CIDR "198\.51\.100\.0\/33"$/,
      );
      const r = (await client('webhook')) as Record<string, string | string[] | undefined>;
      const denied = (msg: string) => `403: admission webhook "config.mooring.io" denied the request: ${msg}`;
      assert.equal(
        r.overlap,
        denied(
          'IPAddressPool/kb-wh-overlap: spec.addresses[0]: CIDR "198.51.100.244/30" in pool "kb-wh-overlap" overlaps with already defined CIDR "198.51.100.240/29" in pool "kb-pool"',
        ),
      );
      assert.equal(r.malformed, denied('IPAddressPool/kb-wh-bad: spec.addresses[0]: invalid CIDR "198.51.100.0/33"'));
      assert.equal(
        r.update,
        denied(
          'IPAddressPool/kb-pool: spec.addresses[0]: CIDR "198.51.100.240/29" in pool "kb-pool" overlaps with already defined CIDR "198.51.100.242/31" in pool "kb-manual"',
        ),
      );
      assert.equal(r.elsewhere, denied('resource must be created in metallb-system namespace'));
      // Nothing changed: same pools, kb-manual as it was, the config still valid.
      assert.deepEqual(r.after, r.before);
      assert.deepEqual(r.manualAfter, r.manualBefore);
      assert.equal(r.state, 'Valid');
      assert.equal(r.good, 'admitted');
      assert.equal(r.bfdInUse, denied('failed to delete BFDProfile kb-bfd, used by BGPPeer kb-peer'));
      assert.equal(r.bfdFree, 'admitted');
      assert.match(ctlLog, /"event":"webhook\.refused"/);
    }),
  );

  it(
    'IP assignment (MetalLB e2e group): priority and selectors, autoAssign: false, shared IPs, PreferDualStack, pool deletion; Events; pool status; deprecated pool annotation migrated',
    withLog(async () => {
      const r = (await client('assignment')) as Record<string, unknown>;
      const v = (ips: string[], pool: string) => ({ ips, pool });
      assert.deepEqual(r.p1, v(['198.51.100.212'], 'ipa-high'));
      assert.deepEqual(r.special, v(['198.51.100.216'], 'ipa-svc'));
      assert.deepEqual(r.noauto, v(['198.51.100.213'], 'ipa-high'));
      assert.deepEqual(r.sh1, v(['198.51.100.214'], 'ipa-high'));
      assert.deepEqual(r.sh2, v(['198.51.100.214'], 'ipa-high'));
      assert.deepEqual(r.sh3, v(['198.51.100.215'], 'ipa-high'));
      assert.deepEqual(r.dual, v(['198.51.100.220', '2001:db8:41::'], 'ipa-dual'));
      assert.deepEqual(r.dep, v(['198.51.100.208'], 'ipa-low'));
      assert.deepEqual(r.depEvent, {
        type: 'Warning',
        reason: 'deprecatedAnnotation',
        message: 'Service uses deprecated annotation metallb.universe.tf/address-pool',
      });
      assert.deepEqual(r.mig, v(['198.51.100.221'], 'ipa-dual'));
      assert.deepEqual(r.migAnnotations, ['metallb.io/ip-allocated-from-pool'], 'the deprecated pool annotation migrated');
      assert.deepEqual(r.migEvent, {
        type: 'Warning',
        reason: 'deprecatedAnnotation',
        message: 'Service uses deprecated annotation metallb.universe.tf/ip-allocated-from-pool',
      });
      assert.deepEqual(r.moved, v(['198.51.100.209'], 'ipa-low'));
      assert.deepEqual(r.clearEvent, {
        type: 'Normal',
        reason: 'ClearAssignment',
        message:
          'current IP for "kb-ipa/special" not allowed by config, will attempt for new IP assignment: ["198.51.100.216"] is no longer in an eligible pool',
      });
      assert.equal((r.lbFailed as { type?: string }).type, 'Warning');
      assert.match((r.lbFailed as { message?: string }).message ?? '', /^invalid requested loadbalancer IPs: .*not-an-ip/);
      assert.deepEqual(r.p1After, r.p1);
      assert.deepEqual(r.typeEvent, {
        type: 'Normal',
        reason: 'ClearAssignment',
        message: 'cleared IP ["198.51.100.213"] for "kb-ipa/noauto": not a LoadBalancer (type ClusterIP)',
      });
      assert.deepEqual(r.poolStatus, {
        high: { assignedIPv4: 3, assignedIPv6: 0, availableIPv4: 1, availableIPv6: 0 },
        low: { assignedIPv4: 2, assignedIPv6: 0, availableIPv4: 2, availableIPv6: 0 },
      });
    }),
  );

  it(
    'HA: two replicas under the Lease; SIGKILL of the leader, the standby takes over, moves nothing; SIGTERM releases the lease',
    withLog(async () => {
      const lease0 = await client('lease');
      assert.match(String(lease0.holderIdentity), /^controller-main_/);
      await startController('b', 1);
      const before = (await client('snapshot')) as Record<string, View>;
      // The standby has not led nor written anything.
      assert.doesNotMatch(logOf('b'), /"event":"(lease\.acquired|service\.assigned|service\.released|service\.moved)"/);
      await stopController('main', 'SIGKILL');
      const r = (await client('ha-new', 'h1')) as {
        svc: View;
        all: Record<string, View>;
        lease: { holderIdentity?: string; leaseTransitions?: number };
      };
      assert.match(String(r.lease.holderIdentity), /^controller-b_/);
      assert.equal(r.lease.leaseTransitions, Number(lease0.leaseTransitions) + 1);
      // The standby took over by expiry (the killed holder could not release), from the old holder.
      assert.match(
        logOf('b'),
        new RegExp(`"event":"lease.acquired"[^\\n]*"how":"acquire"[^\\n]*"from":"${String(lease0.holderIdentity)}"`),
      );
      const used = new Set(Object.values(before).flatMap((v) => v.ips));
      assert.equal(r.svc.ips.length, 1);
      assert.ok(!used.has(r.svc.ips[0] ?? ''), `h1 got ${r.svc.ips[0]}, already in use`);
      for (const [name, v] of Object.entries(before)) assert.deepEqual(r.all[name], v, `${name} moved`);

      // A graceful stop releases the lease: the next standby acquires a released lease (from "").
      await startController('c', 2);
      await stopController('b');
      assert.match(logOf('b'), /"event":"lease\.released"/);
      const r2 = (await client('ha-new', 'h2')) as { svc: View; all: Record<string, View>; lease: { holderIdentity?: string } };
      assert.match(String(r2.lease.holderIdentity), /^controller-c_/);
      assert.match(logOf('c'), /"event":"lease\.acquired"[^\n]*"how":"acquire"[^\n]*"from":""/);
      assert.equal(r2.svc.ips.length, 1);
      for (const [name, v] of Object.entries(r.all)) assert.deepEqual(r2.all[name], v, `${name} moved`);
      // (main's log is left out: right after the apiserver restart of an earlier test, RBAC is not loaded yet and informers see 403 once.)
      for (const n of ['b', 'c']) assert.doesNotMatch(logOf(n), /"code":403|forbidden/i, n);
    }),
  );
});
