// A node joins with nothing done by hand (issue 15): against the real apiserver (TokenReview, a Pod
// bound token) and a real nats-server (2.9, operator mode), with the RBAC from deploy/. The
// controller creates the issuer keys and the servers' authorization Secret; nats-server runs on
// exactly that config; a speaker of node n1 (its Pod bound token, audience mooring-nats) gets a JWT
// from the controller's HTTPS endpoint and may publish on its own subjects only.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, waitFor, type Netns } from '../../lib/netns.js';
import { requireRoot, requireTools } from '../../lib/prereq.js';
import { ensureKubeBinary, kubeconfig, runTs, startKube, type Kube } from '../../lib/kube.js';

const CLIENT = new URL('./nats-credentials.client.ts', import.meta.url).pathname;
const CONTROLLER = new URL('../../../src/bin/controller.ts', import.meta.url).pathname;
const API_IP = '198.51.100.217';
const CL_IP = '198.51.100.218';

describe('NATS credentials minted by the controller', { timeout: 10 * 60_000 }, () => {
  const lab = new Lab('nc');
  let kube: Kube | undefined;
  let api: Netns;
  let cl: Netns;
  let ctl: ChildProcess | undefined;
  let ctlLog = '';
  const tokenFile = () => join(kube?.dataDir ?? '', 'speaker-n1.token');

  async function client(step: string, ...args: string[]): Promise<Record<string, unknown>> {
    assert.ok(kube);
    const r = await runTs(cl, CLIENT, [step, ...args], kube.env, 180_000);
    assert.equal(r.code, 0, `client ${step} failed:\n${r.stderr}\n${ctlLog.slice(-3000)}`);
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  }

  before(async () => {
    requireRoot();
    requireTools('ip', 'nats-server');
    await ensureKubeBinary();
    const sw = lab.netns('sw');
    api = lab.netns('api');
    cl = lab.netns('cl');
    const br = lab.bridge(sw, 'br0');
    lab.link(api, 'eth0', sw, br, [`${API_IP}/29`]);
    lab.link(cl, 'eth0', sw, br, [`${CL_IP}/29`]);
    kube = await startKube({ netns: api, host: API_IP });
  });

  after(async () => {
    try {
      if (ctl && ctl.exitCode === null) ctl.kill('SIGKILL');
      await kube?.destroy();
    } finally {
      await lab.cleanup();
    }
  });

  it('controller writes the NATS authorization; a node gets a JWT for its own subjects only', async () => {
    assert.ok(kube);
    const setup = await client('setup', `https://${CL_IP}:9443/validate-metallb-io`, tokenFile());
    const ctlConfig = join(kube.dataDir, 'controller.kubeconfig');
    writeFileSync(ctlConfig, kubeconfig(kube.url, kube.caPem, setup.token as string, 'controller'), { mode: 0o600 });
    ctl = cl.spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CONTROLLER,
        ...['--metrics-port', '7472', '--metrics-host', CL_IP, '--webhook-port', '9443'],
        ...[
          '--webhook-cert-secret',
          'mooring-webhook-cert',
          '--webhook-cert-extra-names',
          CL_IP,
          '--nats-cluster',
          'nc',
          '--nats-issuer-namespace',
          'mooring-secrets',
        ],
        ...['--lease-duration', '8s', '--lease-renew-deadline', '6s', '--lease-retry', '1s'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: ctlConfig, POD_NAME: 'controller-a' } },
    );
    ctl.stderr?.setEncoding('utf8').on('data', (d: string) => (ctlLog += d));
    const conf = join(kube.dataDir, 'nats-auth.conf');
    const a = await client('auth-conf', conf);
    assert.deepEqual(a, { ok: true, issuerKeys: ['account', 'operator', 'system'], hasSeed: false });
    const natsConf = join(kube.dataDir, 'nats.conf');
    writeFileSync(
      natsConf,
      [`listen: "${API_IP}:4222"`, `jetstream { store_dir: "${join(kube.dataDir, 'js')}" }`, 'include ./nats-auth.conf', ''].join('\n'),
    );
    const nats = api.spawn('nats-server', ['-c', natsConf]);
    let natsLog = '';
    nats.stderr?.on('data', (d: Buffer) => (natsLog += d.toString()));
    await waitFor(
      'nats-server on the controller-written config',
      () => api.exec('ss', ['-ltn'], { allowFail: true }).includes(`${API_IP}:4222`),
      20_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${natsLog}`);
    });
    const r = await client('speaker', `https://${CL_IP}:9443/nats/v1/credentials`, tokenFile(), `nats://${API_IP}:4222`, 'nc');
    assert.equal(r.ok, true, `${JSON.stringify(r)}\n${ctlLog.slice(-3000)}`);
    assert.deepEqual(r.got, ['mooring.v1.nc.hb.n1'], 'only its own subject is delivered');
    assert.ok((r.violations as number) >= 1, 'the server refused the forged subjects');
    assert.equal(r.logHasJwt, false);
    assert.match(ctlLog, /"event":"nats\.credential\.issued".*"node":"n1".*"pod":"speaker-n1"/);
    assert.doesNotMatch(ctlLog, /eyJ0eXAi|\bS[OAU][A-Z2-7]{56}\b/, 'no JWT or seed in the controller log');
    nats.kill('SIGKILL');
  });
});
