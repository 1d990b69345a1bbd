// The controller manages its webhook serving certificate (issue 15, "Nothing by hand"), against
// the real apiserver with the RBAC and the ValidatingWebhookConfiguration from deploy/ (registered
// by URL, since this lab has no Service routing, and with no caBundle): the leader creates the
// Secret (CA + serving certificate), patches caBundle, and the apiserver then really calls the
// webhook over TLS (a malformed pool is denied BY THE WEBHOOK, a good one admitted). A second
// replica writes nothing and serves the same Secret. When the Secret goes, the leader issues a
// new CA and certificate, patches caBundle again, and both replicas swap the certificate without
// a restart: the apiserver keeps calling the webhook successfully.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { ensureKubeBinary, kubeconfig, runTs, startKube, type Kube } from '../../lib/kube.js';

const CLIENT = new URL('./webhook-cert.client.ts', import.meta.url).pathname;
const CONTROLLER = new URL('../../../src/bin/controller.ts', import.meta.url).pathname;
const API_IP = '198.51.100.209';
const CL_IP = '198.51.100.210';
const DENIED =
  /^403: admission webhook "config\.mooring\.io" denied the request: IPAddressPool\/wc-bad: spec\.addresses\[0\]: invalid CIDR "198\.51\.100\.0\/33"$/;

describe('managed webhook certificate against the real apiserver', { timeout: 10 * 60_000 }, () => {
  const lab = new Lab('wc');
  let kube: Kube | undefined;
  let cl: Netns;
  let ctlConfig = '';
  const ctls = new Map<string, { p: ChildProcess; log: string }>();
  const logs = () => [...ctls].map(([n, c]) => `--- ${n} ---\n${c.log.slice(-3000)}`).join('\n');

  async function client(step: string, ...args: string[]): Promise<Record<string, unknown>> {
    assert.ok(kube);
    const r = await runTs(cl, CLIENT, [step, ...args], kube.env, 120_000);
    assert.equal(r.code, 0, `client ${step} failed:\n${r.stderr}\n${logs()}`);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  }

  function start(name: string, index: number): void {
    const p = cl.spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CONTROLLER,
        ...['--metrics-port', String(7472 + index), '--metrics-host', CL_IP, '--webhook-port', String(9443 + index)],
        ...['--webhook-cert-secret', 'mooring-webhook-cert', '--webhook-cert-extra-names', CL_IP],
        ...['--lease-duration', '8s', '--lease-renew-deadline', '6s', '--lease-retry', '1s'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: ctlConfig, POD_NAME: `controller-${name}` } },
    );
    const c = { p, log: '' };
    ctls.set(name, c);
    p.stderr?.setEncoding('utf8').on('data', (d: string) => {
      c.log += d;
    });
  }

  before(async () => {
    requireRoot();
    requireTools('ip');
    await ensureKubeBinary();
    const sw = lab.netns('sw');
    const api = lab.netns('api');
    cl = lab.netns('cl');
    const br = lab.bridge(sw, 'br0');
    lab.link(api, 'eth0', sw, br, [`${API_IP}/28`]);
    lab.link(cl, 'eth0', sw, br, [`${CL_IP}/28`]);
    kube = await startKube({ netns: api, host: API_IP });
    const setup = await client('setup', `https://${CL_IP}:9443/validate-metallb-io`);
    ctlConfig = join(kube.dataDir, 'controller.kubeconfig');
    writeFileSync(ctlConfig, kubeconfig(kube.url, kube.caPem, setup.token as string, 'controller'), { mode: 0o600 });
  });

  after(async () => {
    try {
      for (const c of ctls.values()) if (c.p.exitCode === null) c.p.kill('SIGKILL');
      await kube?.destroy();
    } finally {
      await lab.cleanup();
    }
  });

  it('the leader creates the Secret and patches caBundle; the apiserver then calls the webhook', async () => {
    start('a', 0);
    const st = await waitFor(
      'Secret created and caBundle patched',
      async () => {
        const s = await client('state');
        return s.caBundleIsCa === true ? s : undefined;
      },
      120_000,
      500,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${logs()}`);
    });
    assert.deepEqual(st.secret, { type: 'kubernetes.io/tls', keys: ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'] });
    let last: unknown;
    const p = await waitFor(
      'webhook in force',
      async () => {
        const r = await client('probe');
        last = r;
        return DENIED.test(String(r.refused)) ? r : undefined;
      },
      60_000,
      500,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nlast probe: ${JSON.stringify(last)}\n${logs()}`);
    });
    assert.equal(p.admitted, 'admitted');
    const a = ctls.get('a')?.log ?? '';
    assert.match(a, /"event":"webhook\.cert\.issued".*"reason":"missing".*"newCa":true/);
    assert.match(a, /"event":"webhook\.caBundle\.patched"/);
    assert.doesNotMatch(a, /PRIVATE KEY|BEGIN CERTIFICATE/, 'no key or certificate in the log');
  });

  it('a second replica writes nothing and serves the same certificate', async () => {
    start('b', 1);
    await waitFor('replica b serves', () => (ctls.get('b')?.log ?? '').includes('"event":"webhook.listening"'), 90_000, 200);
    const b = ctls.get('b')?.log ?? '';
    assert.doesNotMatch(b, /webhook\.cert\.issued|webhook\.caBundle\.patched/);
    const ca = Buffer.from(String((await client('state')).ca), 'base64').toString();
    const caFile = join(kube!.dataDir, 'wc-ca.crt');
    writeFileSync(caFile, ca);
    // The replica's certificate verifies against the Secret's CA for the name the apiserver dials.
    const out = cl.exec('curl', ['-sS', '--cacert', caFile, '-o', '/dev/null', '-w', '%{http_code}', `https://${CL_IP}:9444/healthz`], {
      allowFail: true,
    });
    assert.equal(out.trim(), '404', `TLS to replica b verified against the managed CA (404: no such path): ${out}`);
  });

  it('Secret deleted: a new CA and certificate, caBundle patched again, served without a restart', async () => {
    const before = (await client('state')).ca;
    await client('delete-secret');
    await waitFor(
      'a new CA in the Secret and in caBundle',
      async () => {
        const s = await client('state');
        return s.ca && s.ca !== before && s.caBundleIsCa === true ? s : undefined;
      },
      120_000,
      500,
    );
    await waitFor(
      'the apiserver calls the webhook with the new certificate',
      async () => {
        const r = await client('probe');
        return DENIED.test(String(r.refused)) && r.admitted === 'admitted' ? r : undefined;
      },
      60_000,
      500,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${logs()}`);
    });
    // Each replica picks the new Secret up on its own watch: wait for every one, not only the one
    // the apiserver happened to call.
    for (const [n, c] of ctls) {
      await waitFor(`controller ${n} reloads its certificate`, () => /"event":"webhook\.cert\.reloaded"/.test(c.log), 120_000, 200).catch(
        (e: Error) => {
          throw new Error(`${e.message}\n${logs()}`);
        },
      );
      assert.equal(c.p.exitCode, null, `controller ${n} still running`);
    }
  });
});
