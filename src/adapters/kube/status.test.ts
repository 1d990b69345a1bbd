// The speaker's Kubernetes writes and lists go through rest.ts (plain JSON), not client-node's
// generated API classes: the requests a StatusWriter and an informer send, seen by a loopback
// HTTP server standing in for the apiserver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { startInformer } from './informer.js';
import { metallbSpec } from './resources.js';
import { StatusWriter } from './status.js';
import { createLogger } from '../log.js';

interface Seen {
  method: string;
  url: string;
  type: string;
  body: string;
}

async function apiserver(answer: (r: Seen) => unknown) {
  const seen: Seen[] = [];
  const srv = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const r = { method: req.method ?? '', url: req.url ?? '', type: req.headers['content-type'] ?? '', body };
      seen.push(r);
      res.writeHead(200, { 'content-type': 'application/json' });
      if (r.url.includes('watch=true')) return; // a watch that stays open, with no event
      res.end(JSON.stringify(answer(r) ?? {}));
    });
  });
  await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const close = () => {
    srv.closeAllConnections();
    srv.close();
  };
  return { kc, seen, close };
}

const log = createLogger({ component: 'test' }, { level: 'error' });

test('StatusWriter: creates a missing ServiceL2Status, sets its status by JSON patch, deletes a stale one', async () => {
  const api = await apiserver((r) =>
    r.method === 'GET' ? { metadata: { resourceVersion: '1' }, items: [{ metadata: { name: 'l2-stale' }, status: {} }] } : {},
  );
  try {
    await new StatusWriter(api.kc, 'metallb-system', log).reconcile('servicel2statuses', 'n1', [
      { serviceKey: 'demo/web', status: { node: 'n1' } },
    ]);
    const base = '/apis/metallb.io/v1beta1/namespaces/metallb-system/servicel2statuses';
    const calls = api.seen.map((s) => `${s.method} ${s.url.replace(/l2-[0-9a-f]{16}/, 'l2-X')}`);
    assert.deepEqual(calls, [
      `GET ${base}?labelSelector=metallb.io%2Fnode%3Dn1`,
      `POST ${base}`,
      `PATCH ${base}/l2-X/status`,
      `DELETE ${base}/l2-stale`,
    ]);
    const created = JSON.parse(api.seen[1]!.body) as { kind: string; metadata: { labels: Record<string, string> } };
    assert.equal(created.kind, 'ServiceL2Status');
    assert.equal(created.metadata.labels['metallb.io/node'], 'n1');
    assert.equal(api.seen[2]!.type, 'application/json-patch+json');
    assert.deepEqual(JSON.parse(api.seen[2]!.body), [{ op: 'add', path: '/status', value: { node: 'n1' } }]);
  } finally {
    api.close();
  }
});

test('informer: lists a metallb.io kind as plain JSON, watches from its resourceVersion, drops managedFields', async () => {
  const api = await apiserver(() => ({
    metadata: { resourceVersion: '7' },
    items: [{ metadata: { name: 'pool', namespace: 'metallb-system', managedFields: [{ manager: 'x' }] }, spec: {} }],
  }));
  const inf = startInformer(api.kc, metallbSpec(api.kc, 'metallb-system', 'IPAddressPool'), log);
  try {
    await inf.synced;
    assert.deepEqual(
      inf.list().map((o) => [o.metadata?.name, o.metadata?.managedFields]),
      [['pool', undefined]],
    );
    const path = '/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools';
    assert.equal(api.seen[0]!.url, path);
  } finally {
    await inf.stop();
    api.close();
  }
});
