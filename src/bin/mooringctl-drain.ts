// `mooringctl drain|undrain <node>`: planned handover over NATS (docs/coordination.md, "Drain").
// Publishes a drain command on `mooring.v1.<cluster>.drain.<node>` as an admin user (the only
// user allowed to publish there, src/domain/nats-config.ts), then waits for the node's own
// heartbeat to carry the new `draining` flag (the acknowledgement: it is what the peers act on)
// and, for a drain, for the node's claims to become empty (every IP handed over, make-before-break).
// The drain lives in the speaker process: a restarted speaker comes back undrained.
import { parseArgs } from 'node:util';
import { NatsBus } from '../adapters/nats.js';
import { decodeClaims, decodeHeartbeat, encodeDrain } from '../codecs/coord.js';
import { claimsSubject, drainSubject, heartbeatSubject } from '../domain/subjects.js';
import { natsAuthFromFlags } from './nats-flags.js';

export async function drainCommand(argv: string[], on: boolean): Promise<number> {
  const cmd = on ? 'drain' : 'undrain';
  let a;
  try {
    a = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        servers: { type: 'string' },
        cluster: { type: 'string', default: process.env.MOORING_CLUSTER ?? 'mooring' },
        user: { type: 'string' },
        'pass-file': { type: 'string' },
        'nkey-file': { type: 'string' },
        'tls-ca': { type: 'string' },
        timeout: { type: 'string', default: '30' },
        'no-wait': { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    console.error(`mooringctl ${cmd}: ${(e as Error).message}`);
    return 2;
  }
  const { values: o, positionals } = a;
  const node = positionals[0];
  const servers = o.servers ?? process.env.MOORING_NATS_URL;
  if (!node || positionals.length > 1) {
    console.error(`mooringctl ${cmd}: exactly one node name expected`);
    return 2;
  }
  if (!servers) {
    console.error(`mooringctl ${cmd}: --servers (or MOORING_NATS_URL) is required`);
    return 2;
  }
  const timeoutMs = Number(o.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    console.error(`mooringctl ${cmd}: --timeout must be a positive number of seconds`);
    return 2;
  }
  const creds = natsAuthFromFlags(o);
  if (!creds.ok) {
    console.error(`mooringctl ${cmd}: cannot read credentials: ${creds.error}`);
    return 1;
  }
  const auth = creds.auth;
  let bus: NatsBus;
  try {
    bus = await NatsBus.connect({
      servers: servers.split(','),
      name: `mooringctl-${cmd}`,
      mirror: false,
      auth,
      tls: o['tls-ca'] ? { caFile: o['tls-ca'] } : undefined,
    });
  } catch (e) {
    console.error(`mooringctl ${cmd}: ${(e as Error).message}`);
    return 1;
  }
  const cluster = o.cluster;
  try {
    let acked = false;
    let claims: number | undefined;
    let firstClaims: number | undefined;
    let wake: () => void = () => {};
    bus.subscribe(heartbeatSubject(cluster, node), (_s, d) => {
      const hb = decodeHeartbeat(d);
      if (hb.ok && hb.value.node === node && hb.value.draining === on && !acked) {
        acked = true;
        wake();
      }
    });
    bus.subscribe(claimsSubject(cluster, node), (_s, d) => {
      const c = decodeClaims(d);
      if (!c.ok || c.value.node !== node) return;
      claims = c.value.claims.length;
      firstClaims ??= claims;
      wake();
    });
    await bus.flush();
    bus.publish(drainSubject(cluster, node), encodeDrain({ v: 1, node, draining: on }));
    await bus.flush();
    const deadline = Date.now() + timeoutMs;
    const until = async (cond: () => boolean): Promise<boolean> => {
      while (!cond()) {
        const left = deadline - Date.now();
        if (left <= 0) return false;
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.min(left, 250));
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
      return true;
    };
    if (!(await until(() => acked))) {
      console.error(
        `mooringctl ${cmd}: ${node} did not acknowledge within ${o.timeout} s (no heartbeat with draining=${on}): is its speaker running, and is the cluster name right (--cluster ${cluster})?`,
      );
      return 1;
    }
    console.log(`${node}: ${on ? 'draining' : 'undrained'} (acknowledged by its heartbeat)`);
    if (!on || o['no-wait']) return 0;
    // Claims are republished on every change (and every 5 s), so the last one says what is left.
    if (!(await until(() => claims === 0))) {
      console.error(`mooringctl ${cmd}: ${node} still announces ${claims ?? '?'} IP(s) after ${o.timeout} s (no other eligible node?)`);
      return 1;
    }
    console.log(`${node}: every IP handed over${firstClaims ? ` (${firstClaims} announced when the drain began)` : ''}`);
    return 0;
  } finally {
    await bus.close().catch(() => {});
  }
}
