// mulberry32: a small, fast, seedable 32-bit PRNG. The pure layers never call Math.random: BFD
// jitter keeps the state in machine context (`nextRandom`), the simulator and benchmarks use a
// seeded closure (`rng`), so every run with the same seed does the same thing.

/** One step: returns [value in [0,1), next state]. */
export function nextRandom(state: number): [number, number] {
  const s = (state + 0x6d2b79f5) >>> 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, s];
}

/** A seeded generator of numbers in [0, 1). */
export function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    const [v, next] = nextRandom(state);
    state = next;
    return v;
  };
}
