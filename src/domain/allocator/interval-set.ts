// The free addresses of one range, as disjoint, non-adjacent inclusive intervals of indexes kept
// in a treap ordered by start. A fresh /64 is one node; memory grows with the number of holes the
// allocations punch, never with the size of the range. Every operation is O(log n) expected.
// Priorities come from a fixed-seed xorshift, so the tree shape (and its cost) is reproducible.

interface Node {
  lo: bigint;
  hi: bigint;
  readonly pri: number;
  left: Node | null;
  right: Node | null;
}

export class IntervalSet {
  private root: Node | null = null;
  private seed = 0x9e3779b9;
  private nodes = 0;
  /** Number of indexes in the set. */
  count = 0n;

  /** A set holding 0..size-1 (empty when size is 0). */
  constructor(size: bigint) {
    if (size > 0n) {
      this.insertNode(0n, size - 1n);
      this.count = size;
    }
  }

  /** Number of intervals (the memory the set holds). */
  get intervals(): number {
    return this.nodes;
  }

  /** The lowest index in the set. */
  first(): bigint | undefined {
    let n = this.root;
    if (!n) return undefined;
    while (n.left) n = n.left;
    return n.lo;
  }

  has(i: bigint): boolean {
    const n = this.floor(i);
    return n !== null && n.hi >= i;
  }

  /** Removes index i; false when it was not in the set. */
  take(i: bigint): boolean {
    const n = this.floor(i);
    if (!n || n.hi < i) return false;
    if (n.lo === n.hi) this.removeNode(n.lo);
    else if (i === n.lo)
      n.lo = i + 1n; // order among starts is preserved: i+1 <= hi < next.lo
    else if (i === n.hi) n.hi = i - 1n;
    else {
      const hi = n.hi;
      n.hi = i - 1n;
      this.insertNode(i + 1n, hi);
    }
    this.count -= 1n;
    return true;
  }

  /** Adds index i back, merging with its neighbours; false when it was already in the set. */
  give(i: bigint): boolean {
    const p = this.floor(i);
    if (p && p.hi >= i) return false;
    const s = this.ceilingAbove(i);
    const joinsPrev = p !== null && p.hi === i - 1n;
    const joinsNext = s !== null && s.lo === i + 1n;
    if (joinsPrev && joinsNext) {
      const hi = s.hi;
      this.removeNode(s.lo);
      p.hi = hi;
    } else if (joinsPrev) p.hi = i;
    else if (joinsNext)
      s.lo = i; // still above p.hi + 1, so the order holds
    else this.insertNode(i, i);
    this.count += 1n;
    return true;
  }

  /** Intervals in order (tests, debugging). */
  toArray(): Array<[bigint, bigint]> {
    const out: Array<[bigint, bigint]> = [];
    const walk = (n: Node | null): void => {
      if (!n) return;
      walk(n.left);
      out.push([n.lo, n.hi]);
      walk(n.right);
    };
    walk(this.root);
    return out;
  }

  /** The node with the greatest start <= i. */
  private floor(i: bigint): Node | null {
    let n = this.root;
    let best: Node | null = null;
    while (n) {
      if (n.lo <= i) {
        best = n;
        n = n.right;
      } else n = n.left;
    }
    return best;
  }

  /** The node with the least start > i. */
  private ceilingAbove(i: bigint): Node | null {
    let n = this.root;
    let best: Node | null = null;
    while (n) {
      if (n.lo > i) {
        best = n;
        n = n.left;
      } else n = n.right;
    }
    return best;
  }

  private nextPri(): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed;
  }

  private insertNode(lo: bigint, hi: bigint): void {
    const node: Node = { lo, hi, pri: this.nextPri(), left: null, right: null };
    const [l, r] = split(this.root, lo);
    this.root = merge(merge(l, node), r);
    this.nodes++;
  }

  private removeNode(lo: bigint): void {
    this.root = remove(this.root, lo);
    this.nodes--;
  }
}

/** Splits into (starts < key, starts >= key). */
function split(n: Node | null, key: bigint): [Node | null, Node | null] {
  if (!n) return [null, null];
  if (n.lo < key) {
    const [l, r] = split(n.right, key);
    n.right = l;
    return [n, r];
  }
  const [l, r] = split(n.left, key);
  n.left = r;
  return [l, n];
}

function merge(a: Node | null, b: Node | null): Node | null {
  if (!a) return b;
  if (!b) return a;
  if (a.pri > b.pri) {
    a.right = merge(a.right, b);
    return a;
  }
  b.left = merge(a, b.left);
  return b;
}

function remove(n: Node | null, lo: bigint): Node | null {
  if (!n) return null;
  if (lo < n.lo) n.left = remove(n.left, lo);
  else if (lo > n.lo) n.right = remove(n.right, lo);
  else return merge(n.left, n.right);
  return n;
}
