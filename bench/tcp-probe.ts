// TCP prober for the chaos lab (test/lib/chaos-lab.ts): runs INSIDE a client namespace and opens a
// new TCP connection to every IP every PERIOD ms; the lab's servers (Cluster.serveOnNodes) write the
// serving node's name as their first line.
//   tcp-probe.ts <periodMs> <port> <ip,ip,…>
// Prints {"listening":true} at once, then one line per attempt once it ends:
//   {"ip","t","ok":true,"node","ms"}   the server's first line arrived (t = connect start, ms since the epoch)
//   {"ip","t","ok":false,"err"}         refused, reset, closed without a line, or nothing within 1 s
import { connect } from 'node:net';

const [periodArg = '500', portArg = '80', ipsArg = ''] = process.argv.slice(2);
const PERIOD = Number(periodArg);
const PORT = Number(portArg);
const IPS = ipsArg.split(',').filter(Boolean);
const TIMEOUT_MS = 1000;

function attempt(ip: string): void {
  const t = Date.now();
  let done = false;
  let buf = '';
  const finish = (r: { ok: true; node: string } | { ok: false; err: string }): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    sock.destroy();
    process.stdout.write(`${JSON.stringify({ ip, t, ...r, ...(r.ok ? { ms: Date.now() - t } : {}) })}\n`);
  };
  const sock = connect({ host: ip, port: PORT });
  const timer = setTimeout(() => finish({ ok: false, err: 'timeout' }), TIMEOUT_MS);
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => {
    buf += d;
    const nl = buf.indexOf('\n');
    if (nl >= 0) finish({ ok: true, node: buf.slice(0, nl).trim() });
  });
  sock.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, err: e.code ?? e.message }));
  sock.on('close', () => finish({ ok: false, err: 'closed' }));
}

process.stdout.write(`${JSON.stringify({ listening: true })}\n`);
const t0 = Date.now();
let k = 0;
const tick = (): void => {
  for (const ip of IPS) attempt(ip);
  k++;
  setTimeout(tick, Math.max(0, t0 + k * PERIOD - Date.now()));
};
tick();
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
