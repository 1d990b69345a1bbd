// The informer's restart backoff against a loopback HTTP server standing in for an apiserver that
// lists but refuses every watch (as a restarting apiserver does with 403 until its authorizer is
// ready): the delays must grow, since a watch request that is sent is not yet a watch that works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { WATCH_HEALTHY_MS, startInformer, type InformerTimers } from './informer.js';
import { metallbSpec } from './resources.js';
import { createLogger } from '../log.js';

test('informer: a watch refused right after each list backs off (delays double), and a watch that stays up resets it', async () => {
  let refuse = true;
  const srv = createServer((req, res) => {
    if ((req.url ?? '').includes('watch=true') && !refuse) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return; // a watch that stays open
    }
    if ((req.url ?? '').includes('watch=true')) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', code: 403, reason: 'Forbidden' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ metadata: { resourceVersion: '1' }, items: [] }));
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  // Timers are recorded, never fired on their own: the test fires them.
  const pending: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  let waiter: (() => void) | undefined;
  const timers: InformerTimers = {
    setTimeout: (fn, ms) => {
      const t = { fn, ms, cleared: false };
      pending.push(t);
      waiter?.();
      return t;
    },
    clearTimeout: (t) => {
      (t as { cleared: boolean }).cleared = true;
    },
  };
  const nextRetry = async (): Promise<{ fn: () => void; ms: number }> => {
    for (;;) {
      const t = pending.find((x) => !x.cleared && x.ms !== WATCH_HEALTHY_MS);
      if (t) {
        pending.splice(pending.indexOf(t), 1);
        return t;
      }
      await new Promise<void>((r) => (waiter = r));
    }
  };
  const inf = startInformer(
    kc,
    metallbSpec(kc, 'metallb-system', 'IPAddressPool'),
    createLogger({ component: 't' }, { level: 'error' }),
    timers,
  );
  try {
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const t = await nextRetry();
      delays.push(t.ms);
      t.fn();
    }
    // DEFAULT_BACKOFF: 500 ms doubling, 20 % jitter below.
    for (const [i, d] of delays.entries()) {
      assert.ok(d > 500 * 2 ** i * 0.79 && d <= 500 * 2 ** i, `retry ${i}: ${d} ms (all: ${delays.join(', ')})`);
    }
    // Every healthy-timer armed by a sent watch was cleared by the refusal that followed it.
    assert.ok(pending.filter((x) => x.ms === WATCH_HEALTHY_MS).every((x) => x.cleared));
    // The apiserver is back: the watch stays up past WATCH_HEALTHY_MS (its timer fires), and the
    // next failure starts again from the first delay.
    refuse = false;
    pending.length = 0;
    for (;;) {
      const h = pending.find((x) => x.ms === WATCH_HEALTHY_MS && !x.cleared);
      if (h) {
        h.fn();
        break;
      }
      await new Promise<void>((r) => (waiter = r));
    }
    refuse = true;
    srv.closeAllConnections(); // the open watch ends: the informer relists, its watch is refused
    const again = await nextRetry();
    assert.ok(again.ms <= 500, `after a healthy watch the backoff starts over: ${again.ms} ms`);
  } finally {
    await inf.stop();
    srv.closeAllConnections();
    srv.close();
  }
});
