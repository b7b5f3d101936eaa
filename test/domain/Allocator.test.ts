import { describe, it, expect } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { AllocationRequest } from '../../src/domain/Allocator.js';
import { allocate, allocateAll, holdIn, release } from '../../src/domain/Allocator.js';
import { Draft } from '../../src/domain/Draft.js';
import type { IpamState } from '../../src/domain/IpamState.js';
import { claimIdOf, emptyState, claimsOfPod } from '../../src/domain/IpamState.js';
import { isLocallyAdministeredUnicast } from '../../src/domain/Mac.js';
import { rebuild } from '../../src/domain/Rebuild.js';
import { subnetUsage } from '../../src/domain/Usage.js';
import { addr, describeClaim, describeState, request, subnet } from './fixtures.js';

const ovnDefault = subnet('ovn-default', { cidrBlock: '10.16.0.0/16', excludeIps: ['10.16.0.2..10.16.0.4'] });
const macvlan = subnet('macvlan', { provider: 'macvlan.default', cidrBlock: '172.17.0.0/16', gateway: '172.17.0.1', excludeIps: ['172.17.0.1..172.17.0.10'] });
const tiny = subnet('tiny', { provider: 'tiny.default', cidrBlock: '10.9.0.0/29' }); // hosts .1-.6, gateway .1
const dual = subnet('dual', { cidrBlock: '10.20.0.0/24,fd00:20::/120' });
const v6 = subnet('v6', { cidrBlock: 'fd00:30::/64' });
const base = emptyState([ovnDefault, macvlan, tiny, dual, v6]);

/** Runs requests in order; returns each outcome in words and the final state. */
const run = (requests: readonly AllocationRequest[], state: IpamState = base): [string[], IpamState] => {
  const out: string[] = [];
  let s = state;
  for (const r of requests) {
    const result = allocate(s, r);
    if (E.isLeft(result)) out.push(`${result.left.code}: ${result.left.message}`);
    else {
      s = result.right.state;
      out.push(describeClaim(result.right.claim));
    }
  }
  return [out, s];
};
const noMac = { macSeed: undefined };

describe('dynamic allocation', () => {
  it.each([
    ['lowest free, skipping network, gateway and excludes', [request('a', 'ovn-default', noMac), request('b', 'ovn-default', noMac)], ['10.16.0.5 - dynamic', '10.16.0.6 - dynamic']],
    ['first after the seed macvlan exclude range', [request('a', 'macvlan')], ['172.17.0.11 - dynamic']],
    ['idempotent per claim', [request('a', 'ovn-default', noMac), request('a', 'ovn-default', noMac)], ['10.16.0.5 - dynamic', '10.16.0.5 - existing']],
    ['exhaustion', ['a', 'b', 'c', 'd', 'e', 'f'].map((u) => request(u, 'tiny')),
      ['10.9.0.2 - dynamic', '10.9.0.3 - dynamic', '10.9.0.4 - dynamic', '10.9.0.5 - dynamic', '10.9.0.6 - dynamic', 'NoAvailableAddress: subnet tiny has no free IPv4 address']],
    ['dual-stack gives one of each family', [request('a', 'dual', noMac)], ['10.20.0.2,fd00:20::2 - dynamic']],
    ['ip_family ipv6 on dual', [request('a', 'dual', { ...noMac, family: 6 })], ['fd00:20::2 - dynamic']],
    ['ip_family the subnet lacks', [request('a', 'ovn-default', { family: 6 })], ['InvalidIPFamily: ip_family IPv6 is not served by subnet ovn-default (protocol IPv4)']],
    ['IPv6 /64', [request('a', 'v6', noMac), request('b', 'v6', noMac)], ['fd00:30::2 - dynamic', 'fd00:30::3 - dynamic']],
    ['unknown subnet', [request('a', 'nope')], ['NoSubnet: subnet nope does not exist or is invalid']],
  ])('%s', (_name, requests, expected) => {
    expect(run(requests)[0]).toEqual(expected);
  });

  it('reuses a released address only when no never-used one is left', () => {
    const [, s1] = run(['a', 'b', 'c'].map((u) => request(u, 'tiny')));
    const s2 = release(s1, claimIdOf({ podUid: 'a', provider: 'ovn' }), 10);
    const [out] = run(['d', 'e', 'f', 'g'].map((u) => request(u, 'tiny', { now: 20 })), s2);
    expect(out).toEqual(['10.9.0.5 - dynamic', '10.9.0.6 - dynamic', '10.9.0.2 - dynamic', 'NoAvailableAddress: subnet tiny has no free IPv4 address']);
  });

  it('holds a released address through its cooldown', () => {
    const cooled = emptyState([tiny], { cooldownMs: 1000 });
    const [, s1] = run(['a', 'b', 'c', 'd', 'e'].map((u) => request(u, 'tiny')), cooled);
    const s2 = release(s1, claimIdOf({ podUid: 'b', provider: 'ovn' }), 5000);
    expect(run([request('x', 'tiny', { now: 5999 })], s2)[0]).toEqual(['NoAvailableAddress: subnet tiny has no free IPv4 address (1 released address(es) still cooling down)']);
    expect(run([request('x', 'tiny', { now: 6000 })], s2)[0]).toEqual(['10.9.0.3 - dynamic']);
  });

  it('generates a locally administered unicast MAC on OVN subnets only, from the seed', () => {
    const [, s] = run([request('a', 'ovn-default', { macSeed: 'seed-a' }), request('m', 'macvlan', { macSeed: 'seed-m' })]);
    const a = s.claims.get('a/ovn')!;
    expect(a.mac).toBeDefined();
    expect(isLocallyAdministeredUnicast(a.mac!)).toBe(true);
    expect(s.claims.get('m/ovn')!.mac).toBeUndefined();
    // Same seed, same MAC: plans are reproducible.
    const [, again] = run([request('a', 'ovn-default', { macSeed: 'seed-a' })]);
    expect(again.claims.get('a/ovn')!.mac).toBe(a.mac);
  });
});

describe('static addresses', () => {
  it.each([
    ['the seed static pod', [request('p', 'ovn-default', { ipAddresses: [addr('10.16.0.15')], mac: 0x000000536bb6n })], ['10.16.0.15 00:00:00:53:6b:b6 static']],
    ['an excluded address may be claimed statically', [request('p', 'ovn-default', { ...noMac, ipAddresses: [addr('10.16.0.3')] })], ['10.16.0.3 - static']],
    ['conflict: the second pod fails, the first keeps it',
      [request('p', 'ovn-default', { ...noMac, ipAddresses: [addr('10.16.0.15')] }), request('q', 'ovn-default', { ...noMac, ipAddresses: [addr('10.16.0.15')] })],
      ['10.16.0.15 - static', 'AddressConflict: 10.16.0.15 is already held by default/p in subnet ovn-default (10.16.0.0/16)']],
    ['the gateway', [request('p', 'ovn-default', { ipAddresses: [addr('10.16.0.1')] })], ['AddressConflict: 10.16.0.1 is the gateway of subnet ovn-default (10.16.0.0/16)']],
    ['outside', [request('p', 'ovn-default', { ipAddresses: [addr('10.17.0.1')] })], ['AddressOutOfRange: 10.17.0.1 is outside subnet ovn-default (10.16.0.0/16)']],
    ['the network address', [request('p', 'ovn-default', { ipAddresses: [addr('10.16.0.0')] })], ['AddressOutOfRange: 10.16.0.0 is not a host address of subnet ovn-default (10.16.0.0/16)']],
    ['the broadcast address', [request('p', 'ovn-default', { ipAddresses: [addr('10.16.255.255')] })], ['AddressOutOfRange: 10.16.255.255 is not a host address of subnet ovn-default (10.16.0.0/16)']],
    ['a family the subnet lacks', [request('p', 'ovn-default', { ipAddresses: [addr('fd00::5')] })], ['AddressOutOfRange: fd00::5 is IPv6 but subnet ovn-default (10.16.0.0/16) has no IPv6 CIDR']],
    ['a family ip_family excludes', [request('p', 'dual', { ipAddresses: [addr('fd00:20::9')], family: 4 })], ['InvalidIPFamily: fd00:20::9 is IPv6 but ip_family asks for IPv4']],
    ['one family on dual: the other is dynamic', [request('p', 'dual', { ...noMac, ipAddresses: [addr('fd00:20::9')] })], ['10.20.0.2,fd00:20::9 - static']],
    ['both families on dual', [request('p', 'dual', { ...noMac, ipAddresses: [addr('10.20.0.7'), addr('fd00:20::9')] })], ['10.20.0.7,fd00:20::9 - static']],
    ['dynamic skips a statically taken address', [request('p', 'tiny', { ipAddresses: [addr('10.9.0.2')] }), request('q', 'tiny')], ['10.9.0.2 - static', '10.9.0.3 - dynamic']],
    ['changing the static address re-claims', [request('p', 'tiny', { ipAddresses: [addr('10.9.0.2')] }), request('p', 'tiny', { ipAddresses: [addr('10.9.0.4')] }), request('q', 'tiny', { ipAddresses: [addr('10.9.0.2')] })],
      ['10.9.0.2 - static', '10.9.0.4 - static', '10.9.0.2 - static']],
  ])('%s', (_name, requests, expected) => {
    expect(run(requests)[0]).toEqual(expected);
  });
});

describe('static MACs', () => {
  it.each([
    ['recorded on an IPAM-only subnet', [request('p', 'macvlan', { ipAddresses: [addr('172.17.0.100')], mac: 0x000000536bbbn })], ['172.17.0.100 00:00:00:53:6b:bb static']],
    ['unique in the subnet', [request('p', 'macvlan', { mac: 0x020000000001n }), request('q', 'macvlan', { mac: 0x020000000001n })],
      ['172.17.0.11 02:00:00:00:00:01 dynamic', 'AddressConflict: MAC 02:00:00:00:00:01 is already used by default/p in subnet macvlan']],
    ['only unique per subnet', [request('p', 'macvlan', { mac: 0x020000000001n }), request('q', 'ovn-default', { mac: 0x020000000001n })],
      ['172.17.0.11 02:00:00:00:00:01 dynamic', '10.16.0.5 02:00:00:00:00:01 dynamic']],
  ])('%s', (_name, requests, expected) => {
    expect(run(requests)[0]).toEqual(expected);
  });
});

describe('ip_pool lists', () => {
  const pool = ['172.17.0.200', '172.17.0.201', '172.17.0.202'].map((a) => ({ v4: addr(a) }));
  it.each([
    ['first free entry in order', ['a', 'b'].map((u) => request(u, 'macvlan', { pool })), ['172.17.0.200 - pool', '172.17.0.201 - pool']],
    ['a taken entry is skipped', [request('s', 'macvlan', { ipAddresses: [addr('172.17.0.200')] }), request('a', 'macvlan', { pool })], ['172.17.0.200 - static', '172.17.0.201 - pool']],
    ['more pods than entries', ['a', 'b', 'c', 'd'].map((u) => request(u, 'macvlan', { pool })),
      ['172.17.0.200 - pool', '172.17.0.201 - pool', '172.17.0.202 - pool',
        'NoAvailableAddress: no entry of ip_pool 172.17.0.200,172.17.0.201,172.17.0.202 is free: 172.17.0.200 is already held by default/a in subnet macvlan (172.17.0.0/16); 172.17.0.201 is already held by default/b in subnet macvlan (172.17.0.0/16); 172.17.0.202 is already held by default/c in subnet macvlan (172.17.0.0/16)']],
    ['StatefulSet ordinal takes its own entry', [request('w-1', 'macvlan', { pool, ordinal: 1 }), request('w-0', 'macvlan', { pool, ordinal: 0 })], ['172.17.0.201 - pool', '172.17.0.200 - pool']],
    ['ordinal beyond the pool', [request('w-3', 'macvlan', { pool, ordinal: 3 })], ['NoAvailableAddress: ip_pool has 3 entries, none for StatefulSet ordinal 3']],
    ['ordinal whose entry is taken', [request('s', 'macvlan', { ipAddresses: [addr('172.17.0.201')] }), request('w-1', 'macvlan', { pool, ordinal: 1 })],
      ['172.17.0.201 - static', 'AddressConflict: 172.17.0.201 is already held by default/s in subnet macvlan (172.17.0.0/16)']],
    ['dual entries', [request('a', 'dual', { ...noMac, pool: [{ v4: addr('10.20.0.50'), v6: addr('fd00:20::50') }, { v4: addr('10.20.0.51'), v6: addr('fd00:20::51') }] })], ['10.20.0.50,fd00:20::50 - pool']],
    ['static wins over pool', [request('a', 'macvlan', { pool, ipAddresses: [addr('172.17.0.99')] })], ['172.17.0.99 - static']],
    ['a dual entry half taken (its IPv6 address) is skipped', [
      request('s', 'dual', { ...noMac, ipAddresses: [addr('fd00:20::50')], family: 6 }),
      request('a', 'dual', { ...noMac, pool: [{ v4: addr('10.20.0.50'), v6: addr('fd00:20::50') }, { v4: addr('10.20.0.51'), v6: addr('fd00:20::51') }] }),
    ], ['fd00:20::50 - static', '10.20.0.51,fd00:20::51 - pool']],
    ['an entry whose address is not in the subnet is skipped, and named when none is free', [
      request('a', 'macvlan', { pool: [{ v4: addr('10.99.0.1') }, { v4: addr('172.17.0.200') }] }),
      request('b', 'macvlan', { pool: [{ v4: addr('10.99.0.1') }, { v4: addr('172.17.0.200') }] }),
    ], ['172.17.0.200 - pool',
      'NoAvailableAddress: no entry of ip_pool 10.99.0.1,172.17.0.200 is free: 10.99.0.1 is outside subnet macvlan (172.17.0.0/16); 172.17.0.200 is already held by default/a in subnet macvlan (172.17.0.0/16)']],
  ])('%s', (_name, requests, expected) => {
    expect(run(requests)[0]).toEqual(expected);
  });

  it('a long exhausted pool is told by its first 8 entries and how many more (the text goes into an Event)', () => {
    const long = Array.from({ length: 10 }, (_, i) => ({ v4: addr(`172.17.0.${200 + i}`) }));
    const pods = Array.from({ length: 11 }, (_, i) => request(`p${i}`, 'macvlan', { pool: long }));
    const held = (i: number) => `172.17.0.${200 + i} is already held by default/p${i} in subnet macvlan (172.17.0.0/16)`;
    expect(run(pods)[0][10]).toBe(
      `NoAvailableAddress: no entry of ip_pool of 10 entries (${Array.from({ length: 8 }, (_, i) => `172.17.0.${200 + i}`).join(',')},…) is free: ` +
      `${Array.from({ length: 8 }, (_, i) => held(i)).join('; ')}; and 2 more entries`,
    );
  });

  it('a released entry before free ones is taken first (first free in pool order)', () => {
    const [, s1] = run(['a', 'b', 'c'].map((u) => request(u, 'macvlan', { pool })));
    const s2 = release(s1, claimIdOf({ podUid: 'b', provider: 'ovn' }), 10);
    expect(run(['d', 'e'].map((u) => request(u, 'macvlan', { pool, now: 20 })), s2)[0]).toEqual([
      '172.17.0.201 - pool',
      'NoAvailableAddress: no entry of ip_pool 172.17.0.200,172.17.0.201,172.17.0.202 is free: 172.17.0.200 is already held by default/a in subnet macvlan (172.17.0.0/16); 172.17.0.201 is already held by default/d in subnet macvlan (172.17.0.0/16); 172.17.0.202 is already held by default/c in subnet macvlan (172.17.0.0/16)',
    ]);
  });

  it('a claim re-made for a new MAC takes its own entry again (its own address does not count as taken)', () => {
    const [, s1] = run(['a', 'b'].map((u) => request(u, 'macvlan', { pool })));
    expect(run([request('a', 'macvlan', { pool, mac: 0x0a0000000001n })], s1)[0]).toEqual(['172.17.0.200 0a:00:00:00:00:01 pool']);
  });

  it('an IPPool range: lowest free inside it', () => {
    const poolRanges = { v4: [{ start: addr('172.17.1.0').value, end: addr('172.17.1.1').value }] };
    expect(run(['a', 'b', 'c'].map((u) => request(u, 'macvlan', { poolRanges })))[0]).toEqual([
      '172.17.1.0 - pool', '172.17.1.1 - pool', 'NoAvailableAddress: the IP pool in subnet macvlan has no free IPv4 address',
    ]);
  });
});

describe('claim identity', () => {
  it('is the pod UID plus provider (plus interface): a recreated pod with a new UID is a new claim', () => {
    const [, s] = run([request('uid-1', 'tiny', { owner: { namespace: 'default', name: 'web' } })]);
    const [out] = run([request('uid-2', 'tiny', { owner: { namespace: 'default', name: 'web' } })], s);
    expect(out).toEqual(['10.9.0.3 - dynamic']);
    expect(claimIdOf({ podUid: 'u', provider: 'attachnet.default.ovn', interface: 'net2' })).toBe('u/attachnet.default.ovn/net2');
  });
  it('claimsOfPod finds every claim of one UID', () => {
    const [, s] = run([request('u1', 'tiny'), { ...request('u1', 'macvlan'), key: { podUid: 'u1', provider: 'macvlan.default' } }, request('u10', 'tiny')]);
    expect(claimsOfPod(s, 'u1').map((c) => c.id)).toEqual(['u1/macvlan.default', 'u1/ovn']);
  });
});

describe('release', () => {
  it('frees address and MAC; releasing twice or an unknown claim changes nothing', () => {
    const [, s] = run([request('p', 'macvlan', { mac: 0x020000000001n })]);
    const r1 = release(s, 'p/ovn', 1);
    expect(release(r1, 'p/ovn', 2)).toBe(r1);
    expect(release(r1, 'nope', 2)).toBe(r1);
    expect(run([request('q', 'macvlan', { mac: 0x020000000001n, ipAddresses: [addr('172.17.0.11')] })], r1)[0]).toEqual(['172.17.0.11 02:00:00:00:00:01 static']);
  });
});

describe('rebuild', () => {
  it('keeps the first claimant and reports the conflicts', () => {
    const [, s] = run([request('a', 'tiny'), request('b', 'macvlan', { mac: 0x020000000009n })]);
    const claims = [...s.claims.values()];
    const dup = { ...claims[0]!, id: 'c/ovn', key: { podUid: 'c', provider: 'ovn' }, owner: { namespace: 'default', name: 'c' } };
    const outside = { ...claims[0]!, id: 'd/ovn', key: { podUid: 'd', provider: 'ovn' }, v4: addr('10.99.0.1').value };
    const gone = { ...claims[0]!, id: 'e/ovn', key: { podUid: 'e', provider: 'ovn' }, subnet: 'deleted' };
    const macDup = { ...claims[1]!, id: 'f/ovn', key: { podUid: 'f', provider: 'ovn' }, v4: addr('172.17.0.50').value };
    const rebuilt = rebuild([tiny, macvlan], [...claims, dup, outside, gone, macDup]);
    expect(describeState(rebuilt.state)).toEqual(['a/ovn@tiny: 10.9.0.2 - existing', 'b/ovn@macvlan: 172.17.0.11 02:00:00:00:00:09 existing']);
    expect(rebuilt.conflicts.map((c) => `${c.claim.id} ${c.error.code}: ${c.error.message}`)).toEqual([
      'c/ovn AddressConflict: 10.9.0.2 is already held by default/a in subnet tiny',
      'd/ovn AddressOutOfRange: 10.99.0.1 is not a host address of subnet tiny (10.9.0.0/29)',
      'e/ovn NoSubnet: subnet deleted does not exist or is invalid',
      'f/ovn AddressConflict: MAC 02:00:00:00:00:09 is already used by default/b in subnet macvlan',
    ]);
  });
});

describe('subnet usage', () => {
  it('counts and ranges for the status', () => {
    const [, s] = run([request('a', 'tiny'), request('b', 'tiny', { ipAddresses: [addr('10.9.0.5')] })]);
    expect(subnetUsage(s, 'tiny')).toEqual({
      subnet: 'tiny',
      v4: { family: 4, using: 2n, available: 3n, usingRange: '10.9.0.2,10.9.0.5', availableRange: '10.9.0.3-10.9.0.4,10.9.0.6' },
      v6: undefined,
    });
    expect(subnetUsage(base, 'v6')?.v6?.available).toBe(18446744073709551614n - 1n);
  });
});

describe('holds', () => {
  it('dynamic allocation skips held addresses; a static request still takes them', () => {
    const d = new Draft(base);
    holdIn(d, 'tiny', [addr('10.9.0.2'), addr('10.9.0.4'), addr('10.99.0.1'), addr('fd00::1')]);
    const held = d.commit();
    expect(run([request('a', 'tiny'), request('b', 'tiny'), request('s', 'tiny', { ipAddresses: [addr('10.9.0.2')] }), request('c', 'tiny'), request('d', 'tiny')], held)[0]).toEqual([
      '10.9.0.3 - dynamic', '10.9.0.5 - dynamic', '10.9.0.2 - static', '10.9.0.6 - dynamic', 'NoAvailableAddress: subnet tiny has no free IPv4 address',
    ]);
  });
});

describe('allocateAll', () => {
  it('gives the same claims as allocating one by one, and leaves the old state as it was', () => {
    const reqs = [request('a', 'tiny'), request('b', 'tiny', { ipAddresses: [addr('10.9.0.2')] }), request('c', 'tiny')];
    const batch = allocateAll(base, reqs);
    expect(batch.results.map((r) => (E.isRight(r) ? describeClaim(r.right) : `${r.left.code}: ${r.left.message}`))).toEqual(run(reqs)[0]);
    expect(describeState(batch.state)).toEqual(describeState(run(reqs)[1]));
    expect(describeState(base)).toEqual([]);
  });
});
