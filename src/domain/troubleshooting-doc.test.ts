// docs/troubleshooting.md lists every reason the product can emit: the Event reasons (found in the
// source where Events are built), the notAnnounced reasons (election and plan), the allocator's
// refusal codes and the BGP session's down reasons. A new reason without a row fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Reason } from './election.js';
import { PlanReason } from './speaker-plan.js';
import { SpeakerEventReason } from './speaker-status.js';
import { RefusalCode } from './allocator/types.js';
import { DownReason } from '../machines/bgp-session.machine.js';

const SRC = join(import.meta.dirname, '..');
const DOC = readFileSync(join(SRC, '..', 'docs', 'troubleshooting.md'), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) return sources(p);
    return e.endsWith('.ts') && !e.endsWith('.test.ts') ? [p] : [];
  });
}

/** Event reasons written as literals where Events are built: `type: 'Warning', reason: 'X'` and `record(…, 'Normal', 'X', …)`. */
function eventReasonsInSource(): Set<string> {
  const found = new Set<string>();
  for (const f of sources(SRC)) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/type: '(?:Normal|Warning)',\s*reason: '(\w+)'/g)) found.add(m[1] as string);
    for (const m of text.matchAll(/'(?:Normal|Warning)',\s*'(\w+)',/g)) found.add(m[1] as string);
  }
  return found;
}

const documented = (r: string): boolean => DOC.includes(`\`${r}\``);

test('the source scan finds the Event reasons it should (the scan itself works)', () => {
  const found = eventReasonsInSource();
  for (const r of ['IPAllocated', 'AllocationFailed', 'LoadBalancerFailed', 'ClearAssignment', 'nodeAssigned', 'deprecatedAnnotation'])
    assert.ok(found.has(r), `${r} not found by the scan: ${[...found].join(', ')}`);
});

test('docs/troubleshooting.md documents every reason the product emits', () => {
  const groups: Record<string, readonly string[]> = {
    'Event reasons (source)': [...eventReasonsInSource()],
    'speaker Event reasons': Object.values(SpeakerEventReason),
    'notAnnounced reasons (election)': Object.values(Reason),
    'notAnnounced reasons (plan)': Object.values(PlanReason),
    'AllocationFailed codes': Object.values(RefusalCode),
    'BGP session down reasons': Object.values(DownReason),
  };
  const missing = Object.entries(groups).flatMap(([g, rs]) => rs.filter((r) => !documented(r)).map((r) => `${g}: ${r}`));
  assert.deepEqual(missing, [], 'add a row for each to docs/troubleshooting.md');
});

test('the troubleshooting page covers the MetalLB troubleshooting topics', () => {
  for (const h of [
    'stays `<pending>`',
    'allocated but not reachable',
    'failover is slow',
    'BGP session does not establish',
    'through one node',
    'source IP',
    'IPVS',
    'shared IP',
    'Routes do not reach',
    'restarts or is not ready',
    "MetalLB's ConfigMap",
  ])
    assert.match(DOC, new RegExp(`^### .*${h.replace(/[()<>`']/g, '.')}`, 'm'), h);
});
