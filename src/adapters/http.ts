// The monitoring endpoint every process serves: /metrics (Prometheus text), /healthz (liveness:
// the process answers; it depends on nothing else, so a NATS or apiserver outage never restarts
// it), /readyz (JSON `{ ready, waitingFor: [reasons] }`, 503 while it waits for anything), and
// read-only JSON views a component adds (the speaker's /routes: what each BGP peer holds from it).
import { createServer, type Server } from 'node:http';
import type { Telemetry } from './telemetry.js';

export interface Health {
  /** `reasons`: everything readiness still waits for (`reason`: the first of them). */
  ready(): { ok: boolean; reason?: string; reasons?: readonly string[] };
}

export function serveMonitoring(
  telemetry: Telemetry,
  health: Health,
  port: number,
  host = '0.0.0.0',
  views: Readonly<Record<string, () => unknown>> = {},
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      telemetry.render().then(
        (body) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
        },
        (e: unknown) => {
          res.writeHead(500).end(String(e));
        },
      );
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const r = health.ready();
      const waitingFor = r.ok ? [] : (r.reasons ?? [r.reason ?? 'starting']);
      res.writeHead(r.ok ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify({ ready: r.ok, waitingFor })}\n`);
    } else if (path && Object.hasOwn(views, path) && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(views[path]?.())}\n`);
    } else {
      res.writeHead(404).end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
