import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTelemetry } from './telemetry.js';
import { createLogger } from './log.js';

test('metrics render in Prometheus format under MetalLB names', async () => {
  const t = createTelemetry('test');
  const c = t.meter.createCounter('metallb_layer2_gratuitous_sent', { description: 'Number of gratuitous ARP packets sent for VIP' });
  c.add(3, { ip: '198.51.100.7' });
  const g = t.meter.createUpDownCounter('metallb_bgp_session_up');
  g.add(1, { peer: '198.51.100.1:179' });
  const text = await t.render();
  assert.match(text, /^# HELP metallb_layer2_gratuitous_sent Number of gratuitous ARP packets sent for VIP$/m);
  assert.match(text, /^# TYPE metallb_layer2_gratuitous_sent counter$/m, 'a counter, named exactly as the instrument (no _total)');
  assert.match(text, /^metallb_layer2_gratuitous_sent\{ip="198.51.100.7"\} 3$/m);
  const u = t.meter.createCounter('metallb_bgp_updates_total');
  u.add(2, { peer: '198.51.100.1:179' });
  assert.match(await t.render(), /^metallb_bgp_updates_total\{peer="198.51.100.1:179"\} 2$/m, 'a name with _total keeps it once');
  assert.match(text, /metallb_bgp_session_up\{peer="198.51.100.1:179"\} 1/);
  await t.shutdown();
});

test('logs are JSON lines with stable keys and no secrets', () => {
  const lines: string[] = [];
  const log = createLogger({ component: 'speaker', node: 'n1' }, { write: (l) => lines.push(l), now: () => new Date(0), level: 'info' });
  log.child({ peer: 'tor-a' }).warn('session down', { reason: 'holdTimerExpired', password: 'hunter2', err: new Error('boom') });
  log.debug('hidden');
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0] ?? '{}'), {
    ts: '1970-01-01T00:00:00.000Z',
    level: 'warn',
    msg: 'session down',
    component: 'speaker',
    node: 'n1',
    peer: 'tor-a',
    reason: 'holdTimerExpired',
    password: '[redacted]',
    err: { name: 'Error', message: 'boom' },
  });
});
