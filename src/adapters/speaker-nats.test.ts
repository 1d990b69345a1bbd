// The speaker's lazy NATS link: nothing is dialled (no credential even read) until L2 wants it; a
// missing credential is a one-line error value and a scheduled retry, never a throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './log.js';
import { SpeakerNats, passwordCredentials, type NatsCredentialSource } from './speaker-nats.js';

const NEVER = { initialMs: 1e9, maxMs: 1e9, factor: 1, jitter: 0 };

function setup(credentials: NatsCredentialSource) {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ component: 'speaker' }, { write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const nats = new SpeakerNats({
    urls: 'nats://198.51.100.1:4222',
    node: 'n1',
    bucket: 'b',
    kvReplicas: 1,
    credentials,
    log,
    backoff: NEVER,
  });
  return { nats, lines };
}

test('not wanted: no credential read, no connection, not waited for', async () => {
  let reads = 0;
  const { nats, lines } = setup({ get: async () => (reads++, { ok: false, error: 'x' }) });
  const off = nats.subscribe('mooring.v1.c.hb.*', () => undefined);
  nats.publish('mooring.v1.c.hb.n1', new Uint8Array(1));
  await new Promise((r) => setImmediate(r));
  assert.equal(reads, 0);
  assert.equal(nats.state(), 'idle');
  assert.equal(nats.isUp(), false);
  assert.deepEqual(nats.waitingFor(), []);
  assert.deepEqual(await nats.epochs.get('k'), { ok: false, kind: 'unavailable', error: 'epoch bucket not open' });
  assert.deepEqual(lines, []);
  off();
  await nats.close();
});

test('wanted without a credential: one error line per attempt, a retry scheduled, readiness says why', async () => {
  const { nats, lines } = setup(passwordCredentials({ node: 'n9', passDir: '/nonexistent-mooring-dir' }));
  nats.want();
  nats.want(); // idempotent
  // The credential is a real file read (the thread pool): wait for its outcome, however long it takes.
  while (!lines.some((l) => l.level === 'error')) await new Promise((r) => setImmediate(r));
  assert.equal(nats.state(), 'connecting');
  assert.deepEqual(nats.waitingFor(), ['NATS: no NATS password for node n9: /nonexistent-mooring-dir/n9: ENOENT']);
  const errors = lines.filter((l) => l.level === 'error');
  assert.equal(errors.length, 1);
  assert.equal(errors[0]?.event, 'nats.noCredential');
  assert.equal(errors[0]?.msg, 'no NATS password for node n9: /nonexistent-mooring-dir/n9: ENOENT');
  assert.equal(errors[0]?.retryInMs, 1e9);
  await nats.close();
});

test('wanted without a URL: says so, does not throw', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({}, { write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const nats = new SpeakerNats({
    urls: undefined,
    node: 'n1',
    bucket: 'b',
    kvReplicas: 1,
    credentials: passwordCredentials({ node: 'n1' }),
    log,
    backoff: NEVER,
  });
  nats.want();
  await new Promise((r) => setImmediate(r));
  assert.match(nats.waitingFor()[0] ?? '', /no --nats-url/);
  assert.ok(lines.some((l) => l.event === 'nats.noUrl'));
  await nats.close();
});
