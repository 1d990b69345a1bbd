// Run inside a client namespace: reads JSON lines {"ip": "...", "port": 80} on stdin and, for each,
// opens a new TCP connection every 10 ms (overlapping, each bounded by 1 s) until one returns a first
// line (the serving node's name with Cluster.serveOnNodes) or 120 s pass; prints one JSON line per
// IP: {"ip": "...", "ok": true, "at": <Date.now() when reached>, "node": "n2", "attempts": 7}.
// bench/e2e.bench.ts uses it to time Service creation → reachable (same host clock).
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

function once(ip: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buf = '';
    let done = false;
    const s = connect({ host: ip, port });
    const finish = (v: string | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => finish(undefined), timeoutMs);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish(buf.slice(0, nl).trim());
    });
    s.on('error', () => finish(undefined));
    s.on('close', () => finish(undefined));
  });
}

/**
 * Starts a new attempt every 10 ms without waiting for the previous ones (at most 100 in flight,
 * each bounded by 1 s): a SYN dropped before the path existed (no route yet, ICMP errors rate-
 * limited) must not hide the moment the path appears behind a retransmit or a timeout.
 */
async function probe(ip: string, port: number): Promise<void> {
  const end = Date.now() + 120_000;
  let attempts = 0;
  let inFlight = 0;
  let done = false;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      if (done) return;
      if (Date.now() > end) {
        done = true;
        process.stdout.write(`${JSON.stringify({ ip, ok: false, at: Date.now(), attempts })}\n`);
        resolve();
        return;
      }
      if (inFlight < 100) {
        attempts++;
        inFlight++;
        void once(ip, port, 1000).then((node) => {
          inFlight--;
          if (!node || done) return;
          done = true;
          process.stdout.write(`${JSON.stringify({ ip, ok: true, at: Date.now(), node, attempts })}\n`);
          resolve();
        });
      }
      setTimeout(tick, 10);
    };
    tick();
  });
}

createInterface({ input: process.stdin }).on('line', (l) => {
  try {
    const q = JSON.parse(l) as { ip: string; port?: number };
    void probe(q.ip, q.port ?? 80);
  } catch {
    /* ignore malformed lines */
  }
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
