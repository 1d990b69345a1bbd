// The entry points stay composition roots: flags, adapters, actors, signals. Logic with state
// belongs in an actor behind ports (src/actors), where unit tests and the simulator run it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('.', import.meta.url).pathname;
const MAX_LINES = 200;

test(`every entry point in src/bin is at most ${MAX_LINES} lines`, () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  assert.ok(files.includes('speaker.ts') && files.includes('controller.ts'), `entry points found: ${files.join(', ')}`);
  const over = files
    .map((f) => ({ f, lines: readFileSync(join(dir, f), 'utf8').split('\n').length - 1 }))
    .filter((x) => x.lines > MAX_LINES)
    .map((x) => `${x.f}: ${x.lines} lines`);
  assert.deepEqual(over, [], 'move the logic into an actor (src/actors) and wire it here');
});
