// Run inside a client namespace (Cluster.spawn): opens a new TCP connection to ip:port every
// `everyMs` for `durationMs`, reads the first line (the serving node's name with
// Cluster.serveOnNodes) and prints one JSON line per attempt, then a summary line:
//   {"event":"attempt","i":3,"ok":true,"node":"n2","ms":1.2,"connected":true}
//   {"event":"summary","attempts":250,"failures":0,"byNode":{"n1":120,"n2":130}}
// Used by the e2e tests to show that a handover loses no connection attempt. With `http` last, it
// sends an HTTP/1.0 GET and takes the last line of the answer (a backend that names itself in its body).
//   tsx test/lib/reach-loop.ts <ip> <port> <durationMs> <everyMs> [timeoutMs] [http]
import { connect } from 'node:net';

const [ip = '', portS = '80', durS = '10000', everyS = '50', timeoutS = '1000', mode = ''] = process.argv.slice(2);
const http = mode === 'http';
const port = Number(portS);
const timeoutMs = Number(timeoutS);

/** `connected`: the connection was established (its SYN answered) before it failed or succeeded. */
function attempt(): Promise<{ ok: boolean; node?: string; err?: string; ms: number; connected: boolean }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let buf = '';
    let done = false;
    let connected = false;
    const finish = (r: { ok: boolean; node?: string; err?: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ ...r, ms: Math.round((performance.now() - t0) * 10) / 10, connected });
    };
    const s = connect({ host: ip, port });
    const timer = setTimeout(() => finish({ ok: false, err: 'timeout' }), timeoutMs);
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0 && !http) finish({ ok: true, node: buf.slice(0, nl).trim() });
    });
    s.on('connect', () => {
      connected = true;
      if (http) s.write(`GET / HTTP/1.0\r\nHost: ${ip}\r\n\r\n`);
    });
    s.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, err: e.code ?? e.message }));
    s.on('close', () => {
      const last = buf.trim().split('\n').at(-1)?.trim();
      if (http && /^HTTP\/1\.\d 200/.test(buf) && last) finish({ ok: true, node: last });
      else finish({ ok: false, err: http ? `no 200 answer (${JSON.stringify(buf.slice(0, 40))})` : 'closed before the first line' });
    });
  });
}

const end = Date.now() + Number(durS);
const byNode: Record<string, number> = {};
let attempts = 0;
let failures = 0;
while (Date.now() < end) {
  const next = Date.now() + Number(everyS);
  const r = await attempt();
  attempts++;
  if (r.ok && r.node) byNode[r.node] = (byNode[r.node] ?? 0) + 1;
  else failures++;
  process.stdout.write(`${JSON.stringify({ event: 'attempt', i: attempts, ...r })}\n`);
  const wait = next - Date.now();
  if (wait > 0) await new Promise((res) => setTimeout(res, wait));
}
process.stdout.write(`${JSON.stringify({ event: 'summary', attempts, failures, byNode })}\n`);
