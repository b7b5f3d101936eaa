// Invariants of the allocator under random interleavings of allocations and releases.
import { describe, it, expect } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import type { Family } from '../../src/domain/Address.js';
import { formatValue } from '../../src/domain/Address.js';
import type { AllocationRequest } from '../../src/domain/Allocator.js';
import { allocate, release } from '../../src/domain/Allocator.js';
import type { IpamState } from '../../src/domain/IpamState.js';
import { emptyState, familyState } from '../../src/domain/IpamState.js';
import * as RS from '../../src/domain/RangeSet.js';
import { rebuild } from '../../src/domain/Rebuild.js';
import type { Subnet } from '../../src/domain/Subnet.js';
import { subnetUsage } from '../../src/domain/Usage.js';
import { subnet } from './fixtures.js';

const RUNS = { numRuns: 1000 };

type Op =
  | { kind: 'dynamic'; pod: number; mac?: number }
  | { kind: 'static'; pod: number; offset: number; mac?: number }
  | { kind: 'pool'; pod: number; offsets: number[] }
  | { kind: 'release'; pod: number };

const pod = fc.integer({ min: 0, max: 19 });
const mac = fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('dynamic' as const), pod, mac }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('static' as const), pod, offset: fc.integer({ min: 0, max: 40 }), mac }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pool' as const), pod, offsets: fc.array(fc.integer({ min: 0, max: 31 }), { minLength: 1, maxLength: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('release' as const), pod }) },
);

/** A /27 (or /123) with random excludes given as offsets from the network address. */
const spec = fc.record({
  excludes: fc.array(fc.tuple(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 4 })), { maxLength: 3 }),
  gatewayOffset: fc.integer({ min: 1, max: 30 }),
  ovn: fc.boolean(),
  cooldown: fc.constantFrom(0, 5),
});

const makeSubnet = (family: Family, s: { excludes: [number, number][]; gatewayOffset: number; ovn: boolean }): Subnet => {
  const base = family === 4 ? 0x0a000000n : 0xfd000000000000000000000000000000n;
  const at = (offset: number) => formatValue(family, base + BigInt(offset));
  return subnet('s', {
    cidrBlock: `${at(0)}/${family === 4 ? 27 : 123}`,
    gateway: at(s.gatewayOffset),
    provider: s.ovn ? 'ovn' : 'net.default',
    excludeIps: s.excludes.map(([o, len]) => `${at(o)}..${at(Math.min(o + len, 40))}`),
  });
};

const toRequest = (family: Family, sub: Subnet, o: Exclude<Op, { kind: 'release' }>, now: number): AllocationRequest => {
  const at = (offset: number) => ({ family, value: (family === 4 ? sub.v4! : sub.v6!).cidr.start + BigInt(offset) });
  const base = {
    key: { podUid: `pod-${o.pod}`, provider: 'p' },
    owner: { namespace: 'ns', name: `pod-${o.pod}` },
    subnet: 's',
    now,
    macSeed: `seed-${o.pod}`,
  };
  if (o.kind === 'static') return { ...base, ipAddresses: [at(o.offset)], mac: o.mac === undefined ? undefined : 0x020000000000n + BigInt(o.mac) };
  if (o.kind === 'pool') return { ...base, pool: o.offsets.map((off) => (family === 4 ? { v4: at(off) } : { v6: at(off) })) };
  return { ...base, mac: o.mac === undefined ? undefined : 0x020000000000n + BigInt(o.mac) };
};

interface Trace {
  readonly outcomes: string[];
  readonly state: IpamState;
  readonly violations: string[];
}

/** Applies ops, checking the invariants after each step. Outcomes are offsets, so an IPv4 and
 *  an IPv6 run of the same ops can be compared. */
const simulate = (family: Family, sub: Subnet, ops: readonly Op[], cooldownMs: number): Trace => {
  let state = emptyState([sub], { cooldownMs });
  const outcomes: string[] = [];
  const violations: string[] = [];
  const pool = family === 4 ? sub.v4! : sub.v6!;
  const live = new Map<string, bigint>();
  ops.forEach((o, step) => {
    const now = step;
    if (o.kind === 'release') {
      state = release(state, `pod-${o.pod}/p`, now);
      live.delete(`pod-${o.pod}/p`);
      outcomes.push('released');
      return;
    }
    const result = allocate(state, toRequest(family, sub, o, now));
    if (E.isLeft(result)) {
      outcomes.push(result.left.code);
      return;
    }
    const claim = result.right.claim;
    const value = family === 4 ? claim.v4! : claim.v6!;
    outcomes.push(`${claim.source}+${value - pool.cidr.start}`);
    for (const [id, held] of live) {
      if (id !== claim.id && held === value) violations.push(`step ${step}: ${id} still holds ${value} given to ${claim.id}`);
    }
    if (claim.source === 'dynamic') {
      const ok = RS.contains(pool.usable, value) && value !== pool.gateway && !RS.contains(pool.excluded, value);
      if (!ok) violations.push(`step ${step}: dynamic ${value} is not usable`);
    }
    live.set(claim.id, value);
    state = result.right.state;
    // No two live claims share an address or a MAC.
    const claims = [...state.claims.values()];
    const addresses = claims.map((c) => (family === 4 ? c.v4 : c.v6));
    if (new Set(addresses).size !== addresses.length) violations.push(`step ${step}: duplicate address`);
    const macs = claims.map((c) => c.mac).filter((m) => m !== undefined);
    if (new Set(macs).size !== macs.length) violations.push(`step ${step}: duplicate MAC`);
    if (familyState(state.subnets.get('s')!, family)!.used.size !== claims.length) violations.push(`step ${step}: index and claims disagree`);
  });
  return { outcomes, state, violations };
};

describe('allocator invariants', () => {
  it('no two live claims share an address or a MAC; dynamic addresses are usable; release/allocate interleavings never hand out a live address', () => {
    fc.assert(
      fc.property(spec, fc.array(op, { maxLength: 60 }), (s, ops) => {
        const t = simulate(4, makeSubnet(4, s), ops, s.cooldown);
        expect(t.violations).toEqual([]);
      }),
      RUNS,
    );
  });

  it('rebuilding from the claims reproduces the claims, the used addresses, the MACs and the usage', () => {
    fc.assert(
      fc.property(spec, fc.array(op, { maxLength: 60 }), (s, ops) => {
        const sub = makeSubnet(4, s);
        const t = simulate(4, sub, ops, 0);
        const claims = [...t.state.claims.values()];
        const rebuilt = rebuild([sub], claims);
        expect(rebuilt.conflicts).toEqual([]);
        expect([...rebuilt.state.claims.values()]).toEqual(claims.map((c) => ({ ...c, source: 'existing' })));
        const used = (st: IpamState) => [...familyState(st.subnets.get('s')!, 4)!.used.entries()];
        expect(used(rebuilt.state)).toEqual(used(t.state));
        expect([...rebuilt.state.subnets.get('s')!.macs.entries()]).toEqual([...t.state.subnets.get('s')!.macs.entries()]);
        expect(subnetUsage(rebuilt.state, 's')).toEqual(subnetUsage(t.state, 's'));
      }),
      RUNS,
    );
  });

  it('IPv6 behaves like IPv4: the same operations give the same outcomes at the same offsets', () => {
    fc.assert(
      fc.property(spec, fc.array(op, { maxLength: 60 }), (s, ops) => {
        const t4 = simulate(4, makeSubnet(4, s), ops, s.cooldown);
        const t6 = simulate(6, makeSubnet(6, s), ops, s.cooldown);
        expect(t6.outcomes).toEqual(t4.outcomes);
        expect(t6.violations).toEqual([]);
      }),
      RUNS,
    );
  });
});
