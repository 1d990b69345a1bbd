// `npm run bench:wakeup`: what one timer wake-up of a process costs on this machine, the figure
// behind the BFD poll period (docs/bfd.md, Batched socket I/O). For each period: a Node
// `setTimeout` chain in a child process, and (when `cc` is installed) a C loop of `epoll_wait`
// with that timeout, each run for WAKEUP_SECONDS (default 8) and measured with getrusage (user +
// system). Prints a table and a final JSON line. No network, no root needed. Figures depend on
// the machine (on a virtual machine, waking an idle vCPU is charged to the woken process).
// Env: WAKEUP_PERIODS_MS (default "1,2,5,10,20"), WAKEUP_SECONDS.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const PERIODS = (process.env.WAKEUP_PERIODS_MS ?? '1,2,5,10,20')
  .split(',')
  .map(Number)
  .filter((x) => x > 0);
const SECONDS = Number(process.env.WAKEUP_SECONDS ?? 8);
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

interface Row {
  wakesPerSec: number;
  cpuPct: number;
  usPerWake: number;
}

// Prints `wakes cpuUs wallUs` after running for the given seconds.
const NODE_CHILD = `
const ms = Number(process.argv[1]), secs = Number(process.argv[2]);
let n = 0; const c0 = process.cpuUsage(); const t0 = performance.now();
const f = () => { n++; if (performance.now() - t0 < secs * 1000) setTimeout(f, ms); else { const c = process.cpuUsage(c0); console.log(n, c.user + c.system, (performance.now() - t0) * 1000); } };
setTimeout(f, ms);`;

const C_SOURCE = `
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/resource.h>
int main(int argc, char **argv) {
  int ms = atoi(argv[1]); double secs = atof(argv[2]);
  int ep = epoll_create1(0); struct epoll_event e; struct timespec a, b; long n = 0;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (;;) { epoll_wait(ep, &e, 1, ms); n++; clock_gettime(CLOCK_MONOTONIC, &b);
    if ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 >= secs) break; }
  struct rusage r; getrusage(RUSAGE_SELF, &r);
  double cpu = (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
  printf("%ld %.0f %.0f\\n", n, cpu, ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3);
  return 0;
}`;

function parse(out: string): Row {
  const [n = NaN, cpuUs = NaN, wallUs = NaN] = out.trim().split(/\s+/).map(Number);
  return { wakesPerSec: Math.round((n / wallUs) * 1e6), cpuPct: r2((cpuUs / wallUs) * 100), usPerWake: r1(cpuUs / n) };
}

function main(): void {
  const load0 = loadavg().map(r1);
  const dir = mkdtempSync(join(tmpdir(), 'mooring-wakeup-'));
  try {
    let cBin: string | undefined = join(dir, 'wake');
    const cc = spawnSync('cc', ['-O2', '-x', 'c', '-o', cBin, '-'], { input: C_SOURCE });
    if (cc.status !== 0) {
      process.stderr.write('cc not available or failed: C loop skipped\n');
      cBin = undefined;
    }
    const rows: Array<{ periodMs: number; node: Row; c?: Row }> = [];
    for (const ms of PERIODS) {
      process.stderr.write(`\rperiod ${ms} ms   `);
      const node = parse(execFileSync(process.execPath, ['-e', NODE_CHILD, String(ms), String(SECONDS)], { encoding: 'utf8' }));
      const c = cBin ? parse(execFileSync(cBin, [String(ms), String(SECONDS)], { encoding: 'utf8' })) : undefined;
      rows.push({ periodMs: ms, node, ...(c ? { c } : {}) });
    }
    process.stderr.write('\n');
    const table = [
      ['period', 'Node wake-ups/s', 'Node CPU %', 'Node µs/wake-up', 'C wake-ups/s', 'C CPU %', 'C µs/wake-up'],
      ...rows.map((r) => [
        `${r.periodMs} ms`,
        String(r.node.wakesPerSec),
        String(r.node.cpuPct),
        String(r.node.usPerWake),
        r.c ? String(r.c.wakesPerSec) : '-',
        r.c ? String(r.c.cpuPct) : '-',
        r.c ? String(r.c.usPerWake) : '-',
      ]),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join('  '));
    console.log(JSON.stringify({ seconds: SECONDS, rows, loadAvg: { start: load0, end: loadavg().map(r1) } }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
