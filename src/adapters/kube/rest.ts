// Plain JSON requests and watches against the apiserver, authenticated from a KubeConfig, over
// node:https with keep-alive. For the hot paths (the controller's per-service writes and Events,
// every informer's watch stream): @kubernetes/client-node 2.0.1 sends each request through its
// generated ObjectSerializer layers and undici's WHATWG fetch, and re-derives the TLS options
// and headers (base64-decoding the CA, or reading it from disk in-cluster) on every call; a
// profile of the controller creating services in bulk showed that per-request overhead as most
// of its CPU (docs/test-control-plane.md). Objects are sent and received as plain JSON, exactly
// what the apiserver speaks; nothing is converted to the client's model classes.
//
// Authentication is whatever the KubeConfig does (token, token file, client certificate, exec
// plugin): its headers and TLS material are taken from `applyToHTTPSOptions` and reused for
// AUTH_TTL_MS (then asked again, so a rotated ServiceAccount token or certificate is picked up;
// a 401 asks at once). Clusters reached through a proxy (`proxy-url`) are not supported here:
// `restSupported` says so and callers keep the client-node path for them.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import type * as ClientNode from '@kubernetes/client-node';

/**
 * All of client-node (its generated API classes and models), loaded only when asked: for clusters
 * reached through a proxy (`restSupported` false). Other callers that need little of it import
 * its modules directly (KubeConfig from dist/config.js), so a speaker never loads the barrel.
 */
export const fullClient = (): Promise<typeof ClientNode> => import('@kubernetes/client-node');

/** An HTTP error answer; `code` is the status, as on client-node's ApiException. */
export class KubeRestError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${code}: ${body.slice(0, 500)}`);
    this.name = 'KubeRestError';
  }
}

/** One line for a log or a status: the apiserver's message of an error answer, else the error's text. */
export function restErrorText(e: unknown): string {
  if (e instanceof KubeRestError) return `HTTP ${e.code}: ${(/"message":"([^"]*)"/.exec(e.body)?.[1] ?? '').slice(0, 200)}`;
  return e instanceof Error ? e.message : String(e);
}

/** A Secret's `data` value from text, and back (undefined when the key is absent). */
export const toSecretData = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
export const fromSecretData = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');

export interface RequestOpts {
  body?: unknown;
  /** Default application/json; merge-patch+json, json-patch+json for patches. */
  contentType?: string;
  /** No data for this long (connect or answer): the request fails. */
  timeoutMs?: number;
  /** The answer is not needed: resolve with undefined without parsing it. */
  discard?: boolean;
}

export interface KubeRest {
  /** A JSON request; resolves with the parsed answer (2xx), rejects with KubeRestError otherwise. */
  request<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, opts?: RequestOpts): Promise<T>;
  /**
   * A watch (`?watch=true` added), with client-node's Watch contract so ListWatch can use it:
   * `callback(type, object, event)` per event, `done(err)` exactly once when the stream ends or
   * fails (an HTTP error carries `statusCode`; no data for `idleTimeoutMs`, default 30 s as
   * client-node, is an error named TimeoutError). Resolves with the handle to abort it.
   */
  watch(
    path: string,
    query: Record<string, unknown>,
    callback: (type: string, obj: unknown, event: unknown) => void,
    done: (err: unknown) => void,
    idleTimeoutMs?: number,
  ): Promise<{ abort: () => void }>;
}

const AUTH_TTL_MS = 10_000;
/**
 * Connections for requests (not watches) per client, and idle ones kept: all of them (client-go
 * keeps 25 idle per host). With fewer kept than used, every burst of writes closed the surplus and
 * the next burst opened them again: a profile of the controller creating services in bulk spent
 * ~15 % of its CPU in TLS connection setup with 4 kept of 16.
 */
const MAX_SOCKETS = 16;
const MAX_FREE_SOCKETS = MAX_SOCKETS;

/** False when the current cluster is reached through a proxy (use client-node for it). */
export function restSupported(kc: KubeConfig): boolean {
  const c = kc.getCurrentCluster();
  return !!c && !c.proxyUrl;
}

interface Prepared {
  base: URL;
  headers: Record<string, string>;
  agent: HttpAgent;
  watchAgent: HttpAgent;
  at: number;
}

const shared = new WeakMap<KubeConfig, KubeRest>();
/** One client (one connection pool) per KubeConfig. */
export function kubeRest(kc: KubeConfig): KubeRest {
  let r = shared.get(kc);
  if (!r) {
    r = createKubeRest(kc);
    shared.set(kc, r);
  }
  return r;
}

export function createKubeRest(kc: KubeConfig): KubeRest {
  const agents = new Map<string, { agent: HttpAgent; watchAgent: HttpAgent }>();
  let prepared: Prepared | undefined;
  let preparing: Promise<Prepared> | undefined;

  const prepare = async (): Promise<Prepared> => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig: no current cluster');
    if (cluster.proxyUrl) throw new Error('kubeconfig: proxy-url is not supported by the REST client');
    const o: RequestOptions & {
      ca?: Buffer;
      cert?: Buffer;
      key?: Buffer;
      pfx?: Buffer;
      passphrase?: string;
      rejectUnauthorized?: boolean;
      servername?: string;
      headers?: Record<string, string>;
      auth?: string;
    } = {};
    await kc.applyToHTTPSOptions(o);
    const base = new URL(cluster.server);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    if (o.auth) headers.Authorization = `Basic ${Buffer.from(o.auth).toString('base64')}`;
    const b64 = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v);
    const key = JSON.stringify([
      base.protocol,
      b64(o.ca),
      b64(o.cert),
      b64(o.key),
      b64(o.pfx),
      o.passphrase,
      o.rejectUnauthorized,
      o.servername,
    ]);
    let pair = agents.get(key);
    if (!pair) {
      // Connections stay open between requests (client-go keeps them too). Requests share at
      // most MAX_SOCKETS connections (a burst of writes, e.g. the statuses and Events of a
      // failover that moves hundreds of IPs, used to open one TLS connection per request: 584
      // from one speaker, each with its own parsed CA and TLS buffers, in the speaker and in the
      // apiserver); watches hold one connection each, on their own agent so they never starve
      // requests. One SecureContext serves every connection (no CA parsing per connection).
      const tlsOpts =
        base.protocol === 'http:'
          ? {}
          : {
              secureContext: createSecureContext({
                ...(o.ca ? { ca: o.ca } : {}),
                ...(o.cert ? { cert: o.cert } : {}),
                ...(o.key ? { key: o.key } : {}),
                ...(o.pfx ? { pfx: o.pfx } : {}),
                ...(o.passphrase ? { passphrase: o.passphrase } : {}),
              }),
              ...(o.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.rejectUnauthorized } : {}),
              ...(o.servername ? { servername: o.servername } : {}),
            };
      const make = (limit: boolean): HttpAgent =>
        base.protocol === 'http:'
          ? new HttpAgent({
              keepAlive: true,
              keepAliveMsecs: 30_000,
              ...(limit ? { maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_FREE_SOCKETS } : { maxFreeSockets: 1 }),
            })
          : new HttpsAgent({
              keepAlive: true,
              keepAliveMsecs: 30_000,
              ...tlsOpts,
              ...(limit ? { maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_FREE_SOCKETS } : { maxFreeSockets: 1 }),
            });
      pair = { agent: make(true), watchAgent: make(false) };
      for (const old of agents.values()) {
        old.agent.destroy();
        old.watchAgent.destroy();
      } // rotated material: the old sockets go
      agents.clear();
      agents.set(key, pair);
    }
    return { base, headers, agent: pair.agent, watchAgent: pair.watchAgent, at: Date.now() };
  };
  const auth = (): Promise<Prepared> => {
    if (prepared && Date.now() - prepared.at < AUTH_TTL_MS) return Promise.resolve(prepared);
    preparing ??= prepare()
      .then((p) => {
        prepared = p;
        return p;
      })
      .finally(() => {
        preparing = undefined;
      });
    return preparing;
  };

  const open = (p: Prepared, method: string, path: string, headers: Record<string, string>, watch = false) => {
    const basePath = p.base.pathname.replace(/\/$/, '');
    const send = p.base.protocol === 'http:' ? httpRequest : httpsRequest;
    return send({
      protocol: p.base.protocol,
      hostname: p.base.hostname.replace(/^\[|\]$/g, ''),
      port: p.base.port || (p.base.protocol === 'http:' ? 80 : 443),
      method,
      path: `${basePath}${path}`,
      agent: watch ? p.watchAgent : p.agent,
      headers: { ...p.headers, ...headers },
    });
  };
  const readBody = (res: IncomingMessage): Promise<string> =>
    new Promise((ok, fail) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
      res.on('error', fail);
    });

  return {
    async request<T>(method: string, path: string, opts: RequestOpts = {}): Promise<T> {
      const p = await auth();
      const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
      const what = `${method} ${path}`;
      return new Promise<T>((ok, fail) => {
        const req = open(p, method, path, {
          Accept: 'application/json',
          ...(payload ? { 'Content-Type': opts.contentType ?? 'application/json', 'Content-Length': String(payload.length) } : {}),
        });
        if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`${what}: no answer within ${opts.timeoutMs} ms`)));
        req.on('error', fail);
        req.on('response', (res) => {
          const status = res.statusCode ?? 0;
          if (opts.discard && status >= 200 && status < 300) {
            // The answer is not read: drained without buffering or decoding it.
            res.on('error', fail);
            res.on('end', () => ok(undefined as T));
            res.resume();
            return;
          }
          readBody(res).then((text) => {
            if (status === 401) prepared = undefined; // maybe a rotated token: ask the KubeConfig again
            if (status < 200 || status >= 300) {
              fail(new KubeRestError(status, text, what));
              return;
            }
            try {
              ok((text && !opts.discard ? JSON.parse(text) : undefined) as T);
            } catch (e) {
              fail(e);
            }
          }, fail);
        });
        req.end(payload);
      });
    },

    async watch(path, query, callback, done, idleTimeoutMs = 30_000) {
      let finished = false;
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      const conn: { req?: ReturnType<typeof open> } = {};
      const finish = (err: unknown) => {
        if (finished) return;
        finished = true;
        if (timer) clearTimeout(timer);
        conn.req?.destroy();
        done(timedOut ? Object.assign(new Error('watch: no data within the idle timeout'), { name: 'TimeoutError' }) : err);
      };
      const idle = () => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          timedOut = true;
          finish(new Error('timeout'));
        }, idleTimeoutMs);
        timer.unref();
      };
      const handle = { abort: () => finish(null) };
      let p: Prepared;
      try {
        p = await auth();
      } catch (err) {
        finish(err);
        return handle;
      }
      const qs = new URLSearchParams({ watch: 'true' });
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) qs.set(k, String(v));
      idle();
      const req = open(p, 'GET', `${path}?${qs.toString()}`, { Accept: 'application/json' }, true);
      conn.req = req;
      req.on('error', (err) => finish(err));
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          const status = res.statusCode ?? 0;
          if (status === 401) prepared = undefined;
          void readBody(res).then(
            (text) => finish(Object.assign(new Error(`watch ${path}: HTTP ${status}: ${text.slice(0, 300)}`), { statusCode: status })),
            finish,
          );
          return;
        }
        idle();
        res.setEncoding('utf8');
        const lines = lineSplitter();
        res.on('data', (chunk: string) => {
          idle();
          for (const line of lines(chunk)) {
            let ev: { type?: string; object?: unknown } | undefined;
            try {
              ev = JSON.parse(line) as { type?: string; object?: unknown };
            } catch {
              ev = undefined;
            } // as client-node: a bad line is skipped
            if (ev && !finished) callback(ev.type ?? '', ev.object, ev);
          }
        });
        res.on('end', () => finish(null));
        res.on('close', () => finish(null));
        res.on('error', (err) => finish(err));
      });
      req.end();
      return handle;
    },
  };
}

/** Splits a stream of text chunks into its non-empty lines; a partial last line waits for the next chunk. */
export function lineSplitter(): (chunk: string) => string[] {
  let pending = '';
  return (chunk) => {
    const text = pending + chunk;
    const out: string[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      if (nl > start) out.push(text.slice(start, nl));
      start = nl + 1;
    }
    pending = text.slice(start);
    return out;
  };
}
