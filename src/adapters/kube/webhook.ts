// The validating admission webhook's HTTPS endpoint: POST /validate-metallb-io with an
// AdmissionReview v1, answered by the pure domain/admission.ts against the current config objects.
// The serving certificate and key come from a TlsSource: files (a mounted Secret, re-read when
// they change) or the controller's managed certificate (held in memory); a change is swapped in
// with setSecureContext, so a rotated certificate needs no restart.
import { createServer, type Server } from 'node:https';
import { readFileSync, statSync } from 'node:fs';
import { WEBHOOK_PATH, decodeAdmissionReview, review, type AdmissionContext, type AdmissionRequest } from '../../domain/admission.js';
import type { Logger } from '../log.js';

const MAX_BODY = 3 << 20;

/** Where the serving certificate comes from; `load` throws (code ENOENT) while there is none yet. */
export interface TlsSource {
  load(): { cert: string | Buffer; key: string | Buffer };
  /** Changes when the certificate does. */
  stamp(): string;
  /** How often to look at `stamp`. */
  readonly checkMs: number;
}

/** Certificate and key files (a mounted Secret). */
export function fileTls(certFile: string, keyFile: string): TlsSource {
  return {
    load: () => ({ cert: readFileSync(certFile), key: readFileSync(keyFile) }),
    stamp: () => `${statSync(certFile).mtimeMs}:${statSync(keyFile).mtimeMs}`,
    checkMs: 30_000,
  };
}

export interface WebhookOptions {
  port: number;
  host: string;
  tls: TlsSource;
  /** More JSON POST endpoints on the same server (the NATS credential endpoint): path → handler. */
  routes?: Readonly<Record<string, (bearer: string | undefined, body: unknown) => Promise<{ code: number; body: unknown }>>>;
  /** The objects to validate against; undefined when they cannot be read (refused, retried by the client). */
  context: () => Promise<AdmissionContext | undefined>;
}

export function serveWebhook(o: WebhookOptions, log: Logger): Promise<{ server: Server; close: () => void }> {
  const load = () => o.tls.load();
  const mtimes = () => o.tls.stamp();
  let stamp = mtimes();
  const server = createServer(load(), (req, res) => {
    const reply = (code: number, body: unknown) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const path = (req.url ?? '').split('?')[0] ?? '';
    const route = o.routes?.[path];
    if (req.method !== 'POST' || (path !== WEBHOOK_PATH && !route)) {
      reply(404, { error: 'not found' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) {
        reply(413, { error: 'request too large' });
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        reply(400, { error: 'body is not JSON' });
        return;
      }
      if (route) {
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        void route(bearer, body).then(
          (a) => reply(a.code, a.body),
          () => reply(500, { error: 'internal error' }),
        );
        return;
      }
      const d = decodeAdmissionReview(body);
      if (!d.ok) {
        reply(400, { error: d.error });
        return;
      }
      void answer(d.request).then((out) => reply(200, out));
    });
  });
  const answer = async (r: AdmissionRequest) => {
    const ctx = await o.context().catch(() => undefined);
    const out = ctx
      ? review(r, ctx)
      : {
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: {
            uid: r.uid,
            allowed: false,
            status: {
              code: 503,
              reason: 'ServiceUnavailable',
              message: 'mooring controller: cannot read the current configuration yet, retry',
            },
          },
        };
    const resp = out.response;
    log.info(resp.allowed ? 'admitted' : 'refused', {
      event: resp.allowed ? 'webhook.admitted' : 'webhook.refused',
      kind: r.kind.kind,
      name: r.name ?? '',
      operation: r.operation,
      ...(resp.allowed ? {} : { reason: resp.status?.message ?? '' }),
    });
    return out;
  };
  // A rotated certificate (new files in the mounted volume, or a new managed one): swap the TLS context.
  const watch = setInterval(() => {
    try {
      const now = mtimes();
      if (now === stamp) return;
      server.setSecureContext(load());
      stamp = now;
      log.info('webhook certificate reloaded', { event: 'webhook.cert.reloaded' });
    } catch (e) {
      log.warn('webhook certificate reload failed', { event: 'webhook.cert.error', err: e instanceof Error ? e.message : String(e) });
    }
  }, o.tls.checkMs);
  watch.unref();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () =>
      resolve({
        server,
        close: () => {
          clearInterval(watch);
          server.close();
        },
      }),
    );
  });
}
