// Wires a running bfdSession actor to its bgpSession (or anything accepting the two events):
// every BFD snapshot is mapped by domain/bfd-coupling.ts, synchronously, so a BFD down reaches
// BGP in the same tick as the detection timer firing.
import { bgpEventForBfd, type BfdView, type BgpBfdEvent } from '../domain/bfd-coupling.js';
import { sessionStateOf } from '../machines/bfd-session.machine.js';
import type { BfdSessionRef } from './bfd-session-runner.js';

export function coupleBfdToBgp(bfd: Pick<BfdSessionRef, 'getSnapshot' | 'subscribe'>, send: (ev: BgpBfdEvent) => void): () => void {
  const view = (): BfdView => {
    const s = bfd.getSnapshot();
    return { state: sessionStateOf(s.value), downReason: s.context.downReason };
  };
  let prev: BfdView | undefined;
  const step = (): void => {
    const next = view();
    const ev = bgpEventForBfd(prev, next);
    prev = next;
    if (ev) send(ev);
  };
  step();
  const sub = bfd.subscribe(step);
  return () => sub.unsubscribe();
}
