// The binary min-heap of timers shared by the BFD TimerQueue (src/actors/timer-queue.ts) and the
// simulator's clock (simulations/lib/clock.ts). Pure: deadlines are plain numbers in whatever
// time base the owner uses; nothing here reads a clock.
//
// Order: by deadline (`key`), ties in insertion order (`seq`, stamped by `push`). Nodes belong
// to the caller, who may reuse a node after it left the heap (TimerQueue keeps a spare per
// entry so re-arming allocates nothing). Each node records its slot (`pos`), so `remove` cancels
// in O(log n).

/** A heap node: the caller's object with three fields the heap owns while the node is in it. */
export interface TimerNode {
  /** Deadline: set by `push`. */
  key: number;
  /** Insertion stamp: set by `push`, increasing across the heap's life. */
  seq: number;
  /** Slot in the heap array, -1 when not in the heap. */
  pos: number;
}

export class TimerHeap<N extends TimerNode> {
  private readonly h: N[] = [];
  private next = 0;

  get size(): number {
    return this.h.length;
  }

  /** The stamp the next `push` will give: every node pushed from now on has `seq >= nextSeq`. */
  get nextSeq(): number {
    return this.next;
  }

  /** The node with the earliest deadline (first inserted among equals), without removing it. */
  peek(): N | undefined {
    return this.h[0];
  }

  /** Whether `n` is in this heap. */
  has(n: N): boolean {
    return n.pos >= 0 && this.h[n.pos] === n;
  }

  /** Inserts `n` (not already in the heap) at deadline `key`, after every node already at `key`. */
  push(n: N, key: number): void {
    n.key = key;
    n.seq = this.next++;
    n.pos = this.h.length;
    this.h.push(n);
    this.up(n.pos);
  }

  /** Removes and returns the earliest node. */
  pop(): N | undefined {
    const h = this.h;
    const top = h[0];
    if (top === undefined) return undefined;
    this.removeAt(0);
    return top;
  }

  /** Cancels `n`; false when it is not in the heap (already popped or removed). */
  remove(n: N): boolean {
    if (!this.has(n)) return false;
    this.removeAt(n.pos);
    return true;
  }

  private removeAt(i: number): void {
    const h = this.h;
    const gone = h[i] as N;
    const last = h.pop() as N;
    gone.pos = -1;
    if (last === gone) return;
    h[i] = last;
    last.pos = i;
    if (i > 0 && less(last, h[(i - 1) >> 1] as N)) this.up(i);
    else this.down(i);
  }

  private up(i: number): void {
    const h = this.h;
    const n = h[i] as N;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as N;
      if (!less(n, parent)) break;
      h[i] = parent;
      parent.pos = i;
      i = p;
    }
    h[i] = n;
    n.pos = i;
  }

  private down(i: number): void {
    const h = this.h;
    const n = h[i] as N;
    const len = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= len) break;
      const r = l + 1;
      let c = h[l] as N;
      let ci = l;
      if (r < len && less(h[r] as N, c)) {
        c = h[r] as N;
        ci = r;
      }
      if (!less(c, n)) break;
      h[i] = c;
      c.pos = i;
      i = ci;
    }
    h[i] = n;
    n.pos = i;
  }
}

function less(a: TimerNode, b: TimerNode): boolean {
  return a.key < b.key || (a.key === b.key && a.seq < b.seq);
}
