// Run inside a client namespace: reads JSON lines {"ip": "...", "port": 80} on stdin and, for each,
// opens a TCP connection every 10 ms (each attempt bounded by 500 ms) until one returns a first
// line (the serving node's name with Cluster.serveOnNodes) or 120 s pass; prints one JSON line per
// IP: {"ip": "...", "ok": true, "at": <Date.now() when reached>, "node": "n2", "attempts": 7}.
// bench/e2e.bench.ts uses it to time Service creation → reachable (same host clock).
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

function once(ip: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buf = '';
    let done = false;
    const s = connect({ host: ip, port });
    const finish = (v: string | undefined) => { if (done) return; done = true; clearTimeout(t); s.destroy(); resolve(v); };
    const t = setTimeout(() => finish(undefined), 500);
    s.setEncoding('utf8');
    s.on('data', (d: string) => { buf += d; const nl = buf.indexOf('\n'); if (nl >= 0) finish(buf.slice(0, nl).trim()); });
    s.on('error', () => finish(undefined));
    s.on('close', () => finish(undefined));
  });
}

async function probe(ip: string, port: number): Promise<void> {
  const end = Date.now() + 120_000;
  let attempts = 0;
  while (Date.now() < end) {
    attempts++;
    const next = Date.now() + 10;
    const node = await once(ip, port);
    if (node) { process.stdout.write(`${JSON.stringify({ ip, ok: true, at: Date.now(), node, attempts })}\n`); return; }
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  process.stdout.write(`${JSON.stringify({ ip, ok: false, at: Date.now(), attempts })}\n`);
}

createInterface({ input: process.stdin }).on('line', (l) => {
  try {
    const q = JSON.parse(l) as { ip: string; port?: number };
    void probe(q.ip, q.port ?? 80);
  } catch { /* ignore malformed lines */ }
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
