// A bounded memo of a pure parse, for annotation values many pods share: the `ip_pool` list of
// a workload's template is the same text on every replica, and parsing 100,000 addresses once
// per pod made a pod's cost grow with the pool (issue #15). Rules:
// - Only values of at least `minLength` characters are kept: short ones cost less to parse than
//   to keep, and a cluster may hold one per pod.
// - Equal text gives the very same result object while it is kept, so callers may use its
//   identity (PoolHolds.ts holds a shared pool's addresses once per state).
// - At most `maxValues` values and `maxChars` characters of them are kept; the least recently
//   used goes first. A value dropped is parsed again when next seen: same text, equal result.
// - The cache is a function of its input only (no clock, no randomness): the domain stays pure
//   in what it returns; only the time it takes depends on what was seen before.
export interface MemoLimits {
  readonly minLength: number;
  readonly maxValues: number;
  readonly maxChars: number;
}

/** `parse`, remembering its results for long values (see the file's rules). */
export const boundedMemo = <A>(parse: (value: string) => A, limits: MemoLimits): ((value: string) => A) => {
  const kept = new Map<string, A>();
  let chars = 0;
  return (value: string): A => {
    if (value.length < limits.minLength || value.length > limits.maxChars) return parse(value);
    const hit = kept.get(value);
    if (hit !== undefined || kept.has(value)) {
      // Re-inserted: a Map iterates in insertion order, so its first key is the least recently used.
      kept.delete(value);
      kept.set(value, hit as A);
      return hit as A;
    }
    const result = parse(value);
    kept.set(value, result);
    chars += value.length;
    for (const oldest of kept.keys()) {
      if (kept.size <= limits.maxValues && chars <= limits.maxChars) break;
      kept.delete(oldest);
      chars -= oldest.length;
    }
    return result;
  };
};
