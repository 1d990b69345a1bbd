// `mooring chaos sim` / `replay` as a user runs them (src/bin/chaos.ts): a run that breaks an
// invariant (the test-only planted fencing bug) exits 1, shrinks its schedule and writes the
// shrunk trace; `replay` of that trace gives the same record and violations (exit 1), and a trace
// whose schedule was edited is reported as different (exit 3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const chaos = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/bin/chaos.ts'), ...args], { cwd: root, encoding: 'utf8' });

test('chaos sim with a planted bug exits 1 and writes a shrunk trace that chaos replay reproduces', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'chaos-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const shrunk = join(dir, 'shrunk.jsonl');
  const sim = chaos(
    'sim',
    '--seed',
    '3',
    '--nodes',
    '4',
    '--services',
    '12',
    '--duration',
    '60s',
    '--planted-bug',
    'zombie-l2',
    '--shrunk',
    shrunk,
  );
  assert.equal(sim.status, 1, sim.stderr + sim.stdout);
  assert.match(sim.stdout, /shrunk: \d+ faults \(from \d+\)/);
  const lines = readFileSync(shrunk, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const run = lines[0] as { type: string; version: number; shrunk: { fromFaults: number } };
  assert.equal(run.type, 'run');
  assert.equal(run.version, 1);
  const faults = lines.filter((l) => l.type === 'fault');
  assert.ok(faults.length >= 1 && faults.length < run.shrunk.fromFaults, `${faults.length} of ${run.shrunk.fromFaults} faults`);
  assert.ok(lines.some((l) => l.type === 'violation'));

  const html = join(dir, 'replay.html');
  const again = chaos('replay', shrunk, '--report', html);
  assert.equal(again.status, 1, again.stdout);
  assert.match(readFileSync(html, 'utf8'), /<td>P1<\/td><td>[^<]*<\/td><td class="bad">[1-9]/, 'the report shows the P1 violations');
  assert.match(again.stdout, /replay: the same \d+ log entries and the same \d+ violations/);

  // An edited schedule is another run: the replay says where the record differs.
  const edited = join(dir, 'edited.jsonl');
  const kill = lines.findIndex((l) => l.type === 'fault');
  const changed = lines.map((l, i) => (i === kill ? { ...l, at: (l.at as number) - 700 } : l));
  writeFileSync(edited, changed.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const other = chaos('replay', edited);
  assert.equal(other.status, 3, other.stdout);
  assert.match(other.stdout, /replay: the logs differ at entry \d+/);
});
