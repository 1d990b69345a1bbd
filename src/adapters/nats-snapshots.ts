// Asks live speakers for their state-feed snapshot (`snapreq.<node>` → `snap.<node>`, the viewer's
// permissions suffice) and collects the answers until every node answered or the time is up.
import { decodeSnapshot } from '../codecs/state-feed.js';
import type { SnapshotMessage } from '../domain/state-feed.js';
import { snapshotRequestSubject, snapshotSubject } from '../domain/subjects.js';

export interface SnapshotBus {
  publish(subject: string, data: Uint8Array): void;
  subscribe(subject: string, cb: (subject: string, data: Uint8Array) => void): () => void;
  flush?(): Promise<void>;
}

export async function askSnapshots(
  bus: SnapshotBus,
  cluster: string,
  nodes: readonly string[],
  timeoutMs: number,
): Promise<SnapshotMessage[]> {
  if (nodes.length === 0) return [];
  const got = new Map<string, SnapshotMessage>();
  let done: () => void = () => undefined;
  const all = new Promise<void>((r) => (done = r));
  const unsubs = nodes.map((node) =>
    bus.subscribe(snapshotSubject(cluster, node), (_s, data) => {
      const m = decodeSnapshot(data);
      if (!m.ok || m.value.node !== node) return;
      got.set(node, m.value);
      if (got.size === nodes.length) done();
    }),
  );
  try {
    await bus.flush?.(); // the subscriptions are in place before anyone answers
    for (const node of nodes) bus.publish(snapshotRequestSubject(cluster, node), new Uint8Array());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  } finally {
    for (const u of unsubs) u();
  }
  return [...got.values()];
}
