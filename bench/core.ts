// Benchmarks of the allocation core (issue 2): throughput at scale, against a naive baseline,
// cost per allocation as claims grow, and memory independence from the subnet's size.
import * as E from 'fp-ts/lib/Either.js';
import type { Family } from '../src/domain/Address.js';
import { formatValue } from '../src/domain/Address.js';
import type { AllocationRequest } from '../src/domain/Allocator.js';
import { allocate, allocateAll, release } from '../src/domain/Allocator.js';
import type { IpamState } from '../src/domain/IpamState.js';
import { emptyState } from '../src/domain/IpamState.js';
import { rebuild } from '../src/domain/Rebuild.js';
import type { Subnet } from '../src/domain/Subnet.js';
import { canonicalize } from '../src/domain/Subnet.js';
import { heapMiB, measure, report } from './report.js';

const makeSubnet = (name: string, cidrBlock: string, excludeIps: string[] = []): Subnet => {
  const r = canonicalize({ metadata: { name }, spec: { cidrBlock, provider: `${name}.bench`, excludeIps } });
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

/** `count` excluded ranges of 3 addresses spread evenly over the CIDR. */
const spreadExcludes = (family: Family, start: bigint, size: bigint, count: number): string[] => {
  const step = size / BigInt(count + 1);
  return Array.from({ length: count }, (_, i) => {
    const lo = start + step * BigInt(i + 1);
    return `${formatValue(family, lo)}..${formatValue(family, lo + 2n)}`;
  });
};

const request = (subnet: string, i: number): AllocationRequest => ({
  key: { podUid: `pod-${i}`, provider: `${subnet}.bench` },
  owner: { namespace: 'bench', name: `pod-${i}` },
  subnet,
  now: i,
});

const mustAllocate = (state: IpamState, req: AllocationRequest): IpamState => {
  const r = allocate(state, req);
  if (E.isLeft(r)) throw new Error(`${req.subnet}: ${r.left.message}`);
  return r.right.state;
};

const mixedSubnets = (): Subnet[] =>
  Array.from({ length: 100 }, (_, i) => {
    if (i % 3 === 0) return makeSubnet(`s16-${i}`, `10.${i}.0.0/16`, spreadExcludes(4, BigInt(0x0a000000 + i * 65536), 65536n, 1000));
    if (i % 3 === 1) return makeSubnet(`s8-${i}`, `${i}.0.0.0/8`, spreadExcludes(4, BigInt(i) << 24n, 1n << 24n, 1000));
    const prefix = 0xfd00n << 112n | (BigInt(i) << 64n);
    return makeSubnet(`s64-${i}`, `${formatValue(6, prefix)}/64`, spreadExcludes(6, prefix, 1n << 64n, 1000));
  });

/** A count as figure names spell it: 100000 → `100k`, 2500 → `2500`. */
const countName = (n: number): string => (n % 1000 === 0 ? `${n / 1000}k` : String(n));

/** (a) 100,000 allocations (`n`: fewer in `--quick`) over 100 mixed subnets with 1,000 excluded
 *  ranges each; release of every other one; n/2 reallocations; rebuild from the claims. */
export const benchScale = (n = 100_000): void => {
  const subnets = mixedSubnets();
  const alloc = measure((sample) => {
    let state = emptyState(subnets);
    for (let i = 0; i < n; i++) {
      state = mustAllocate(state, request(subnets[i % 100]!.name, i));
      if (i % 5000 === 0) sample();
    }
    return state;
  });
  report({ name: `core.allocate.${countName(n)}_mixed_subnets`, value: alloc.ms, unit: 'ms' });
  report({ name: `core.allocate.${countName(n)}_mixed_subnets.peak_heap`, value: alloc.peakMiB, unit: 'MiB' });

  const rel = measure((sample) => {
    let state = alloc.result;
    for (let i = 0; i < n; i += 2) {
      state = release(state, `pod-${i}/${subnets[i % 100]!.name}.bench`, n + i);
      if (i % 5000 === 0) sample();
    }
    return state;
  });
  report({ name: `core.release.${countName(n / 2)}`, value: rel.ms, unit: 'ms' });
  report({ name: `core.release.${countName(n / 2)}.peak_heap`, value: rel.peakMiB, unit: 'MiB' });

  const realloc = measure((sample) => {
    let state = rel.result;
    for (let i = 0; i < n / 2; i++) {
      state = mustAllocate(state, request(subnets[i % 100]!.name, n + i));
      if (i % 5000 === 0) sample();
    }
    return state;
  });
  report({ name: `core.reallocate.${countName(n / 2)}`, value: realloc.ms, unit: 'ms' });
  report({ name: `core.reallocate.${countName(n / 2)}.peak_heap`, value: realloc.peakMiB, unit: 'MiB' });

  const claims = [...realloc.result.claims.values()];
  const rebuilt = measure(() => rebuild(subnets, claims));
  if (rebuilt.result.conflicts.length > 0) throw new Error(`rebuild found ${rebuilt.result.conflicts.length} conflicts`);
  report({ name: `core.rebuild.${claims.length}_claims`, value: rebuilt.ms, unit: 'ms' });
  report({ name: `core.rebuild.${claims.length}_claims.peak_heap`, value: rebuilt.peakMiB, unit: 'MiB' });
};

/** The naive baseline: a Set of allocated address strings per subnet, scanning up from the first host. */
const naiveAllocate = (used: Set<string>, first: number): string => {
  for (let v = first; ; v++) {
    const text = formatValue(4, BigInt(v));
    if (!used.has(text)) {
      used.add(text);
      return text;
    }
  }
};

/** (b) 100,000 allocations (`n`) in 100 IPv4 /16s without excludes: the core against the naive baseline. */
export const benchAgainstNaive = (n = 100_000): void => {
  const subnets = Array.from({ length: 100 }, (_, i) => makeSubnet(`n-${i}`, `10.${i}.0.0/16`));
  const requests = Array.from({ length: n }, (_, i) => request(subnets[i % 100]!.name, i));
  // The batch path: one draft for all (how the planner and the rebuild allocate).
  const batch = measure(() => {
    const { state, results } = allocateAll(emptyState(subnets), requests);
    if (results.some(E.isLeft)) throw new Error('batch allocation failed');
    return state;
  });
  // The one-at-a-time path: a new immutable state after every allocation (the controller's).
  const single = measure(() => {
    let state = emptyState(subnets);
    for (const r of requests) state = mustAllocate(state, r);
    return state;
  });
  const naive = measure(() => {
    const sets = subnets.map(() => new Set<string>());
    for (let i = 0; i < n; i++) naiveAllocate(sets[i % 100]!, 0x0a000000 + (i % 100) * 65536 + 2);
    return sets;
  });
  report({ name: `core.allocate_batch.${countName(n)}_in_100x/16`, value: batch.ms, unit: 'ms', baseline: naive.ms, baselineName: 'naive Set<string> scan', ratio: naive.ms / batch.ms, target: 'ratio >= 20' });
  report({ name: `core.allocate_one_by_one.${countName(n)}_in_100x/16`, value: single.ms, unit: 'ms', baseline: naive.ms, baselineName: 'naive Set<string> scan', ratio: naive.ms / single.ms });
};

const BATCH = 5_000;

/** A subnet state already holding `held` claims, and the next BATCH requests. */
const growthCase = (held: number) => {
  const s = makeSubnet('grow', '10.0.0.0/8', spreadExcludes(4, 0x0a000000n, 1n << 24n, 1000));
  const { state } = allocateAll(emptyState([s]), Array.from({ length: held }, (_, i) => request('grow', i)));
  return { state, more: Array.from({ length: BATCH }, (_, i) => request('grow', held + i)) };
};

/** Cost per allocation of BATCH allocations into a subnet holding 1,000 and 100,000 claims
 *  (`held`), through the batch path (`allocateAll`) or one at a time (`allocate`): best of 9
 *  rounds, the two sizes alternating so the machine's noise falls on both alike. */
export const benchGrowth = (held = 100_000, rounds = 9): void => {
  const small = growthCase(1_000);
  const large = growthCase(held);
  for (const batch of [true, false]) {
    const run = (c: ReturnType<typeof growthCase>) => measure(() => (batch ? allocateAll(c.state, c.more).state : c.more.reduce(mustAllocate, c.state))).ms / BATCH;
    let [bestSmall, bestLarge] = [Infinity, Infinity];
    for (let round = 0; round < rounds; round++) {
      bestSmall = Math.min(bestSmall, run(small));
      bestLarge = Math.min(bestLarge, run(large));
    }
    report({
      name: `core.per_allocation_${batch ? 'batch' : 'one_by_one'}.at_${countName(held)}_claims`, value: bestLarge * 1000, unit: 'us',
      baseline: bestSmall * 1000, baselineName: 'per allocation at 1,000 claims', ratio: bestLarge / bestSmall, ...(batch ? { target: 'ratio <= 1.5' } : {}),
    });
  }
};

/** Heap held by 40 states, each with the same 250 claims, in a subnet of the given CIDR. */
const heldBy = (cidr: string): number => {
  const s = makeSubnet('mem', cidr);
  const requests = Array.from({ length: 250 }, (_, i) => request('mem', i));
  const before = heapMiB();
  const states = Array.from({ length: 40 }, () => requests.reduce(mustAllocate, emptyState([s])));
  const held = heapMiB() - before;
  if (states.length !== 40) throw new Error('unreachable');
  return held;
};

/** Median of five interleaved rounds, so heap noise hits every size alike. */
export const benchMemory = (): void => {
  const cidrs = ['10.0.0.0/24', '10.0.0.0/8', 'fd00::/64'];
  const rounds = Array.from({ length: 5 }, () => cidrs.map(heldBy));
  const median = (i: number) => rounds.map((r) => r[i]!).sort((a, b) => a - b)[2]!;
  const [m24, m8, m64] = [median(0), median(1), median(2)];
  report({ name: 'core.memory.250_claims./8', value: m8, unit: 'MiB', baseline: m24, baselineName: 'same claims in a /24', ratio: m8 / m24, target: 'ratio <= 1.2' });
  report({ name: 'core.memory.250_claims./64', value: m64, unit: 'MiB', baseline: m24, baselineName: 'same claims in a /24', ratio: m64 / m24, target: 'ratio <= 1.2' });
};
