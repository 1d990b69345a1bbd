// The speaker process against the real control plane: a kube-apiserver and a nats-server in one
// namespace, the speaker (with the log announcer: the pcap path is covered by test/integration/l2
// and the e2e tests) in a node namespace, running with the ServiceAccount and RBAC from deploy/.
// Checks the Kubernetes side of issue 9: it announces an IP of a configured pool, writes
// ServiceL2Status and ConfigurationState, keeps the last good config when a new one is invalid,
// explains an IP it does not announce with an Event, cannot write Services, and on SIGTERM
// withdraws and removes its status objects. Then NATS only where needed: a speaker whose config
// has no L2Advertisement runs without dialling NATS and is ready; once one appears it wants NATS,
// and a node with no credential yet logs one line per retry (no stack trace, no exit) while
// /healthz stays 200 and /readyz says what it waits for, until its credential appears.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { runTs, startKube, type Kube } from '../../lib/kube.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const CLIENT = new URL('./speaker.client.ts', import.meta.url).pathname;
const API_IP = '198.51.100.225';
const NODE_IP = '198.51.100.226';
const VIP = '203.0.113.17';

describe('speaker against a real apiserver and NATS', { timeout: 600_000 }, () => {
  const lab = new Lab('sp');
  const dir = mkdtempSync(join(tmpdir(), 'mooring-speaker-'));
  let kube: Kube | undefined;
  let n1: Netns;
  let speaker: ChildProcess | undefined;
  const logs: Array<Record<string, unknown>> = [];
  let exitCode: number | null | undefined;

  const client = async (...args: string[]): Promise<unknown> => {
    assert.ok(kube);
    const r = await runTs(n1, CLIENT, args, kube.env);
    assert.equal(r.code, 0, `client ${args[0]} failed:\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null') as unknown;
  };
  const apply = async (name: string, yaml: string) => {
    const f = join(dir, `${name}.yaml`);
    writeFileSync(f, yaml);
    await client('apply', f);
  };
  const logged = (event: string, ip?: string) => logs.some((l) => l.event === event && (ip === undefined || l.ip === ip));

  before(async () => {
    requireRoot();
    requireTools('ip', 'nats-server');
    const sw = lab.netns('sw');
    const api = lab.netns('api');
    n1 = lab.netns('n1');
    const br = lab.bridge(sw, 'br0');
    lab.link(api, 'eth0', sw, br, [`${API_IP}/27`]);
    lab.link(n1, 'eth0', sw, br, [`${NODE_IP}/27`]);
    writeFileSync(join(dir, 'nats.conf'), `listen: ${API_IP}:4222\nserver_name: sp-nats\njetstream { store_dir: "${join(dir, 'js')}" }\n`);
    const nats = api.spawn('nats-server', ['-c', join(dir, 'nats.conf')]);
    kube = await startKube({ netns: api, host: API_IP });
    await client('setup', join(dir, 'speaker.kubeconfig'), kube.url);
    await waitFor('nats-server', () => nats.exitCode === null && api.exec('ss', ['-ltn']).includes(`${API_IP}:4222`), 20_000);
  });

  after(async () => {
    try {
      if (speaker && speaker.exitCode === null) speaker.kill('SIGKILL');
      await kube?.destroy();
    } finally {
      await lab.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('announces an IP of a configured pool and writes ServiceL2Status and ConfigurationState', async () => {
    await apply(
      'config',
      `
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: pool, namespace: metallb-system }
spec: { addresses: [203.0.113.16/28] }
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: { name: l2, namespace: metallb-system }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: web }
spec: { type: LoadBalancer, selector: { app: web }, ports: [{ port: 80, protocol: TCP }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: web, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
endpoints: [{ addresses: [198.18.1.10], nodeName: n1, conditions: { ready: true } }]
ports: [{ port: 80, protocol: TCP }]
---
apiVersion: v1
kind: Service
metadata: { name: lost, namespace: web }
spec: { type: LoadBalancer, selector: { app: lost }, ports: [{ port: 80, protocol: TCP }] }
`,
    );
    await client('lb-status', 'web', 'web', VIP);
    await client('lb-status', 'web', 'lost', '198.51.100.250');
    assert.ok(kube);
    speaker = n1.spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/bin/speaker.ts'),
        '--nats-url',
        `nats://${API_IP}:4222`,
        '--kv-replicas',
        '1',
        '--announcer',
        'log',
        '--cluster',
        'sp',
        '--metrics-host',
        NODE_IP,
        '--metrics-port',
        '7472',
      ],
      {
        env: { ...process.env, NODE_NAME: 'n1', KUBECONFIG: join(dir, 'speaker.kubeconfig'), MOORING_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    speaker.on('exit', (code) => {
      exitCode = code;
    });
    let buf = '';
    speaker.stderr?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          logs.push({ event: 'raw', line });
        }
      }
    });
    await waitFor(`speaker announces ${VIP}`, () => logged('l2.announce', VIP), 90_000, 200).catch((e: Error) => {
      throw new Error(
        `${e.message}\nspeaker log:\n${logs
          .slice(-40)
          .map((l) => JSON.stringify(l))
          .join('\n')}`,
      );
    });
    const l2 = await waitFor(
      'ServiceL2Status',
      async () => {
        const items = (await client('get', 'servicel2statuses')) as Array<{ status?: Record<string, unknown> }>;
        return items.length === 1 && items[0]?.status ? items : undefined;
      },
      30_000,
      500,
    );
    assert.deepEqual(l2[0]?.status, { node: 'n1', serviceName: 'web', serviceNamespace: 'web', interfaces: [] });
    const cs = await waitFor(
      'ConfigurationState',
      async () => {
        const items = (await client('get', 'configurationstates')) as Array<{ metadata: { name: string }; status?: { result?: string } }>;
        return items.find((x) => x.metadata.name === 'speaker-n1' && x.status?.result === 'Valid');
      },
      30_000,
      500,
    );
    assert.equal(cs.status?.result, 'Valid');
  });

  it('explains an IP in no pool with a notAnnounced Event on the Service', async () => {
    const ev = await waitFor(
      'notAnnounced event',
      async () => {
        const events = (await client('events', 'web')) as Array<{ reason: string; message: string; object: string; source: string }>;
        return events.find((e) => e.reason === 'notAnnounced' && e.object === 'lost');
      },
      30_000,
      500,
    );
    assert.match(ev.message, /node n1 does not announce 198\.51\.100\.250: noPool: IP 198\.51\.100\.250 is in no configured IPAddressPool/);
    assert.equal(ev.source, 'metallb-speaker');
    const assigned = (await client('events', 'web')) as Array<{ reason: string; object: string; message: string }>;
    assert.ok(
      assigned.some((e) => e.reason === 'nodeAssigned' && e.object === 'web' && e.message.includes('"n1"')),
      'nodeAssigned event',
    );
  });

  it('keeps the last good configuration when a new one is invalid, and says why', async () => {
    await apply(
      'bad',
      `
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: { name: overlapping, namespace: metallb-system }
spec: { addresses: [203.0.113.20/30] }
`,
    );
    const cs = await waitFor(
      'ConfigurationState Invalid',
      async () => {
        const items = (await client('get', 'configurationstates')) as Array<{
          metadata: { name: string };
          status?: { result?: string; errorSummary?: string };
        }>;
        return items.find((x) => x.metadata.name === 'speaker-n1' && x.status?.result === 'Invalid');
      },
      30_000,
      500,
    );
    assert.match(
      cs.status?.errorSummary ?? '',
      /IPAddressPool\/pool: spec\.addresses\[0\]: CIDR "203\.0\.113\.16\/28" in pool "pool" overlaps with already defined CIDR "203\.0\.113\.20\/30" in pool "overlapping"/,
    );
    assert.equal(logged('l2.withdraw', VIP), false, 'the IP stays announced under the last good config');
    assert.ok(logs.some((l) => l.event === 'config.invalid' && l.stale === true));
  });

  it('runs with least privilege: its token cannot write Service status', async () => {
    const r = (await client('can-update-services', join(dir, 'speaker.kubeconfig'))) as { code: number };
    assert.equal(r.code, 403);
  });

  it('on SIGTERM withdraws, removes its ServiceL2Status and exits 0', async () => {
    assert.ok(speaker);
    speaker.kill('SIGTERM');
    await waitFor('speaker exit', () => exitCode !== undefined, 30_000);
    assert.equal(exitCode, 0);
    assert.ok(logged('l2.withdraw', VIP));
    const items = (await client('get', 'servicel2statuses')) as unknown[];
    assert.deepEqual(items, []);
  });

  it('BGP-only runs without NATS; an L2Advertisement makes it dial; a missing credential is a retried one-liner', async () => {
    await client('delete', 'ipaddresspools', 'overlapping');
    await client('delete', 'l2advertisements', 'l2');
    const passDir = join(dir, 'nats-pass');
    mkdirSync(passDir);
    const n2logs: Array<Record<string, unknown>> = [];
    const raw: string[] = [];
    let n2exit: number | null | undefined;
    // The speaker of a node n2 (its Node object is absent: it announces nothing, which is fine here).
    const n2 = n1.spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src/bin/speaker.ts'),
        ...['--nats-url', `nats://${API_IP}:4222`, '--nats-pass-dir', passDir, '--kv-replicas', '1', '--announcer', 'log'],
        ...['--cluster', 'sp', '--metrics-host', NODE_IP, '--metrics-port', '7473'],
      ],
      {
        env: { ...process.env, NODE_NAME: 'n2', KUBECONFIG: join(dir, 'speaker.kubeconfig'), MOORING_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    n2.on('exit', (code) => {
      n2exit = code;
    });
    let buf = '';
    n2.stderr?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        raw.push(line);
        try {
          n2logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          n2logs.push({ event: 'raw', line });
        }
      }
    });
    const get = async (path: string): Promise<{ code: number; body: string }> => {
      const r = n1.exec('curl', ['-s', '-o', '-', '-w', '\n%{http_code}', `http://${NODE_IP}:7473${path}`], { allowFail: true });
      const lines = r.trim().split('\n');
      return { code: Number(lines.pop()), body: lines.join('\n') };
    };
    try {
      const dump = () => raw.slice(-30).join('\n');
      // BGP-only: ready without NATS, and it never dialled.
      await waitFor('n2 ready without NATS', async () => (await get('/readyz')).code === 200, 90_000, 300).catch((e: Error) => {
        throw new Error(`${e.message}\n${dump()}`);
      });
      assert.deepEqual(JSON.parse((await get('/readyz')).body), { ready: true, waitingFor: [] });
      assert.ok(!n2logs.some((l) => String(l.event).startsWith('nats.')), `no NATS activity expected:\n${dump()}`);
      // An L2Advertisement appears: it wants NATS, has no credential: one-line errors, retried.
      await apply('l2-again', 'apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: { name: l2, namespace: metallb-system }\n');
      await waitFor('second credential retry', () => n2logs.filter((l) => l.event === 'nats.noCredential').length >= 2, 60_000, 200);
      const err = n2logs.find((l) => l.event === 'nats.noCredential');
      assert.match(String(err?.msg ?? err?.message ?? JSON.stringify(err)), /no NATS password for node n2: .*\/n2: ENOENT/);
      assert.ok(!raw.some((l) => /^\s+at /.test(l)), `no stack trace expected:\n${dump()}`);
      assert.equal(n2exit, undefined, 'the speaker keeps running');
      assert.equal((await get('/healthz')).code, 200, 'liveness does not depend on NATS');
      const notReady = await get('/readyz');
      assert.equal(notReady.code, 503);
      const body = JSON.parse(notReady.body) as { ready: boolean; waitingFor: string[] };
      assert.equal(body.ready, false);
      assert.match(body.waitingFor.join('; '), /NATS: no NATS password for node n2/);
      // The credential appears: it connects and becomes ready, with no restart.
      writeFileSync(join(passDir, 'n2'), 'unused-by-this-server\n');
      await waitFor(
        'n2 connected and ready',
        async () => n2logs.some((l) => l.event === 'nats.connected') && (await get('/readyz')).code === 200,
        60_000,
        300,
      );
      assert.equal(n2exit, undefined);
    } finally {
      if (n2.exitCode === null) n2.kill('SIGKILL');
    }
  });
});
